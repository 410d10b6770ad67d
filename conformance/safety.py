"""Safe mode (`--read-only`), the way to run against production or a shared environment.

Only operations that change nothing (GET, HEAD) are selected, only valid data is generated, and the
checks that work by sending wrong requests on purpose are off (see settings.PROVOKING_CHECKS).
A `before_call` hook refuses any other method as a last line of defence.
"""

from __future__ import annotations

from .settings import SAFE_METHODS


class UnsafeRequestBlocked(RuntimeError):
    pass


def _refuse_unsafe(context, case, kwargs) -> None:
    if case.method.upper() not in SAFE_METHODS:
        raise UnsafeRequestBlocked(f"read-only run refused to send {case.method} {case.path}")


def restrict(schema):
    """The schema narrowed to safe operations, with the guard installed."""
    safe = schema.include(method=list(SAFE_METHODS))
    safe.hook("before_call")(_refuse_unsafe)
    return safe
