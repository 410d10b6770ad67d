"""Builds the ASGI app: every selected API's spec, plus the admin API, on one request path.

The specs drive routing, validation and security, compiled once at start-up into one route table
(pipeline.py; a broken spec fails fast); handlers are resolved by operationId on a per-API
Handlers object bound to the twin. Connexion's app holds the layers and renders errors.
"""

from __future__ import annotations

import connexion
from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest
from connexion.middleware import MiddlewarePosition
from starlette.exceptions import HTTPException

from apitwin.apis import ADMIN_SPEC, SPECS_DIR, selected
from apitwin.apis.admin.handlers import AdminHandlers
from apitwin.apis.spec_index import load_spec
from apitwin.core.errors import TwinError, problem_response
from apitwin.core.twin import Twin
from apitwin.docs import landing
from apitwin.docs.site import DocsMiddleware
from apitwin.options import TwinOptions
from apitwin.pipeline.admin_guard import AdminGuard
from apitwin.pipeline.allow import AllowedMethods
from apitwin.pipeline.cors import CorsMiddleware
from apitwin.pipeline.faults import ConnectionStash, FaultMiddleware
from apitwin.pipeline.http import LowercaseMediaType
from apitwin.pipeline.journal import JournalMiddleware
from apitwin.pipeline.limits import BodyLimit
from apitwin.pipeline.prefer import PreferDelayMiddleware, PreferMiddleware
from apitwin.pipeline.route_table import (
    TOO_DEEP,
    UNDECODABLE,
    GuardLayer,
    HandlerLayer,
    ResponseCheckLayer,
    RouteLayer,
    RouteTable,
)
from apitwin.pipeline.session import SessionMiddleware

ADMIN_BASE = "/_twin"


class _ErrorRenderers:
    """Picks the API whose base path the request is under and renders its native error body."""

    def __init__(self) -> None:
        self._by_prefix: list[tuple[str, object]] = []

    def add(self, base_path: str, renderer) -> None:
        self._by_prefix.append((base_path.rstrip("/"), renderer))
        self._by_prefix.sort(key=lambda item: len(item[0]), reverse=True)

    def native(self, path: str, status: int, detail: str, fields: dict) -> dict:
        for prefix, renderer in self._by_prefix:
            if path == prefix or path.startswith(prefix + "/"):
                return renderer(status, detail, path[len(prefix) :] or "/", fields)
        return {}

    def respond(self, request: ConnexionRequest, status, detail, fields=None, headers=None):
        native = self.native(request.url.path, status, detail, fields or {})
        return problem_response(status, detail, native, headers)


def create_app(options: TwinOptions | None = None, twin: Twin | None = None) -> connexion.AsyncApp:
    options = options or TwinOptions()
    twin = twin or Twin(options)
    app = connexion.AsyncApp(__name__, specification_dir=str(SPECS_DIR))
    renderers = _ErrorRenderers()
    allowed = AllowedMethods()
    alone = options.api is not None
    table = RouteTable()

    # Admin first: an API served alone sits at "/", and the first matching mount wins.
    # Each spec comes as data: parsed once (spec_index), not again from the file.
    table.add_api("_twin", ADMIN_BASE, load_spec(ADMIN_SPEC), AdminHandlers(twin))
    allowed.add_spec(ADMIN_BASE, load_spec(ADMIN_SPEC))
    for api in selected(options.api):
        module = api.module()
        base_path = api.base_path(alone)
        table.add_api(
            api.name,
            base_path,
            load_spec(api.spec),
            module.Handlers(twin),
            module.security_map(twin),
        )
        renderers.add(base_path, module.render_error)
        allowed.add_spec(base_path, load_spec(api.spec))

    async def twin_error(request: ConnexionRequest, exc: TwinError):
        return renderers.respond(request, exc.status, exc.detail, exc.fields, exc.headers)

    async def problem(request: ConnexionRequest, exc: ProblemException):
        return renderers.respond(request, exc.status, exc.detail or exc.title, {}, exc.headers)

    async def http_error(request: ConnexionRequest, exc: HTTPException):
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed.for_path(request.url.path))
        return renderers.respond(request, exc.status_code, exc.detail, {}, headers)

    async def undecodable(request: ConnexionRequest, exc: UnicodeDecodeError):
        # Connexion's JSON validator raises this on a body that is not UTF-8 (a 500 otherwise).
        return renderers.respond(request, 400, UNDECODABLE)

    async def too_deep(request: ConnexionRequest, exc: RecursionError):
        # Connexion's json.loads raises this on a body nested thousands of levels (a 500).
        return renderers.respond(request, 400, TOO_DEEP)

    # Coroutines: Connexion runs a plain function in a worker thread, which made an error answer
    # cost several times a successful one; rendering one never blocks.
    app.add_error_handler(TwinError, twin_error)
    app.add_error_handler(ProblemException, problem)
    app.add_error_handler(HTTPException, http_error)
    app.add_error_handler(UnicodeDecodeError, undecodable)
    app.add_error_handler(RecursionError, too_deep)

    # The request path inside Connexion's error handling, innermost last: every request to an
    # operation takes each of these layers (pipeline.py).
    pipeline = [
        (FaultMiddleware, {"twin": twin}),  # the network and gateway: before any check
        (GuardLayer, {}),  # security, parameters, media type, body -> the handler's arguments
        (ResponseCheckLayer, {"table": table}) if options.validate_responses else None,
        (PreferMiddleware, {"twin": twin}),  # a documented answer instead of the handler's
    ]
    inner = HandlerLayer()
    for layer, kwargs in reversed([step for step in pipeline if step]):
        inner = layer(inner, **kwargs)
    # Outside it, outermost first. The session picks the world everything inside acts on. Docs
    # pages and assets are not API calls: served outside the journal.
    admin_guard = {
        "base": ADMIN_BASE,
        "bound_host": options.host,
        "origins": options.cors_origins,
        "token": options.admin_token,
    }
    outer = [
        (SessionMiddleware, {"twin": twin, "native": renderers.native}),
        (DocsMiddleware, {"twin": twin}),
        (JournalMiddleware, {"twin": twin}),
        # Before CORS: a page elsewhere gets no preflight grant for the admin API either.
        (AdminGuard, admin_guard),
        (LowercaseMediaType, {}),
        (CorsMiddleware, {"origins": list(options.cors_origins)}) if options.cors else None,
        # Inside CORS, so a frontend can read the 413.
        (BodyLimit, {"limit": options.max_body_bytes, "native": renderers.native}),
        (PreferDelayMiddleware, {}),  # slows any answer, errors included
    ]
    for layer, kwargs in [step for step in outer if step]:
        app.add_middleware(layer, position=MiddlewarePosition.BEFORE_EXCEPTION, **kwargs)
    # Connexion has no position before its ServerErrorMiddleware, which wraps `send`.
    app.middleware.middlewares.insert(0, ConnectionStash)
    # Inside the exception middleware, before Connexion's (now empty) routing.
    app.add_middleware(
        RouteLayer, position=MiddlewarePosition.BEFORE_SWAGGER, table=table, inner=inner
    )
    landing.install(app, twin)
    app.twin = twin
    return app
