"""GET / : a small page listing the APIs, their base URLs and the credentials to use."""

from __future__ import annotations

import html

from starlette.responses import HTMLResponse

from apitwin.apis import selected


def _credentials(api_name: str, options) -> str:
    if api_name == "ylem":
        clients = ", ".join(f"{c} / {s}" for c, s in options.ylem_clients.items())
        return f"OAuth2 client credentials (client_id / client_secret): {clients}"
    if api_name == "meiro":
        return "Header X-Access-Token: " + ", ".join(options.meiro_tokens)
    if options.director_basic_auth:
        return f"HTTP basic auth: {options.director_basic_auth}"
    return "No authentication (as documented)"


def install(app, twin) -> None:
    options = twin.options
    alone = options.api is not None

    async def landing(request):
        base = str(request.base_url).rstrip("/")
        rows = []
        for api in selected(options.api):
            root = base + api.base_path(alone)
            title, link = html.escape(api.title), html.escape(root)
            docs = html.escape(f"{base}/{api.name}")  # docs/site.py: the same in both modes
            creds = html.escape(_credentials(api.name, options))
            rows.append(
                f"<tr><td>{title}</td><td><code>{link}</code></td><td>{creds}</td>"
                f'<td><a href="{docs}/docs">Swagger UI</a> · <a href="{docs}/redoc">Redoc</a> · '
                f'<a href="{docs}/docs/openapi.json">spec</a></td></tr>'
            )
        seed = html.escape(str(twin.world().seed))  # everything put into the page is escaped
        page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>apitwin</title></head>
<body>
<h1>apitwin</h1>
<p>Stateful twins of the APIs below, seeded with seed <code>{seed}</code>.</p>
<table border="1" cellpadding="4">
<tr><th>API</th><th>Base URL</th><th>Credentials</th><th>Docs</th></tr>
{"".join(rows)}
</table>
<h2>Admin API</h2>
<p><code>{html.escape(base)}/_twin</code>: reset, clock, catalog, state, faults, requests
(<a href="{html.escape(base)}/_twin/docs">Swagger UI</a>,
<a href="{html.escape(base)}/_twin/redoc">Redoc</a>,
<a href="{html.escape(base)}/_twin/catalog">catalog</a>,
<a href="{html.escape(base)}/_twin/requests">journal</a>).</p>
<h2>Shaping answers</h2>
<p>Send <code>Prefer: code=404</code>, <code>example=NAME</code>, <code>dynamic=true</code> or
<code>delay=MS</code> on any call (the Swagger UI pages have a Prefer box); add fault rules
(latency, failures, dropped connections) with <code>POST /_twin/faults</code>.</p>
</body></html>"""
        return HTMLResponse(page)

    app.add_url_rule("/", "landing", landing, methods=["GET"])
