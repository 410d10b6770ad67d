"""What every handler uses to speak HTTP: replies with an explicit JSON content type, bodies."""

from __future__ import annotations

import json
from typing import Any

JSON_TYPE = {"Content-Type": "application/json"}
# Scope key: (the header list, {name: its first value}), built from that list (`header`).
_FIRST_VALUES = "apitwin.headers"


def reply(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> tuple:
    """A handler result. The content type is explicit because every operation also documents
    application/problem+json errors, and Connexion answers 500 when it must guess between them."""
    return body, status, {**JSON_TYPE, **headers} if headers else JSON_TYPE


def optional_body(body: Any) -> dict:
    """An optional JSON body: Connexion passes raw bytes when the request had no content type."""
    if isinstance(body, bytes | bytearray):
        return json.loads(body) if body.strip() else {}
    return body or {}


def header(scope, name: bytes) -> bytes | None:
    """A request header's first value, raw (`name` in lower case, as ASGI names headers), as
    Starlette's Headers.get finds it. Every layer asks for a header or two: the table of first
    values is built once per request, at the first ask, and kept in the scope with the header
    list it was read from, so a scope handed on with other headers (LowercaseMediaType) gets a
    table of its own."""
    headers = scope["headers"]
    kept = scope.get(_FIRST_VALUES)
    if kept is None or kept[0] is not headers:
        kept = scope[_FIRST_VALUES] = (headers, dict(reversed(headers)))  # the first one wins
    return kept[1].get(name)


def lowercase_media_type(headers):
    """ASGI headers with the Content-Type's media type in lower case (its parameters kept); the
    same list when there is nothing to change."""
    for i, (name, value) in enumerate(headers):
        if name == b"content-type" and value != value.lower():
            headers = list(headers)
            media, sep, params = value.partition(b";")
            headers[i] = (name, media.lower() + sep + params)
            break
    return headers


class LowercaseMediaType:
    """ASGI middleware: media types are case-insensitive (RFC 9110), but Connexion matches
    `application/json` exactly and hands handlers raw bytes otherwise (a 500)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            headers = scope["headers"]
            lowered = lowercase_media_type(headers)
            if lowered is not headers:
                scope = {**scope, "headers": lowered}
        await self.app(scope, receive, send)
