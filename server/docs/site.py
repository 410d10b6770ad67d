"""Rendered docs of every served spec: Swagger UI at `/<api>/docs`, Redoc at `/<api>/redoc`.

`<api>` is the API's name (`ylem`, `director`, `meiro`, and `_twin` for the admin API) in both
serving modes, so the docs' URLs do not move when one API is served alone at its documented root.
The spec the pages load is rewritten for this twin: its first server is the twin's own base URL
(what "Try it out" calls) and OAuth2 token URLs point at the twin, followed by the documented
servers. Every asset comes from the twin itself (`/_twin/assets/...`), so the docs work offline.

`write_static` exports the same pages with the specs inline, to open from disk.
"""

from __future__ import annotations

import json
import pathlib
import shutil
import urllib.parse

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from apitwin.apis import APIS, selected
from apitwin.apis.spec_index import load_spec, spec_file
from apitwin.docs import assets as docs_assets
from apitwin.docs import landing
from apitwin.docs import pages as docs_pages

ADMIN = "_twin"
_DOCS_ENDINGS = ("/docs", "/docs/", "/docs/openapi.json", "/redoc", "/redoc/")
ASSETS = "/_twin/assets"
# The console's files change with the package, not with a pinned version: revalidated.
_NO_STALE = {"Cache-Control": "no-cache"}
# The twin's default URL that G5 puts into each spec; the served docs put the real one first.
_TWIN_DEFAULT = "http://127.0.0.1:8000"


def doc_names(options) -> list[str]:
    return [api.name for api in selected(options.api)] + [ADMIN]


def base_path(name: str, alone: bool) -> str:
    return "/_twin" if name == ADMIN else APIS[name].base_path(alone)


def _default_twin_url(name: str) -> str:
    return _TWIN_DEFAULT + ("/_twin" if name == ADMIN else APIS[name].prefix)


def _server_prefix(server: dict) -> str:
    url = server["url"]
    for variable, spec in (server.get("variables") or {}).items():
        url = url.replace("{" + variable + "}", str(spec.get("default", "")))
    return url.rstrip("/")


def served_spec(name: str, api_root: str) -> dict:
    """The spec as the docs load it: the twin's URL first, token URLs at the twin."""
    spec = load_spec(spec_file(name))
    documented = [s for s in spec.get("servers", []) if s["url"] != _default_twin_url(name)]
    spec["servers"] = [{"url": api_root, "description": "This twin (apitwin serve)"}, *documented]
    prefixes = [_server_prefix(s) for s in documented]
    for scheme in (spec.get("components", {}).get("securitySchemes") or {}).values():
        for flow in (scheme.get("flows") or {}).values():
            for key in ("tokenUrl", "refreshUrl", "authorizationUrl"):
                url = flow.get(key)
                for prefix in prefixes:
                    if url and prefix and url.startswith(prefix + "/"):
                        flow[key] = api_root + url[len(prefix) :]
    return spec


def _schemes(spec: dict, kind: str, scheme: str | None = None) -> list[str]:
    found = []
    for key, value in (spec.get("components", {}).get("securitySchemes") or {}).items():
        if value.get("type") == kind and (scheme is None or value.get("scheme") == scheme):
            found.append(key)
    return found


def auth_presets(name: str, options, spec: dict) -> dict:
    """Credentials of the seeded world that the served Swagger UI authorises with on load."""
    if name == "meiro" and options.meiro_tokens:
        return {"apiKey": {key: options.meiro_tokens[0] for key in _schemes(spec, "apiKey")}}
    if name == "director" and options.director_basic_auth:
        user, _, password = options.director_basic_auth.partition(":")
        return {"basic": {key: [user, password] for key in _schemes(spec, "http", "basic")}}
    if name == "ylem" and options.ylem_clients:
        client, secret = next(iter(options.ylem_clients.items()))
        presets: dict = {"oauth": {"clientId": client, "clientSecret": secret}}
        token_urls = [
            flow["tokenUrl"]
            for key in _schemes(spec, "oauth2")
            for flow in spec["components"]["securitySchemes"][key]["flows"].values()
            if "tokenUrl" in flow
        ]
        bearer = _schemes(spec, "http", "bearer")
        if token_urls and bearer:
            query = urllib.parse.urlencode(
                {"grant_type": "client_credentials", "client_id": client, "client_secret": secret}
            )
            presets["bearerToken"] = {
                "url": f"{token_urls[0]}?{query}",
                "method": "GET",
                "schemes": bearer,
                "client": client,
            }
        return presets
    return {}


def _title(name: str) -> str:
    return load_spec(spec_file(name))["info"]["title"]


class DocsMiddleware:
    """Answers GET/HEAD for the docs pages, their specs and assets; passes everything else on."""

    def __init__(self, app: ASGIApp, twin) -> None:
        self.app = app
        self.options = twin.options
        self.names = doc_names(twin.options)
        self.alone = twin.options.api is not None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("GET", "HEAD"):
            response = self._route(scope)
            if response is not None:
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _route(self, scope: Scope) -> Response | None:
        path = scope["path"]
        if not path.endswith(_DOCS_ENDINGS) and not path.startswith(ASSETS + "/"):
            return None  # the hot path: every API call passes here
        if path.startswith(ASSETS + "/"):
            return self._asset(path[len(ASSETS) + 1 :])
        parts = path.strip("/").split("/")
        if len(parts) < 2 or parts[0] not in self.names:
            return None
        name, page = parts[0], "/".join(parts[1:])
        if page == "docs":
            return self._swagger(name, Request(scope))
        if page == "docs/openapi.json":
            spec = served_spec(name, self._api_root(name, Request(scope)))
            return JSONResponse(spec, headers={"Access-Control-Allow-Origin": "*"})
        if page == "redoc":
            return self._redoc(name, Request(scope))
        return None

    def _root(self, request: Request) -> str:
        return str(request.base_url).rstrip("/")

    def _api_root(self, name: str, request: Request) -> str:
        return self._root(request) + base_path(name, self.alone)

    def _links(self, name: str, request: Request, current: str) -> list[tuple[str, str, bool]]:
        root = request.scope.get("root_path", "")
        return [
            ("all APIs", root + "/", False),
            ("Swagger UI", f"{root}/{name}/docs", current == "docs"),
            ("Redoc", f"{root}/{name}/redoc", current == "redoc"),
            ("OpenAPI JSON", f"{root}/{name}/docs/openapi.json", False),
        ]

    def _swagger(self, name: str, request: Request) -> Response:
        api_root = self._api_root(name, request)
        settings = {
            "specUrl": f"{request.scope.get('root_path', '')}/{name}/docs/openapi.json",
            "auth": auth_presets(name, self.options, served_spec(name, api_root)),
        }
        page = docs_pages.swagger_page(
            title=_title(name),
            assets=request.scope.get("root_path", "") + ASSETS,
            links=self._links(name, request, "docs"),
            settings=settings,
            prefer_box=name != ADMIN,
        )
        return HTMLResponse(page)

    def _redoc(self, name: str, request: Request) -> Response:
        try:
            docs_assets.redoc_bundle()
        except docs_assets.AssetMissing as exc:
            return HTMLResponse(docs_pages.missing_page(_title(name), str(exc)), status_code=503)
        page = docs_pages.redoc_page(
            title=_title(name),
            assets=request.scope.get("root_path", "") + ASSETS,
            links=self._links(name, request, "redoc"),
            settings={"specUrl": f"{request.scope.get('root_path', '')}/{name}/docs/openapi.json"},
        )
        return HTMLResponse(page)

    def _asset(self, rest: str) -> Response:
        cache = {"Cache-Control": "public, max-age=86400"}
        kind, _, file_name = rest.partition("/")
        try:
            if kind == "swagger-ui" and file_name in docs_assets.SWAGGER_UI_FILES:
                return FileResponse(docs_assets.swagger_ui_dir() / file_name, headers=cache)
            if kind == "console" and file_name in landing.CONSOLE_FILES:
                return FileResponse(landing.CONSOLE_DIR / file_name, headers=_NO_STALE)
            if kind == "redoc" and file_name == "redoc.standalone.js":
                bundle = docs_assets.redoc_bundle()
                return FileResponse(bundle, headers=cache, media_type="text/javascript")
        except docs_assets.AssetMissing as exc:
            return Response(str(exc), status_code=503, media_type="text/plain")
        return Response("no such asset", status_code=404, media_type="text/plain")


def write_static(out_dir: str | pathlib.Path, options) -> list[pathlib.Path]:
    """Writes docs for every spec that open from disk (specs inline, assets copied beside)."""
    out = pathlib.Path(out_dir)
    assets = out / "assets"
    (assets / "swagger-ui").mkdir(parents=True, exist_ok=True)
    (assets / "redoc").mkdir(parents=True, exist_ok=True)
    for file_name in docs_assets.SWAGGER_UI_FILES:
        shutil.copyfile(docs_assets.swagger_ui_dir() / file_name, assets / "swagger-ui" / file_name)
    bundle = docs_assets.redoc_bundle()
    shutil.copyfile(bundle, assets / "redoc" / bundle.name)
    shutil.copyfile(bundle.parent / "LICENSE", assets / "redoc" / "LICENSE")

    written, entries = [], []
    for name in [*APIS, ADMIN]:
        spec = load_spec(spec_file(name))
        folder = out / name
        folder.mkdir(exist_ok=True)
        links = [
            ("all APIs", "../index.html", False),
            ("Swagger UI", "docs.html", None),
            ("Redoc", "redoc.html", None),
            ("OpenAPI JSON", "openapi.json", False),
        ]

        def marked(current: str, links=links):
            return [(label, href, href == current) for label, href, _ in links]

        title = spec["info"]["title"]
        pages = {
            "docs.html": docs_pages.swagger_page(
                title=title,
                assets="../assets",
                links=marked("docs.html"),
                settings={"spec": spec},
                prefer_box=False,
            ),
            "redoc.html": docs_pages.redoc_page(
                title=title, assets="../assets", links=marked("redoc.html"), settings={"spec": spec}
            ),
            "openapi.json": json.dumps(spec, indent=2),
        }
        for file_name, text in pages.items():
            (folder / file_name).write_text(text, encoding="utf-8")
            written.append(folder / file_name)
        entries.append(
            {
                "title": title,
                "version": str(spec["info"].get("version", "")),
                "docs": f"{name}/docs.html",
                "redoc": f"{name}/redoc.html",
                "spec": f"{name}/openapi.json",
            }
        )
    (out / "index.html").write_text(docs_pages.index_page(entries), encoding="utf-8")
    written.append(out / "index.html")
    return written
