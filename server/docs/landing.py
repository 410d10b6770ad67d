"""GET / : the console. At the top the APIs, their base URLs, credentials and docs links
(rendered here, escaped); below it the console (docs/console/: plain HTML, CSS and JS shipped as
package data, no build step), which reads and drives the admin API from the browser."""

from __future__ import annotations

import functools
import html
import json
import pathlib

from starlette.responses import HTMLResponse

from apitwin.apis import selected
from apitwin.apis.spec_index import operations
from apitwin.core.clock import iso

CONSOLE_DIR = pathlib.Path(__file__).resolve().parent / "console"
CONSOLE_FILES = ("console.css", "console.js")
CONSOLE_ASSETS = "/_twin/assets/console"


def _credentials(api_name: str, options) -> str:
    if api_name == "ylem":
        clients = ", ".join(f"{c} / {s}" for c, s in options.ylem_clients.items())
        return f"OAuth2 client credentials (client_id / client_secret): {clients}"
    if api_name == "meiro":
        return "Header X-Access-Token: " + ", ".join(options.meiro_tokens)
    if options.director_basic_auth:
        return f"HTTP basic auth: {options.director_basic_auth}"
    return "No authentication (as documented)"


@functools.cache
def _template() -> str:
    return (CONSOLE_DIR / "console.html").read_text(encoding="utf-8")


def json_block(element_id: str, data) -> str:
    # No "<", ">" or "&" at all: "</script>" would end the element early and "<!--" or "<script"
    # change how it is parsed (a seed or path becoming markup); JSON's \u escapes say the same.
    text = json.dumps(data, separators=(",", ":"))
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026")):
        text = text.replace(char, escaped)
    return f'<script id="{element_id}" type="application/json">{text}</script>'


def _top(base: str, options) -> str:
    alone = options.api is not None
    rows = []
    for api in selected(options.api):
        title, link = html.escape(api.title), html.escape(base + api.base_path(alone))
        docs = html.escape(f"{base}/{api.name}")  # docs/site.py: the same in both modes
        creds = html.escape(_credentials(api.name, options))
        rows.append(
            f"<tr><td>{title}</td><td><code>{link}</code></td><td>{creds}</td>"
            f'<td><a href="{docs}/docs">Swagger UI</a> · <a href="{docs}/redoc">Redoc</a> · '
            f'<a href="{docs}/docs/openapi.json">spec</a></td></tr>'
        )
    admin = html.escape(base + "/_twin")
    return (
        f"<h1>apitwin</h1><span>admin API <code>{admin}</code> "
        f'(<a href="{admin}/docs">Swagger UI</a> · <a href="{admin}/redoc">Redoc</a>)</span>'
        "<table><tr><th>API</th><th>Base URL</th><th>Credentials</th><th>Docs</th></tr>"
        f"{''.join(rows)}</table>"
    )


def page(twin, base: str, root_path: str = "") -> str:
    """The console's HTML: its template with the top, and the settings its script reads."""
    options = twin.options
    world = twin.world()
    alone = options.api is not None
    config = {
        "admin": root_path + "/_twin",
        "apis": [
            {
                "name": api.name,
                "root": root_path + api.base_path(alone).rstrip("/"),
                "operations": [op.operation_id for op in operations(api.name)],
            }
            for api in selected(options.api)
        ],
        "world": {"seed": world.seed, "epoch": iso(world.epoch), "world": world.size},
    }
    return (
        _template()
        .replace("@TOP@", _top(base, options))
        .replace("@ASSETS@", html.escape(root_path + CONSOLE_ASSETS))
        .replace("@CONFIG@", json_block("console-config", config))
    )


def install(app, twin) -> None:
    async def landing(request):
        base = str(request.base_url).rstrip("/")
        return HTMLResponse(page(twin, base, request.scope.get("root_path", "")))

    app.add_url_rule("/", "landing", landing, methods=["GET"])
