"""The docs routes over real HTTP, the single-API mode, and `apitwin docs --out`."""

from __future__ import annotations

import json
import re

import httpx
import pytest
from support import TEST_EPOCH, TEST_SEED, TWIN_URL, served_in_thread, write_static_docs

from apitwin.apis.spec_index import load_spec, spec_file
from apitwin.docs import assets as docs_assets
from apitwin.options import TwinOptions


def _settings(page: str) -> dict:
    block = re.search(r'<script id="twin-settings" type="application/json">(.*?)</script>', page)
    return json.loads(block.group(1))


def test_served_spec_puts_the_twin_first_and_its_token_url_at_the_twin(twin):
    spec = twin.get("/ylem/docs/openapi.json").json()
    assert spec["servers"][0]["url"] == f"{TWIN_URL}/ylem/v1"
    assert [s["url"] for s in spec["servers"][1:]] == ["https://api.datamin.io/v1"]
    flow = spec["components"]["securitySchemes"]["ylem_oauth2"]["flows"]["clientCredentials"]
    assert flow["tokenUrl"] == f"{TWIN_URL}/ylem/v1/oauth/token"
    # Apart from servers and token URLs, the docs show the spec file as it is.
    original = load_spec(spec_file("ylem"))
    assert spec["paths"] == original["paths"]
    assert spec["info"] == original["info"]


@pytest.mark.parametrize(
    ("name", "base", "documented"),
    [
        ("director", "/director", ["http://{host}"]),
        ("meiro", "/meiro", ["https://api.{instance_name}.meiro.io"]),
        ("_twin", "/_twin", []),
    ],
)
def test_every_served_spec_has_the_twin_first(twin, name, base, documented):
    servers = [s["url"] for s in twin.get(f"/{name}/docs/openapi.json").json()["servers"]]
    assert servers == [TWIN_URL + base, *documented]


def test_swagger_pages_pre_authorise_with_the_seeded_world(twin):
    meiro = _settings(twin.get("/meiro/docs").text)
    assert meiro == {
        "specUrl": "/meiro/docs/openapi.json",
        "auth": {"apiKey": {"access_token": "twin-token"}},
    }
    ylem = _settings(twin.get("/ylem/docs").text)["auth"]
    assert ylem["oauth"] == {"clientId": "twin-client", "clientSecret": "twin-secret"}
    token = twin.get(ylem["bearerToken"]["url"])  # what the page fetches on load
    assert token.status_code == 200 and token.json()["token_type"] == "Bearer"
    assert ylem["bearerToken"]["schemes"] == ["ylem_bearer"]
    assert _settings(twin.get("/director/docs").text)["auth"] == {}  # Director is open


def test_pages_load_every_asset_from_the_twin(twin):
    for path in ("/director/docs", "/director/redoc"):
        page = twin.get(path)
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assert sources and all(s.startswith("/") for s in sources), sources
        for source in sources:
            assert twin.get(source).status_code == 200, source


def test_assets(twin):
    bundle = twin.get("/_twin/assets/swagger-ui/swagger-ui-bundle.js")
    assert bundle.status_code == 200
    assert bundle.content == (docs_assets.swagger_ui_dir() / "swagger-ui-bundle.js").read_bytes()
    redoc = twin.get("/_twin/assets/redoc/redoc.standalone.js")
    assert redoc.status_code == 200
    assert redoc.headers["content-type"].startswith("text/javascript")
    for missing in ("swagger-ui/index.html", "swagger-ui/../../../pyproject.toml", "redoc/x.js"):
        assert twin.get(f"/_twin/assets/{missing}").status_code == 404


def test_docs_are_not_journaled_and_unknown_docs_fall_through(twin):
    twin.get("/meiro/docs")
    twin.get("/_twin/assets/swagger-ui/swagger-ui.css")
    paths = [e["path"] for e in twin.get("/_twin/requests").json()["requests"]]
    assert not [p for p in paths if "/docs" in p or "/assets/" in p]
    assert twin.get("/nothing/docs").status_code == 404
    assert twin.post("/meiro/docs").status_code in (404, 405)


def test_landing_page_links_the_docs(twin):
    page = twin.get("/").text
    for name in ("ylem", "director", "meiro", "_twin"):
        assert f'/{name}/docs"' in page and f'/{name}/redoc"' in page


def test_one_api_served_alone_keeps_its_docs_urls():
    alone = TwinOptions(api="meiro", seed=TEST_SEED, epoch=TEST_EPOCH)
    with served_in_thread(alone) as url:
        spec = httpx.get(f"{url}/meiro/docs/openapi.json").json()
        assert spec["servers"][0]["url"] == url  # Meiro's documented root
        assert httpx.get(f"{url}/meiro/docs").status_code == 200
        assert httpx.get(f"{url}/director/docs").status_code == 404
        listed = httpx.get(f"{url}/workspaces", headers={"X-Access-Token": "twin-token"})
        assert listed.status_code == 200


def test_the_served_redoc_is_the_pinned_bundle(twin):
    from apitwin.docs import build as docs_build

    assert docs_assets.redoc_version() == docs_build.REDOC_VERSION
    served = twin.get("/_twin/assets/redoc/redoc.standalone.js")
    assert served.content == docs_assets.redoc_bundle().read_bytes()


@pytest.mark.slow
def test_static_docs_hold_every_spec_inline(tmp_path):
    out = tmp_path / "site"
    write_static_docs(out)
    for name in ("ylem", "director", "meiro", "_twin"):
        spec = load_spec(spec_file(name))
        assert json.loads((out / name / "openapi.json").read_text()) == spec
        for page in ("docs.html", "redoc.html"):
            html = (out / name / page).read_text()
            assert _settings(html) == {"spec": spec}
            sources = re.findall(r'(?:src|href)="([^"]+)"', html)
            assert all(not s.startswith(("http:", "https:", "/")) for s in sources), sources
            for source in sources:
                assert (out / name / source).exists(), source
    index = (out / "index.html").read_text()
    assert index.count("docs.html") == 4 and index.count("redoc.html") == 4
