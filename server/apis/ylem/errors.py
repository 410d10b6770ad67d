"""Ylem's native error bodies (decision Y24), for the twin's own errors and Connexion's alike.

The token endpoint speaks RFC 6749: `{"error", "error_description"}`. Every other route speaks the
gateway's and statistics service's `{"code", "message"}`, with `errors` (every bad value) on 400.
"""

from __future__ import annotations

import re

from connexion.http_facts import HTTP_STATUS_CODES

from apitwin.apis.ylem import calendar
from apitwin.apis.ylem.tokens import DESCRIPTIONS

TOKEN_PATH = "/oauth/token"
# The gateway's words for its statuses (the spec's examples); other statuses use the HTTP phrase.
_MESSAGES = {400: "Bad Request", 401: "Authorization failed", 403: "Forbidden", 404: "Not Found"}
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_PERIODS = ("day", "week", "month", "quarter", "year")


def _errors(detail: str, path: str, fields: dict) -> list[str]:
    if fields.get("errors"):
        return list(fields["errors"])
    # The services check every path segment and list each bad one (Go's and ozzo's words);
    # Connexion stops at the first, so the segments are read again here.
    if reasons := _segment_reasons(path):
        return reasons
    return [detail.split("\n", 1)[0]]  # jsonschema appends the whole schema after a blank line


def _segment_reasons(path: str) -> list[str]:
    """Why each segment of a run or statistics path is bad, in path order ([] if none is)."""
    segments = path.strip("/").split("/")
    if len(segments) == 3 and segments[2] == "runs":  # /pipelines/{uuid}/runs/
        return [] if _UUID.fullmatch(segments[1]) else [_uuid_reason(segments[1])]
    if len(segments) < 5 or segments[0] != "stats":
        return []
    uuid, route, values = segments[2], segments[3], segments[4:]
    reasons = [] if _UUID.fullmatch(uuid) else [_uuid_reason(uuid)]
    if route in ("stats", "logs") and len(values) == 2:
        reasons += [calendar.explain(value, day_only_allowed=False) for value in values]
    elif route == "aggregated-stats" and len(values) == 3:
        reasons.append(calendar.explain(values[0], day_only_allowed=True))
        if values[1] not in _PERIODS:
            reasons.append("must be a valid value")  # ozzo-validation's In() rule
    return [reason for reason in reasons if reason]


def _uuid_reason(value: str) -> str:
    # google/uuid's Parse: the lengths it knows (plain, hex only, braces, urn) and then the format.
    if len(value) not in (36, 32, 38, 45):
        return f"invalid UUID length: {len(value)}"
    return "invalid UUID format"


def render_error(status: int, detail: str, path: str, fields: dict) -> dict:
    if path.rstrip("/") == TOKEN_PATH:
        # Connexion's own rejections here (a missing or unknown parameter) are malformed requests.
        code = fields.get("error", "invalid_request")
        return {
            "error": code,
            "error_description": fields.get("error_description", DESCRIPTIONS[code]),
        }
    body = {
        "code": status,
        "message": _MESSAGES.get(status) or HTTP_STATUS_CODES.get(status, "Error"),
    }
    if status == 400:
        body["errors"] = _errors(detail, path, fields)
    return body
