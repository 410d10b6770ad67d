"""Safe mode (`--read-only`), the way to run against production or a shared environment.

Only operations that change nothing (GET, HEAD) are selected, only valid data is generated, and the
checks that work by sending wrong requests on purpose are off (settings.RunSettings says all three
to schemathesis). A `filter_case` hook drops any other method's case before it is sent, as a last
line of defence (schemathesis allows `before_call` only globally, which would leak into other
runs).
"""

from __future__ import annotations

from .settings import SAFE_METHODS


def filter_case(context, case) -> bool:
    return case.method.upper() in SAFE_METHODS
