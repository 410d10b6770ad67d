"""Ylem's native error bodies (decision Y24), for the twin's own errors and Connexion's alike.

The token endpoint speaks RFC 6749: `{"error", "error_description"}`. Every other route speaks the
gateway's and statistics service's `{"code", "message"}`, with `errors` (every bad value) on 400.
"""

from __future__ import annotations

import ast
import re

from connexion.http_facts import HTTP_STATUS_CODES

from apitwin.apis.ylem import calendar
from apitwin.apis.ylem.tokens import DESCRIPTIONS

TOKEN_PATH = "/oauth/token"
# The gateway's words for its statuses (the spec's examples); other statuses use the HTTP phrase.
_MESSAGES = {400: "Bad Request", 401: "Authorization failed", 403: "Forbidden", 404: "Not Found"}
# Connexion's words for a value that misses its pattern: `'<value>' does not match '<pattern>'`.
_MISMATCH = re.compile(r"""('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*") does not match """)
_UUID_PATTERN = "'^[0-9a-fA-F]{8}-"
_DATE_PATTERN = "[0-9]{4}-"  # how the spec's date patterns start


def _errors(detail: str, path: str, fields: dict) -> list[str]:
    if fields.get("errors"):
        return list(fields["errors"])
    # A value that misses the spec's pattern: say why as the real server does (Go's messages).
    match = _MISMATCH.match(detail)
    if match:
        value, pattern = ast.literal_eval(match.group(1)), detail[match.end() :]
        reason = None
        if pattern.startswith(_UUID_PATTERN):
            reason = _uuid_reason(value)
        elif _DATE_PATTERN in pattern[:20]:
            reason = calendar.explain(value, day_only_allowed="/aggregated-stats/" in path)
        if reason:
            return [reason]
    return [detail.split("\n", 1)[0]]  # jsonschema appends the whole schema after a blank line


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
