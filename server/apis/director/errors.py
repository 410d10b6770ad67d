"""Director's error bodies (D13): `{"error": message}`, plus `errors` for validation failures.

The twin's own errors name their `error` (and `errors`) in the TwinError fields. Errors raised by
Connexion or the core carry no fields; they get the message Director (Flask) sends for the same
mistake where it has one, and otherwise the twin's explanation.
"""

from __future__ import annotations

import re

# Flask/werkzeug's descriptions, which Director sends as `error`.
_FLASK = {
    400: "The browser (or proxy) sent a request that this server could not understand.",
    404: (
        "The requested URL was not found on the server. If you entered the URL manually please "
        "check your spelling and try again."
    ),
    405: "The method is not allowed for the requested URL.",
    415: (
        "Did not attempt to load JSON data because the request Content-Type was not "
        "'application/json'."
    ),
}
SCHEMA_ERROR = "Error validating against schema"

# Connexion's details for a body it could not read at all (Director: Flask's plain 400).
_UNREADABLE_BODY = re.compile(
    r"line \d+ column \d+ \(char \d+\)$"  # json.JSONDecodeError
    r"|^Request body must not be empty$|^RequestBody is required$"
    r"|^Request body is not valid UTF-8$"
)
# Connexion's details for query and path parameters (the rest of a 400 is the body's schema).
_PARAMETER = re.compile(r"^Extra query parameter|^Wrong type, expected|\n\nFailed validating")


def _bad_request(detail: str, path: str) -> dict:
    if path != "/api/workflows" or _PARAMETER.search(detail):
        # Director never answers 400 to a parameter: the twin's reason, without the schema dump
        # jsonschema appends (still in `detail`).
        return {"error": detail.split("\n\n", 1)[0]}
    if _UNREADABLE_BODY.search(detail):
        return {"error": _FLASK[400]}
    return {"error": SCHEMA_ERROR, "errors": [detail]}


def render_error(status: int, detail: str, path: str, fields: dict) -> dict:
    if "error" in fields:
        return dict(fields)
    if status == 400:
        return _bad_request(detail, path)
    return {"error": _FLASK.get(status, detail)}
