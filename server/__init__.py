"""apitwin: stateful, deterministic twins of the Ylem, Celery Director and Meiro APIs."""

import warnings

# The one place the version is written: pyproject.toml reads it from here (its `dynamic`), and
# `apitwin --version` prints it without loading the installed metadata (tens of ms at start).
__version__ = "0.1.0"

# Connexion 3.3 imports starlette.testclient for a test client of its own, and Starlette then
# warns that httpx should be httpx2 there, on every command: nothing apitwin uses. Only that
# warning, and only when Connexion's import raises it.
warnings.filterwarnings(
    "ignore",
    message=r"Using `httpx` with `starlette\.testclient` is deprecated",
    module=r"connexion\.",
)
