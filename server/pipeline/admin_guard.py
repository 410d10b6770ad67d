"""The admin API (/_twin) answers the twin's own pages and tools only, as laptop dev servers do.

Any web page open in a developer's browser can send requests to 127.0.0.1; without this layer it
could reset or read the world, or import one. So an admin request is refused (403) when

- its `Origin` is another site's (not the twin's own origin, nor one given with --cors-origin),
  or the browser marks it cross-site (`Sec-Fetch-Site`): a page elsewhere driving the twin;
- its `Host` is not one of the twin's names (loopback, or the --host it was started on): a page
  that reached the twin through DNS rebinding;

and, when an admin token is set (--admin-token or $APITWIN_ADMIN_TOKEN), it must come with
`Authorization: Bearer TOKEN` or `X-Twin-Admin-Token: TOKEN` (401 otherwise). With a token, the
Host check is left to it: a twin bound to a public address is reached by names it cannot know.
The three APIs are not guarded here: they keep their CORS for frontends.
"""

from __future__ import annotations

import hmac

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from apitwin.core.errors import problem_asgi

TOKEN_HEADER = "x-twin-admin-token"
LOOPBACK = {"localhost", "127.0.0.1", "::1"}


def host_name(host: str) -> str:
    """'[::1]:8000' -> '::1', 'localhost:8000' -> 'localhost'."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1 : host.find("]")] if "]" in host else host
    return host.rpartition(":")[0] if host.count(":") == 1 else host


class AdminGuard:
    def __init__(self, app: ASGIApp, base: str, bound_host: str, origins, token: str | None):
        self.app = app
        self.base = base
        self.hosts = LOOPBACK | {host_name(bound_host)}
        self.origins = {origin.rstrip("/").lower() for origin in origins}
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not (path == self.base or path.startswith(self.base + "/")):
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(Headers(scope=scope), scope)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        status, detail = refusal
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        await problem_asgi(status, detail, {}, headers)(scope, receive, send)

    def _refusal(self, headers: Headers, scope: Scope) -> tuple[int, str] | None:
        host = headers.get("host", "")
        origin = headers.get("origin")
        if origin is not None:
            own = f"{scope.get('scheme', 'http')}://{host}".lower()
            if origin.rstrip("/").lower() not in {own} | self.origins:
                return 403, f"the admin API answers the twin's own pages, not {origin}"
        elif headers.get("sec-fetch-site") == "cross-site":
            return 403, "the admin API answers the twin's own pages, not another site's"
        if self.token is None:
            if host_name(host) not in self.hosts:
                return 403, f"the admin API answers requests to this twin's own names, not {host}"
            return None
        given = headers.get(TOKEN_HEADER)
        if given is None:
            scheme, _, value = headers.get("authorization", "").partition(" ")
            given = value.strip() if scheme.lower() == "bearer" else None
        if given is None or not hmac.compare_digest(given.encode(), self.token.encode()):
            return 401, "the admin API needs the admin token (X-Twin-Admin-Token or Bearer)"
        return None
