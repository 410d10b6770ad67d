"""Builds the ASGI app: every selected API's spec served by Connexion, plus the admin API.

The specs drive routing, validation and security (compiled once at start-up, so a broken spec
fails fast); handlers are resolved by operationId on a per-API Handlers object bound to the twin.
"""

from __future__ import annotations

import connexion
from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest
from connexion.middleware import MiddlewarePosition
from connexion.resolver import Resolver
from starlette.exceptions import HTTPException

from apitwin.apis import ADMIN_SPEC, SPECS_DIR, selected
from apitwin.apis.admin.handlers import AdminHandlers
from apitwin.apis.spec_index import load_spec
from apitwin.core.errors import TwinError, problem_response
from apitwin.core.twin import Twin
from apitwin.docs import landing
from apitwin.docs import site as docs
from apitwin.options import TwinOptions
from apitwin.pipeline import cors, faults, prefer
from apitwin.pipeline.allow import AllowedMethods
from apitwin.pipeline.fastlane import FastLane
from apitwin.pipeline.http import LowercaseMediaType
from apitwin.pipeline.journal import JournalMiddleware
from apitwin.pipeline.jsonbody import JSONIFIER
from apitwin.pipeline.session import SessionMiddleware

ADMIN_BASE = "/_twin"


def _resolver(handlers) -> Resolver:
    def resolve(operation_id: str):
        try:
            return getattr(handlers, operation_id)
        except AttributeError:
            raise RuntimeError(
                f"{type(handlers).__module__} has no handler for operationId {operation_id!r}"
            ) from None

    return Resolver(function_resolver=resolve)


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
    lane = FastLane(twin)

    # Admin first: an API served alone sits at "/", and the first matching mount wins.
    # Connexion gets each spec as data: parsed once (spec_index), not again from the file.
    app.add_api(
        load_spec(ADMIN_SPEC),
        base_path=ADMIN_BASE,
        name="admin",
        resolver=_resolver(AdminHandlers(twin)),
        strict_validation=True,
        validate_responses=options.validate_responses,
        jsonifier=JSONIFIER,
    )
    allowed.add_spec(ADMIN_BASE, load_spec(ADMIN_SPEC))
    for api in selected(options.api):
        module = api.module()
        base_path = api.base_path(alone)
        handlers, security_map = module.Handlers(twin), module.security_map(twin)
        app.add_api(
            load_spec(api.spec),
            base_path=base_path,
            name=api.name,
            resolver=_resolver(handlers),
            strict_validation=True,
            validate_responses=options.validate_responses,
            security_map=security_map,
            jsonifier=JSONIFIER,
        )
        lane.add(api.name, base_path, handlers, security_map)
        renderers.add(base_path, module.render_error)
        allowed.add_spec(base_path, load_spec(api.spec))

    def twin_error(request: ConnexionRequest, exc: TwinError):
        return renderers.respond(request, exc.status, exc.detail, exc.fields, exc.headers)

    def problem(request: ConnexionRequest, exc: ProblemException):
        return renderers.respond(request, exc.status, exc.detail or exc.title, {}, exc.headers)

    def http_error(request: ConnexionRequest, exc: HTTPException):
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed.for_path(request.url.path))
        return renderers.respond(request, exc.status_code, exc.detail, {}, headers)

    def undecodable(request: ConnexionRequest, exc: UnicodeDecodeError):
        # Connexion's JSON validator raises this on a body that is not UTF-8 (a 500 otherwise).
        return renderers.respond(request, 400, "Request body is not valid UTF-8")

    def too_deep(request: ConnexionRequest, exc: RecursionError):
        # Connexion's json.loads raises this on a body nested thousands of levels (a 500).
        return renderers.respond(request, 400, "Request body nests too deeply")

    app.add_error_handler(TwinError, twin_error)
    app.add_error_handler(ProblemException, problem)
    app.add_error_handler(HTTPException, http_error)
    app.add_error_handler(UnicodeDecodeError, undecodable)
    app.add_error_handler(RecursionError, too_deep)
    # Outermost first. The session picks the world everything inside acts on. Docs pages and
    # assets are not API calls: served outside the journal.
    app.add_middleware(
        SessionMiddleware,
        position=MiddlewarePosition.BEFORE_EXCEPTION,
        twin=twin,
        native=renderers.native,
    )
    docs.install(app, twin)
    app.add_middleware(
        JournalMiddleware,
        position=MiddlewarePosition.BEFORE_EXCEPTION,
        twin=twin,
    )
    app.add_middleware(LowercaseMediaType, position=MiddlewarePosition.BEFORE_EXCEPTION)
    cors.install(app, twin)
    prefer.install_delay(app)
    faults.install(app, twin)  # after routing, before security
    prefer.install(app, twin)  # after validation
    lane.install(app)  # inside the exception middleware, before Connexion's routing
    landing.install(app, twin)
    app.twin = twin
    return app
