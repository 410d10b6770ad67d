"""Records the last requests (method, path, status, operation) into the world's store.

Each entry also shows what a frontend developer needs to see what their client actually sent:
the request headers with credential values redacted, the `detail` of an error answer (a
validation error says what is wrong), and what the twin itself did to the request
(`Prefer` answers, delays, fault rules).
"""

from __future__ import annotations

import functools
import json
import re
import time
import urllib.parse

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apitwin.pipeline.route_table import resolved
from apitwin.pipeline.routed import notes

JOURNAL = "journal"
_ERROR_BODY_LIMIT = 16_384
# Header and query parameter names whose values a journal must not keep (their presence, and an
# Authorization header's scheme, are kept): every credential-like name, not a fixed list.
_SECRET = re.compile(r"auth|token|secret|passw|api[-_]?key|cookie|credential|signature", re.I)
REDACTED = "<redacted>"
# A journal entry keeps this much of any one value (header name or value, path, query), this many
# header names: 40 requests with a 10 MB header once made the journal hold 400 MB. The journal
# keeps options.journal_size entries, at most options.journal_max_bytes of them (the store drops
# the oldest).
VALUE_LIMIT = 1024
HEADER_LIMIT = 64


def cut(value: str | bytes) -> str:
    """At most VALUE_LIMIT characters of a value, marked when cut. Bytes (a latin-1 header) are
    decoded after cutting, so a 10 MB value is never copied whole."""
    if len(value) <= VALUE_LIMIT:  # nearly every value: no slice to copy
        return value.decode("latin-1") if isinstance(value, bytes) else value
    kept = value[:VALUE_LIMIT]
    if isinstance(kept, bytes):
        kept = kept.decode("latin-1")
    return f"{kept}...[cut {len(value) - VALUE_LIMIT} characters]"


@functools.lru_cache(maxsize=1024)  # header names repeat: one search per name, not per request
def is_secret(name: str) -> bool:
    return _SECRET.search(name) is not None


def redacted_headers(scope: Scope) -> dict[str, str]:
    """The request's headers for the journal: credentials redacted, each name and value cut to
    VALUE_LIMIT, at most HEADER_LIMIT names (the rest counted), so an entry stays small."""
    shown: dict[str, str] = {}
    dropped = 0
    for raw_name, raw_value in scope["headers"]:  # Headers(scope=scope).items(), without it
        name = cut(raw_name)  # names too: 64 names of 100 KB once made a 6 MB entry
        if name not in shown and len(shown) >= HEADER_LIMIT:
            dropped += 1
            continue
        value = cut(raw_value)
        if is_secret(name):
            scheme, _, rest = value.partition(" ")
            value = f"{scheme} {REDACTED}" if name.endswith("authorization") and rest else REDACTED
        shown[name] = cut(f"{shown[name]}, {value}") if name in shown else value
    if dropped:
        shown["..."] = f"{dropped} more headers not kept"
    return shown


def redacted_query(raw: bytes) -> str:
    """The query string as sent, with the values of credential-like parameters redacted
    (OAuth2's client_secret travels there on Ylem's token endpoint)."""
    text = raw.decode("latin-1")
    if not text:
        return text
    parts = []
    for pair in text.split("&"):
        name, equals, _ = pair.partition("=")
        plain = "%" not in name and "+" not in name  # then unquote_plus would give it back
        secret = equals and is_secret(name if plain else urllib.parse.unquote_plus(name))
        parts.append(f"{name}={REDACTED}" if secret else pair)
    return "&".join(parts)


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
        written = False

        def write_entry() -> None:
            nonlocal written
            if written:
                return
            written = True
            found = resolved(scope)
            twin_notes = dict(notes(scope))
            world = self.twin.world()
            world.store.log_append(
                JOURNAL,
                {
                    "at": world.clock.now(),
                    "method": scope["method"],
                    "path": cut(scope["path"]),
                    "query": cut(redacted_query(scope.get("query_string", b""))),
                    # 0: the connection was dropped on purpose (a fault rule), nothing was sent.
                    "status": 0 if twin_notes.get("dropped") else status["code"],
                    "operation_id": found.operation.operation_id if found else None,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                    "request_headers": redacted_headers(scope),
                    "error": _error_detail(bytes(error_body)) if error_body else None,
                    "twin": twin_notes,
                },
                self.twin.options.journal_size,
                self.twin.options.journal_max_bytes,
            )

        async def record_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            elif message["type"] == "http.response.body":
                if status["code"] >= 400 and len(error_body) < _ERROR_BODY_LIMIT:
                    error_body.extend(message.get("body", b""))
                if not message.get("more_body"):
                    # Written before the answer's last bytes leave: an answer a client holds is
                    # in the journal, even if the process is killed the moment after.
                    write_entry()
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            write_entry()  # no answer sent: a dropped connection, or an error
