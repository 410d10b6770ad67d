"""The HTML of the rendered docs: a Swagger UI page, a Redoc page and an index of APIs.

Pages take their settings (spec URL or inline spec, credentials to pre-authorise with) as one
JSON block, so the same page works served by the twin and opened from disk.
"""

from __future__ import annotations

import html
import json

_BAR_STYLE = """
body { margin: 0; font-family: system-ui, sans-serif; }
nav.twin-bar { position: sticky; top: 0; z-index: 10; display: flex; flex-wrap: wrap;
  gap: 0.4em 1.2em; align-items: center; padding: 0.5em 1em; background: #1f2937; color: #f9fafb;
  font-size: 14px; min-height: 2.2em; }
nav.twin-bar a { color: #93c5fd; }
nav.twin-bar a[aria-current] { color: #f9fafb; font-weight: 600; text-decoration: none; }
nav.twin-bar label { margin-left: auto; }
nav.twin-bar input { width: 22em; font: inherit; padding: 0.15em 0.4em; }
nav.twin-bar .twin-auth { color: #a7f3d0; }
"""


def _json_block(element_id: str, data) -> str:
    # "</" would end the script element early; JSON allows "<\/" for it.
    text = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    return f'<script id="{element_id}" type="application/json">{text}</script>'


def _nav(title: str, links: list[tuple[str, str, bool]], prefer_box: bool) -> str:
    parts = [f"<b>{html.escape(title)}</b>"]
    for label, href, current in links:
        mark = ' aria-current="page"' if current else ""
        parts.append(f'<a href="{html.escape(href)}"{mark}>{html.escape(label)}</a>')
    parts.append('<span class="twin-auth" id="twin-auth"></span>')
    if prefer_box:
        parts.append(
            '<label title="Sent as the Prefer header with every Try it out call: code=404, '
            'example=NAME, dynamic=true, delay=MS">Prefer '
            '<input id="twin-prefer" placeholder="e.g. code=404 or delay=1500"></label>'
        )
    return '<nav class="twin-bar">' + " ".join(parts) + "</nav>"


_SWAGGER_SCRIPT = """
(function () {
  var settings = JSON.parse(document.getElementById("twin-settings").textContent);
  var preferBox = document.getElementById("twin-prefer");
  var authNote = document.getElementById("twin-auth");
  var config = {
    dom_id: "#swagger-ui",
    deepLinking: true,
    layout: "BaseLayout",
    presets: [SwaggerUIBundle.presets.apis],
    displayRequestDuration: true,
    requestInterceptor: function (request) {
      var prefer = preferBox ? preferBox.value.trim() : "";
      if (prefer) { request.headers["Prefer"] = prefer; }
      return request;
    },
    onComplete: function () { setTimeout(preauthorize, 0); }
  };
  if (settings.spec) { config.spec = settings.spec; } else { config.url = settings.specUrl; }
  var ui = SwaggerUIBundle(config);
  window.ui = ui;
  var auth = settings.auth || {};
  if (auth.oauth) { ui.initOAuth(auth.oauth); }

  function note(text) { if (authNote) { authNote.textContent = text; } }

  // Pre-authorise with the seeded world's credentials, so "Try it out" answers real data at once.
  function preauthorize() {
    var done = [];
    Object.keys(auth.apiKey || {}).forEach(function (name) {
      ui.preauthorizeApiKey(name, auth.apiKey[name]); done.push(name);
    });
    Object.keys(auth.basic || {}).forEach(function (name) {
      ui.preauthorizeBasic(name, auth.basic[name][0], auth.basic[name][1]); done.push(name);
    });
    if (done.length) { note("authorized: " + done.join(", ")); }
    var token = auth.bearerToken;
    if (!token) { return; }
    fetch(token.url, {method: token.method || "GET"})
      .then(function (response) {
        if (!response.ok) { throw new Error("token request answered " + response.status); }
        return response.json();
      })
      .then(function (body) {
        token.schemes.forEach(function (name) { ui.preauthorizeApiKey(name, body.access_token); });
        note("authorized: " + token.schemes.join(", ") + " (token of " + token.client + ")");
      })
      .catch(function (error) { note("not authorized: " + error.message); });
  }
})();
"""


def swagger_page(
    *,
    title: str,
    assets: str,
    links: list[tuple[str, str, bool]],
    settings: dict,
    prefer_box: bool,
) -> str:
    ui = f"{assets}/swagger-ui"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)} · Swagger UI · apitwin</title>
<link rel="icon" type="image/png" href="{ui}/favicon-32x32.png">
<link rel="stylesheet" href="{ui}/swagger-ui.css">
<style>{_BAR_STYLE}</style>
</head><body>
{_nav(title, links, prefer_box)}
<div id="swagger-ui"></div>
<script src="{ui}/swagger-ui-bundle.js"></script>
{_json_block("twin-settings", settings)}
<script>{_SWAGGER_SCRIPT}</script>
</body></html>
"""


_REDOC_SCRIPT = """
(function () {
  var settings = JSON.parse(document.getElementById("twin-settings").textContent);
  Redoc.init(settings.spec || settings.specUrl, {
    expandResponses: "200,201",
    scrollYOffset: "nav.twin-bar",
    hideDownloadButton: false
  }, document.getElementById("redoc"));
})();
"""


# Redoc's footer loads Redocly's logo from a CDN; the docs must not reach out (they work
# offline), so the page forbids remote images and Redoc hides the logo when it fails to load.
_NO_REMOTE_IMAGES = (
    '<meta http-equiv="Content-Security-Policy" content="img-src \'self\' data: blob:">'
)


def redoc_page(
    *, title: str, assets: str, links: list[tuple[str, str, bool]], settings: dict
) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(title)} · Redoc · apitwin</title>
{_NO_REMOTE_IMAGES}
<style>{_BAR_STYLE}</style>
</head><body>
{_nav(title, links, prefer_box=False)}
<div id="redoc"></div>
<script src="{assets}/redoc/redoc.standalone.js"></script>
{_json_block("twin-settings", settings)}
<script>{_REDOC_SCRIPT}</script>
</body></html>
"""


def missing_page(title: str, message: str) -> str:
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)} · apitwin</title>
</head><body><h1>{html.escape(title)}</h1><p>{html.escape(message)}</p></body></html>
"""


def index_page(entries: list[dict]) -> str:
    """The static export's start page: entries carry title, version, docs, redoc and spec."""
    rows = "".join(
        f"<tr><td>{html.escape(e['title'])}</td><td>{html.escape(e['version'])}</td>"
        f'<td><a href="{html.escape(e["docs"])}">Swagger UI</a> · '
        f'<a href="{html.escape(e["redoc"])}">Redoc</a> · '
        f'<a href="{html.escape(e["spec"])}">OpenAPI JSON</a></td></tr>'
        for e in entries
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>apitwin · API docs</title>
<style>body {{ font-family: system-ui, sans-serif; margin: 2em; }}
td, th {{ padding: 0.3em 0.8em; text-align: left; }}</style>
</head><body>
<h1>API docs</h1>
<p>Written by <code>apitwin docs</code> from the project's OpenAPI specs; they open from disk.</p>
<table><tr><th>API</th><th>version</th><th>docs</th></tr>{rows}</table>
</body></html>
"""
