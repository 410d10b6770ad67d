"""apitwin: stateful, deterministic twins of the Ylem, Celery Director and Meiro APIs."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("apitwin")
except PackageNotFoundError:  # imported from a checkout that was never installed
    __version__ = "0.0.0+unknown"
