"""Records the last requests (method, path, status, operation) into the world's store.

Each entry also shows what a frontend developer needs to see what their client actually sent:
the request headers with credential values redacted, the `detail` of an error answer (a
validation error says what is wrong), and what the twin itself did to the request
(`Prefer` answers, delays, fault rules).
"""

from __future__ import annotations

import json
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apitwin.pipeline.route_table import resolved
from apitwin.pipeline.routed import notes

JOURNAL = "journal"
# Header values a journal must not keep; the header's presence (and auth scheme) is kept.
_CREDENTIAL_HEADERS = {"authorization", "proxy-authorization", "x-access-token", "cookie"}
_ERROR_BODY_LIMIT = 16_384


def redacted_headers(scope: Scope) -> dict[str, str]:
    shown: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:  # Headers(scope=scope).items(), without it
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        if name in _CREDENTIAL_HEADERS:
            scheme, _, rest = value.partition(" ")
            value = (
                f"{scheme} <redacted>"
                if name.endswith("authorization") and rest
                else ("<redacted>")
            )
        shown[name] = f"{shown[name]}, {value}" if name in shown else value
    return shown


def _error_detail(body: bytes) -> str | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    for key in ("detail", "message", "error_description", "error"):
        if isinstance(data.get(key), str):
            return data[key]
    return None


class JournalMiddleware:
    def __init__(self, app: ASGIApp, twin) -> None:
        self.app = app
        self.twin = twin

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = {"code": 500}
        error_body = bytearray()

        async def record_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            elif (
                message["type"] == "http.response.body"
                and status["code"] >= 400
                and len(error_body) < _ERROR_BODY_LIMIT
            ):
                error_body.extend(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            found = resolved(scope)
            twin_notes = dict(notes(scope))
            world = self.twin.world()
            world.store.log_append(
                JOURNAL,
                {
                    "at": world.clock.now(),
                    "method": scope["method"],
                    "path": scope["path"],
                    "query": scope.get("query_string", b"").decode("latin-1"),
                    # 0: the connection was dropped on purpose (a fault rule), nothing was sent.
                    "status": 0 if twin_notes.get("dropped") else status["code"],
                    "operation_id": found.operation.operation_id if found else None,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                    "request_headers": redacted_headers(scope),
                    "error": _error_detail(bytes(error_body)) if error_body else None,
                    "twin": twin_notes,
                },
                self.twin.options.journal_size,
            )
