"""`apitwin proxy`'s ASGI app: every request forwarded unchanged to the upstream, the upstream's
answer returned unchanged, and then the exchange handed to an observer to check and record.

The proxy serves the API at its documented root (Ylem `/v1`, Director and Meiro `/`), and the
upstream URL is the deployment's documented root, as `apitwin conform --base-url` takes it: a
request to `ROOT/x` goes to `UPSTREAM/x`, byte for byte (the raw path and query), so a twin
serving all three APIs (`.../ylem/v1`) and a real deployment are proxied alike. A path outside
the root goes beside the upstream's root (`/favicon.ico` to `.../ylem/favicon.ico`).
"""

from __future__ import annotations

import dataclasses
import datetime
import http.cookiejar
import json
import time
from typing import Protocol

import anyio.to_thread
import httpx

from . import har

# Hop-by-hop headers (RFC 9110 7.6.1) are the connection's, not the message's: neither
# direction forwards them, nor any header the Connection header names. Host is the upstream's
# own (httpx sets it); a body's length is set again for the bytes sent.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
UPSTREAM_TIMEOUT = 60.0  # seconds; then the client gets a 504
PROBLEM = "application/problem+json"


class Observer(Protocol):
    def observe(self, seen: Seen) -> None: ...
    def failed(
        self, method: str, client_url: str, api_path: str | None, status: int, detail: str
    ) -> None: ...


@dataclasses.dataclass
class Seen:
    """An exchange as the checks need it: the request as the client sent it (path under the
    proxy's root: known-deviation `request` patterns are written against it), as forwarded (a
    curl command that repeats it upstream), and the upstream's answer with its body decoded."""

    exchange: har.Exchange
    client_url: str
    api_path: str | None  # relative to the API's root, None when outside it
    forwarded: httpx.Request


@dataclasses.dataclass(frozen=True)
class Route:
    root: str  # the API's documented root on the proxy: "/v1", or "" for "/"
    upstream: httpx.URL  # the deployment's documented root

    def upstream_raw_path(self, raw_path: bytes) -> bytes:
        base = self.upstream.raw_path.split(b"?")[0].rstrip(b"/")
        root = self.root.encode()
        if raw_path == root or raw_path.startswith(root + b"/"):
            return base + raw_path[len(root) :] or b"/"
        # Outside the root: beside the upstream's root when that ends as the proxy's does.
        if root and base.endswith(root):
            base = base[: -len(root)]
        return base + raw_path

    def api_path(self, path: str) -> str | None:
        if not self.root:
            return path
        if path == self.root or path.startswith(self.root + "/"):
            return path[len(self.root) :] or "/"
        return None


def _kept(headers: list[tuple[bytes, bytes]], *also: str) -> list[tuple[bytes, bytes]]:
    named = {
        token.strip().lower()
        for name, value in headers
        if name.lower() == b"connection"
        for token in value.decode("latin-1").split(",")
    }
    dropped = HOP_BY_HOP | named | set(also)
    return [(k, v) for k, v in headers if k.decode("latin-1").lower() not in dropped]


def _decoded(status: int, headers: httpx.Headers, raw: bytes) -> bytes:
    """The body as the checks and the recording need it: without its Content-Encoding."""
    if "content-encoding" not in headers:
        return raw
    try:
        return httpx.Response(status, headers=headers, content=raw).content
    except httpx.DecodingError:
        return raw  # the checks then see what arrived, and say it is no JSON


async def _answer(send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _no_cookies() -> http.cookiejar.CookieJar:
    # The client's cookies pass through in its own Cookie header; the proxy keeps none.
    return http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))


class ProxyApp:
    def __init__(self, route: Route, observer: Observer) -> None:
        self.route, self.observer = route, observer
        self.client = httpx.AsyncClient(
            timeout=UPSTREAM_TIMEOUT, follow_redirects=False, cookies=_no_cookies()
        )

    async def __call__(self, scope, receive, send) -> None:
        # Every path, whatever its characters: a router would answer odd ones itself.
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        raw_path = scope.get("raw_path") or scope["path"].encode()
        query = scope.get("query_string") or b""
        suffix = b"?" + query if query else b""
        host, port = scope.get("server") or ("127.0.0.1", 0)
        client_url = f"http://{host}:{port}" + (raw_path + suffix).decode("latin-1")
        upstream_path = self.route.upstream_raw_path(raw_path) + suffix
        started = datetime.datetime.now(datetime.UTC)
        clock = time.perf_counter()
        try:
            forwarded = httpx.Request(
                scope["method"],
                self.route.upstream.copy_with(raw_path=upstream_path),
                headers=_kept(scope["headers"], "host"),
                content=body or None,
            )
            response = await self.client.send(forwarded, stream=True)
            try:
                raw = b"".join([chunk async for chunk in response.aiter_raw()])
            finally:
                await response.aclose()
        except (httpx.HTTPError, httpx.InvalidURL) as exc:  # InvalidURL is no HTTPError
            await self._gateway_error(scope, send, client_url, exc)
            return
        headers = _kept(response.headers.raw)
        if b"content-length" not in {k.lower() for k, _ in headers} and raw:
            headers.append((b"content-length", b"%d" % len(raw)))
        await _answer(send, response.status_code, headers, raw)
        exchange = har.Exchange(
            method=scope["method"],
            url=str(forwarded.url),
            request_headers=forwarded.headers.multi_items(),
            request_body=body,
            status=response.status_code,
            response_headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers],
            response_body=_decoded(response.status_code, response.headers, raw),
            started=started,
            elapsed_ms=(time.perf_counter() - clock) * 1000,
        )
        seen = Seen(exchange, client_url, self.route.api_path(scope["path"]), forwarded)
        # The client has its answer: checking it does not hold the event loop up.
        await anyio.to_thread.run_sync(self.observer.observe, seen)

    async def _gateway_error(self, scope, send, client_url: str, exc: Exception) -> None:
        timeout = isinstance(exc, httpx.TimeoutException)
        status, title = (504, "Gateway Timeout") if timeout else (502, "Bad Gateway")
        reason = str(exc) or type(exc).__name__
        detail = (
            f"apitwin proxy: the upstream {self.route.upstream} did not answer within "
            f"{UPSTREAM_TIMEOUT:g} s"
            if timeout
            else f"apitwin proxy could not get an answer from the upstream "
            f"{self.route.upstream}: {reason}"
        )
        problem = {"type": "about:blank", "title": title, "status": status, "detail": detail}
        body = json.dumps(problem).encode()
        headers = [(b"content-type", PROBLEM.encode()), (b"content-length", b"%d" % len(body))]
        await _answer(send, status, headers, body)
        await anyio.to_thread.run_sync(
            self.observer.failed,
            scope["method"],
            client_url,
            self.route.api_path(scope["path"]),
            status,
            detail,
        )
