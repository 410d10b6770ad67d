"""Records the last requests (method, path, status, operation) into the world's store."""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

JOURNAL = "journal"


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

        async def record_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            routing = scope.get("extensions", {}).get("connexion_routing", {})
            world = self.twin.world()
            world.store.log_append(
                JOURNAL,
                {
                    "at": world.clock.now(),
                    "method": scope["method"],
                    "path": scope["path"],
                    "query": scope.get("query_string", b"").decode("latin-1"),
                    "status": status["code"],
                    "operation_id": routing.get("operation_id"),
                    "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                },
                self.twin.options.journal_size,
            )
