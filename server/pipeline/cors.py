"""CORS for every API, on by default, so a page on another origin can call the twin.

Starlette's CORSMiddleware answers preflights with 200 and either allows credentials for every
allowed origin or for none; the twin needs a 204, credentials only for the configured origins
(`--cors-origin`) and `*` for the rest, so the policy is written out here.

- Preflight (OPTIONS with Access-Control-Request-Method): 204, the requested method and headers
  echoed, `Authorization`, `X-Access-Token`, `Content-Type` and `Prefer` always allowed. It is
  answered before routing: a method the path does not allow then gets its honest 405 on the
  actual request instead of an opaque CORS failure in the browser.
- Actual requests: the allow-origin headers are added to every response, errors included, and
  the headers a frontend needs to read (`WWW-Authenticate`, `Location`, the twin's own) exposed.
"""

from __future__ import annotations

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apitwin.pipeline.http import header

ALWAYS_ALLOWED_HEADERS = ("Authorization", "X-Access-Token", "Content-Type", "Prefer")
EXPOSED_HEADERS = (
    "WWW-Authenticate",
    "Location",
    "Allow",
    "Retry-After",
    "Pragma",
    "Preference-Applied",
    "X-Twin-Example",
    "X-Twin-Fault",
    "X-Twin-Session",
)
PREFLIGHT_MAX_AGE = "600"


class CorsMiddleware:
    def __init__(self, app: ASGIApp, origins: list[str] | tuple[str, ...] = ()) -> None:
        self.app = app
        self.credentialed = {origin.rstrip("/") for origin in origins}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Requests without an Origin (most of them: servers, curl, same-origin GETs) pass untouched.
        if scope["type"] != "http" or header(scope, b"origin") is None:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        origin = headers["origin"]
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(origin, headers, send)
            return

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                response_headers = MutableHeaders(scope=message)
                for key, value in self._origin_headers(origin).items():
                    response_headers[key] = value
                response_headers["Access-Control-Expose-Headers"] = ", ".join(EXPOSED_HEADERS)
                response_headers.add_vary_header("Origin")
            await send(message)

        await self.app(scope, receive, with_cors)

    def _origin_headers(self, origin: str) -> dict[str, str]:
        if origin in self.credentialed:
            return {
                "Access-Control-Allow-Origin": origin,
                "Access-Control-Allow-Credentials": "true",
            }
        return {"Access-Control-Allow-Origin": "*"}

    async def _preflight(self, origin: str, headers: Headers, send: Send) -> None:
        requested = [
            h.strip() for h in headers.get("access-control-request-headers", "").split(",")
        ]
        allowed = list(ALWAYS_ALLOWED_HEADERS)
        lower = {h.lower() for h in allowed}
        allowed += [h for h in requested if h and h.lower() not in lower]
        response = {
            **self._origin_headers(origin),
            "Access-Control-Allow-Methods": headers["access-control-request-method"].upper(),
            "Access-Control-Allow-Headers": ", ".join(allowed),
            "Access-Control-Max-Age": PREFLIGHT_MAX_AGE,
            "Vary": "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
        }
        # Chromium asks before a public page may call a loopback address (Private Network Access).
        if headers.get("access-control-request-private-network", "").lower() == "true":
            response["Access-Control-Allow-Private-Network"] = "true"
        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.items()]
        await send({"type": "http.response.start", "status": 204, "headers": raw})
        await send({"type": "http.response.body", "body": b""})
