"""A deliberately broken deployment: a reverse proxy in front of a twin that breaks one thing.

Each `Fault` picks the requests it applies to (method and a path pattern) and changes the answer
(or the request) in one way a real deployment can get wrong. `BrokenDeployment` serves the proxy
with uvicorn in a thread on a free loopback port, and always stops it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import threading
import time

import httpx
import uvicorn
from starlette.requests import Request
from starlette.responses import Response

from apitwin.serve.process import free_port

HOP_HEADERS = {"host", "content-length", "connection", "transfer-encoding", "content-encoding"}


@dataclasses.dataclass
class Exchange:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    status: int = 0
    response_headers: dict[str, str] = dataclasses.field(default_factory=dict)
    response_body: bytes = b""

    def json(self):
        return json.loads(self.response_body)

    def set_json(self, data) -> None:
        self.response_body = json.dumps(data).encode()


@dataclasses.dataclass
class Fault:
    """Base: applies to `method` requests whose path fully matches `path`."""

    method: str
    path: str

    def applies(self, exchange: Exchange) -> bool:
        return exchange.method == self.method and re.fullmatch(self.path, exchange.path) is not None

    def before(self, exchange: Exchange) -> None:
        """Change the request before it goes upstream."""

    def after(self, exchange: Exchange) -> None:
        """Change the answer before it goes back."""


def _items(data, pointer: str):
    """Every (container, key) that `pointer` names; `*` walks every item of a list."""
    parents = [data]
    *steps, last = pointer.strip("/").split("/")
    for step in steps:
        following = []
        for parent in parents:
            if step == "*" and isinstance(parent, list):
                following.extend(parent)
            elif isinstance(parent, dict) and step in parent:
                following.append(parent[step])
            elif isinstance(parent, list) and step.isdigit() and int(step) < len(parent):
                following.append(parent[int(step)])
        parents = following
    for parent in parents:
        if isinstance(parent, dict) and last in parent:
            yield parent, last
        elif isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
            yield parent, int(last)


def _success(exchange: Exchange) -> bool:
    return 200 <= exchange.status < 300 and exchange.response_body[:1] in (b"{", b"[")


@dataclasses.dataclass
class DropField(Fault):
    """Leaves a required field out of successful answers."""

    pointer: str = ""

    def after(self, exchange: Exchange) -> None:
        if _success(exchange):
            data = exchange.json()
            for parent, key in list(_items(data, self.pointer)):
                del parent[key]
            exchange.set_json(data)


@dataclasses.dataclass
class RetypeField(Fault):
    """Gives a (nested) field of successful answers a value of the wrong type."""

    pointer: str = ""
    value: object = "not-the-documented-type"

    def after(self, exchange: Exchange) -> None:
        if _success(exchange):
            data = exchange.json()
            for parent, key in list(_items(data, self.pointer)):
                parent[key] = self.value
            exchange.set_json(data)


@dataclasses.dataclass
class WrongStatus(Fault):
    """Answers a status code the spec does not list instead of the documented success."""

    status: int = 203

    def after(self, exchange: Exchange) -> None:
        if 200 <= exchange.status < 300:
            exchange.status = self.status


@dataclasses.dataclass
class WrongContentType(Fault):
    content_type: str = "text/plain; charset=utf-8"

    def after(self, exchange: Exchange) -> None:
        if 200 <= exchange.status < 300:
            exchange.response_headers["content-type"] = self.content_type


@dataclasses.dataclass
class ServerErrorOn(Fault):
    """Answers 500 whenever the query carries `parameter`."""

    parameter: str = ""

    def after(self, exchange: Exchange) -> None:
        if self.parameter in exchange.query:
            exchange.status = 500
            exchange.response_headers["content-type"] = "text/html"
            exchange.response_body = b"<h1>Internal Server Error</h1>"


@dataclasses.dataclass
class AcceptWithoutCredentials(Fault):
    """Lets requests without credentials through by adding valid ones on their way upstream."""

    header: str = ""
    value: str = ""

    def before(self, exchange: Exchange) -> None:
        if not any(name.lower() == self.header.lower() for name in exchange.headers):
            exchange.headers[self.header] = self.value


@dataclasses.dataclass
class AcceptInvalidBody(Fault):
    """Answers success to request bodies the API rejected, with a valid-looking body."""

    status: int = 201
    body: object = None

    def after(self, exchange: Exchange) -> None:
        if exchange.status in (400, 415, 422):
            exchange.status = self.status
            exchange.response_headers["content-type"] = "application/json"
            exchange.set_json(self.body)


@dataclasses.dataclass
class RejectCredentials(Fault):
    """Refuses every request as unauthenticated, as an API does with a token it does not know."""

    def after(self, exchange: Exchange) -> None:
        exchange.status = 401
        exchange.response_headers["content-type"] = "application/json"
        exchange.set_json({"message": "Invalid credentials have been provided"})


def proxy_app(upstream: str, faults: list[Fault], seen: list[tuple[str, str]]):
    client = httpx.AsyncClient(timeout=30.0)
    upstream_url = httpx.URL(upstream)

    async def forward(request: Request) -> Response:
        exchange = Exchange(
            method=request.method,
            path=request.url.path,
            query=dict(request.query_params),
            headers={k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS},
            body=await request.body(),
        )
        seen.append((exchange.method, exchange.path))
        active = [fault for fault in faults if fault.applies(exchange)]
        for fault in active:
            fault.before(exchange)
        # The raw path and query, byte for byte: fuzzed requests carry odd characters.
        raw = request.scope["raw_path"]
        if request.scope["query_string"]:
            raw += b"?" + request.scope["query_string"]
        try:
            answer = await client.request(
                exchange.method,
                upstream_url.copy_with(raw_path=raw),
                headers=exchange.headers,
                content=exchange.body,
            )
        except httpx.LocalProtocolError:
            # A header httpx will not send (fuzzed values): refuse it as a strict server would.
            return Response(b'{"message": "Bad request"}', 400, media_type="application/json")
        exchange.status = answer.status_code
        exchange.response_headers = {
            k: v for k, v in answer.headers.items() if k.lower() not in HOP_HEADERS
        }
        exchange.response_body = answer.content
        for fault in active:
            fault.after(exchange)
        return Response(exchange.response_body, exchange.status, exchange.response_headers)

    async def app(scope, receive, send) -> None:
        # Every request, whatever its path: a router's `{path:path}` takes no decoded newline,
        # and fuzzed paths carry them (a router would answer those 404 text/plain itself).
        if scope["type"] == "http":
            response = await forward(Request(scope, receive))
            await response(scope, receive, send)

    return app


class BrokenDeployment:
    """The proxy on a free port: `with BrokenDeployment(upstream, faults) as proxy: proxy.url`."""

    def __init__(self, upstream: str, faults: list[Fault]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request proxied
        config = uvicorn.Config(
            proxy_app(upstream, faults, self.requests),
            host="127.0.0.1",
            port=self.port,
            # Fuzzed requests uvicorn cannot parse are answered 400 by it; no need to log each.
            log_level="error",
            lifespan="off",  # the proxy has nothing to start
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> BrokenDeployment:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                self.__exit__()
                raise RuntimeError("breaker proxy did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        with contextlib.suppress(RuntimeError):
            self.thread.join(timeout=10)


@dataclasses.dataclass
class Outcome:
    exit_code: int
    summary: str
    report: dict | None

    @property
    def checks(self) -> set[str]:
        """Checks that failed, from the JSON report."""
        return {
            violation["check"]
            for operation in (self.report or {}).get("operations", [])
            for violation in operation["violations"]
        }


def conform(tmp_path, *args: str) -> Outcome:
    """Runs `apitwin conform` in-process with a JSON report; the summary is what it printed."""
    import io

    from apitwin.conformance import cli

    report = tmp_path / f"report-{time.monotonic_ns()}.json"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = cli.main([*args, "--report", str(report)])
    data = json.loads(report.read_text()) if report.exists() else None
    return Outcome(code, printed.getvalue(), data)
