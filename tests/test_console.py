"""The console at / without a browser: its page and files are served (also when the admin API
needs a token), what the page embeds is escaped, its script never writes markup from data, the
admin API it calls still refuses other origins, and the journal it reads stays bounded."""

from __future__ import annotations

import json
import re
import time

from support import TEST_EPOCH, in_process

from apitwin.app import create_app
from apitwin.docs import landing
from apitwin.options import TwinOptions
from apitwin.pipeline.journal import JOURNAL


def _config(page: str) -> dict:
    found = re.search(r'<script id="console-config" type="application/json">(.*?)</script>', page)
    assert found, page[:500]
    return json.loads(found.group(1))


def test_the_console_is_served_with_its_files(twin):
    page = twin.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "@" + "TOP@" not in page.text and "@CONFIG@" not in page.text
    for name in ("Ylem / Datamin API v1", "twin-client / twin-secret", "/meiro/docs"):
        assert name in page.text
    config = _config(page.text)
    assert config["admin"] == "/_twin"
    assert {api["name"] for api in config["apis"]} == {"ylem", "director", "meiro"}
    meiro = next(api for api in config["apis"] if api["name"] == "meiro")
    assert meiro["root"] == "/meiro" and "list_workspaces" in meiro["operations"]
    for name, kind in (("console.js", "text/javascript"), ("console.css", "text/css")):
        asset = twin.get(f"/_twin/assets/console/{name}")
        assert asset.status_code == 200 and asset.headers["content-type"].startswith(kind)
    assert twin.get("/_twin/assets/console/../landing.py").status_code == 404
    # No file of the page loads from the network.
    assert not re.search(r'(src|href)="https?://', landing._template())


def test_the_embedded_settings_cannot_end_their_script_element():
    block = landing.json_block("x", {"path": "</script><img src=x onerror=alert(1)>"})
    assert block.count("<") == 2 and block.endswith("</script>")  # its own tags only
    inner = block[len('<script id="x" type="application/json">') : -len("</script>")]
    assert json.loads(inner)["path"].startswith("</script>")


def test_the_script_puts_data_in_as_text_only():
    script = (landing.CONSOLE_DIR / "console.js").read_text()
    for markup_sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write"):
        assert markup_sink not in script, markup_sink
    assert "textContent" in script


def test_with_an_admin_token_the_page_loads_and_the_api_asks_for_it():
    options = TwinOptions(seed=3, epoch=TEST_EPOCH, admin_token="sekret")
    with in_process(create_app(options)) as client:
        assert client.get("/").status_code == 200
        assert client.get("/_twin/assets/console/console.js").status_code == 200
        refused = client.get("/_twin/requests")
        assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
        given = client.get("/_twin/requests", headers={"X-Twin-Admin-Token": "sekret"})
        assert given.status_code == 200


def test_the_admin_api_still_refuses_a_foreign_origin(twin):
    own = twin.get("/_twin/clock", headers={"Origin": "http://127.0.0.1:8000"})
    assert own.status_code == 200
    foreign = twin.post("/_twin/reset", headers={"Origin": "http://evil.example"}, json={})
    assert foreign.status_code == 403


def test_a_long_journal_is_read_in_pages_of_its_limit():
    options = TwinOptions(seed=3, epoch=TEST_EPOCH, journal_size=10_000)
    app = create_app(options)
    with in_process(app) as client:
        client.get("/director/api/ping", params={"n": 0})
        world = app.twin.world()
        entry = world.store.log_read(JOURNAL)[-1]
        for n in range(1, 10_000):  # as 10,000 requests would, without their 25 s
            world.store.log_append(JOURNAL, {**entry, "query": f"n={n}"}, options.journal_size)
        started = time.perf_counter()
        answer = client.get("/_twin/requests", params={"limit": 200})
        seconds = time.perf_counter() - started
        entries = answer.json()["requests"]
        assert len(entries) == 200 and entries[0]["query"] == "n=9999"
        print(f"GET /_twin/requests?limit=200 of a 10,000-entry journal: {seconds * 1000:.0f} ms")
        assert seconds < 2
