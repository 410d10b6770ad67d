"""What the middlewares after the pipeline's routing know about a request: its API and operation,
and the notes they leave for the journal."""

from __future__ import annotations

from starlette.types import Scope

from apitwin.apis import selected
from apitwin.apis.spec_index import Operation
from apitwin.pipeline.http import header
from apitwin.pipeline.route_table import resolved

NOTES = "apitwin"


def api_names(options) -> dict[str, str]:
    """Routed base path -> API name, for the three APIs (never the admin API)."""
    alone = options.api is not None
    return {api.base_path(alone): api.name for api in selected(options.api)}


def routed_operation(scope: Scope, names: dict[str, str]) -> Operation | None:
    """The operation the pipeline routed the request to, if it is one of the three APIs'."""
    found = resolved(scope)
    if found is None or found.operation.base_path not in names:
        return None
    return found.operation.index


def has_header(scope: Scope, name: bytes) -> bool:
    """Whether a request has a header (lower-case name), without a Headers object."""
    return header(scope, name) is not None


def note(scope: Scope, key: str, value) -> None:
    """Records what the twin did to a request (Prefer, faults), for the journal."""
    scope.setdefault("extensions", {}).setdefault(NOTES, {})[key] = value


def notes(scope: Scope) -> dict:
    return scope.get("extensions", {}).get(NOTES, {})
