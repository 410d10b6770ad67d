"""The outermost layer: `X-Twin-Session: NAME` picks the world a request acts on (core/sessions.py
keeps the sessions)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from apitwin.core.errors import TwinError, problem_asgi
from apitwin.pipeline.cors import CorsMiddleware
from apitwin.pipeline.http import header


class SessionMiddleware:
    """Outermost: picks the world of each request (its session's, else the default) for all the
    layers inside it (journal, CORS, the request pipeline: faults, Prefer, handlers)."""

    def __init__(self, app: ASGIApp, twin, native) -> None:
        self.app = app
        self.twin = twin
        self.native = native  # (path, status, detail, fields) -> the API's own error fields

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        name = header(scope, b"x-twin-session")
        if name is None:
            await self.app(scope, receive, send)
            return
        sessions = self.twin.sessions
        try:
            name = sessions.check_name(name.decode("latin-1"))
            world = sessions.cached(name) or await run_in_threadpool(sessions.open, name)
        except TwinError as exc:
            await self._refuse(exc, scope, receive, send)
            return
        echoed = name.encode()

        async def with_session(message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-twin-session", echoed)]
            await send(message)

        with self.twin.acting_on(world):
            await self.app(scope, receive, with_session)

    async def _refuse(self, exc: TwinError, scope: Scope, receive: Receive, send: Send) -> None:
        native = self.native(scope["path"], exc.status, exc.detail, exc.fields)
        response = problem_asgi(exc.status, exc.detail, native, exc.headers)
        app: ASGIApp = response
        if self.twin.options.cors:  # outside the CORS layer: add its headers to the refusal too
            app = CorsMiddleware(response, origins=list(self.twin.options.cors_origins))
        await app(scope, receive, send)
