"""Calls an ASGI app in process, the way uvicorn calls it, without sockets or an HTTP parser.

For measuring what the twin itself costs per request (bench/cpu.py) and for checking the
benchmark's endpoints without starting servers (tests/test_bench.py).
"""

from __future__ import annotations

import asyncio
from urllib.parse import unquote

from .wrk import Load


class Driver:
    """Sends one request at a time to `app` and collects the answer."""

    def __init__(self, app, port: int = 8000) -> None:
        self.app = app
        self.port = port

    def scope(self, load: Load) -> dict:
        target, _, query = load.path.partition("?")
        headers = [(b"host", f"127.0.0.1:{self.port}".encode())]
        headers += [(k.lower().encode(), v.encode("latin-1")) for k, v in load.headers.items()]
        if load.body:
            headers.append((b"content-length", str(len(load.body.encode())).encode()))
        return {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "server": ("127.0.0.1", self.port),
            "client": ("127.0.0.1", 50_000),
            "scheme": "http",
            "method": load.method,
            "root_path": "",
            "path": unquote(target),
            "raw_path": target.encode("latin-1"),
            "query_string": query.encode("latin-1"),
            "headers": headers,
            "state": {},
        }

    async def send(self, load: Load) -> tuple[int, bytes]:
        body = load.body.encode()
        sent = False
        done = asyncio.Event()
        status, chunks = 0, []

        async def receive() -> dict:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await done.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False):
                    done.set()

        await self.app(self.scope(load), receive, send)
        return status, b"".join(chunks)
