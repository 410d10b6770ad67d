"""Bounds on what one request may make the twin hold: its body (--max-body-bytes)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apitwin.core.errors import problem_asgi
from apitwin.pipeline.http import header


class _TooLarge(Exception):
    pass


class BodyLimit:
    """A body over the limit is a 413 in the API's own error shape, whether its Content-Length
    says so up front or a chunked body grows past it; nothing past the limit is kept."""

    def __init__(self, app: ASGIApp, limit: int, native) -> None:
        self.app = app
        self.limit = limit
        self.native = native  # (path, status, detail, fields) -> the API's own error fields

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = header(scope, b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await self._refuse(scope, receive, send)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _TooLarge:
            if started:
                raise
            await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        detail = f"Request body is larger than {self.limit} bytes"
        native = self.native(scope["path"], 413, detail, {})
        await problem_asgi(413, detail, native)(scope, receive, send)
