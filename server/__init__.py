"""apitwin: stateful, deterministic twins of the Ylem, Celery Director and Meiro APIs."""

import warnings
from importlib.metadata import PackageNotFoundError, version

# Connexion 3.3 imports starlette.testclient for a test client of its own, and Starlette then
# warns that httpx should be httpx2 there, on every command: nothing apitwin uses. Only that
# warning, and only when Connexion's import raises it.
warnings.filterwarnings(
    "ignore",
    message=r"Using `httpx` with `starlette\.testclient` is deprecated",
    module=r"connexion\.",
)

try:
    __version__ = version("apitwin")
except PackageNotFoundError:  # imported from a checkout that was never installed
    __version__ = "0.0.0+unknown"
