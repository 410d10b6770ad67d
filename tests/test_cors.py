"""CORS over real HTTP, and a page on another origin calling the twin in Chromium."""

from __future__ import annotations

import json

import httpx
import pytest
from browser import StaticSite, chromium, page, screenshot  # noqa: F401 - pytest fixtures
from support import TEST_EPOCH, TEST_SEED

from apitwin.serve.process import TwinProcess

OTHER = "http://other.example:3000"


def _preflight(client, path: str, origin: str, method: str, headers: str = "") -> httpx.Response:
    request_headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers:
        request_headers["Access-Control-Request-Headers"] = headers
    return client.options(path, headers=request_headers)


def test_preflight_is_answered_for_any_origin_without_credentials(twin):
    answer = _preflight(twin, "/meiro/workspaces", OTHER, "GET", "x-access-token, x-custom")
    assert answer.status_code == 204
    assert answer.content == b""
    assert answer.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in answer.headers
    assert answer.headers["access-control-allow-methods"] == "GET"
    allowed = [h.strip() for h in answer.headers["access-control-allow-headers"].split(",")]
    assert allowed == ["Authorization", "X-Access-Token", "Content-Type", "Prefer", "x-custom"]
    assert answer.headers["access-control-max-age"] == "600"


def test_preflight_echoes_the_method_even_where_the_path_has_none(twin):
    # The actual request then gets the honest 405, not an opaque CORS failure.
    answer = _preflight(twin, "/director/api/ping", OTHER, "DELETE")
    assert answer.status_code == 204
    assert answer.headers["access-control-allow-methods"] == "DELETE"
    actual = twin.delete("/director/api/ping", headers={"Origin": OTHER})
    assert actual.status_code == 405
    assert actual.headers["access-control-allow-origin"] == "*"


def test_answers_and_errors_carry_the_origin_headers(twin):
    for path, status in [("/director/api/ping", 200), ("/meiro/workspaces", 401)]:
        answer = twin.get(path, headers={"Origin": OTHER})
        assert answer.status_code == status
        assert answer.headers["access-control-allow-origin"] == "*"
        assert "WWW-Authenticate" in answer.headers["access-control-expose-headers"]
        assert "Origin" in answer.headers["vary"]


def test_without_an_origin_no_cors_headers_are_sent(twin):
    answer = twin.get("/director/api/ping")
    assert not [h for h in answer.headers if h.startswith("access-control-")]


def test_private_network_access_is_allowed(twin):
    answer = twin.options(
        "/director/api/ping",
        headers={
            "Origin": "https://app.example.com",
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Private-Network": "true",
        },
    )
    assert answer.headers["access-control-allow-private-network"] == "true"


@pytest.fixture(scope="module")
def credentialed_twin():
    """A twin that allows credentials for one origin (--cors-origin)."""
    with TwinProcess(
        "--seed", str(TEST_SEED), "--epoch", TEST_EPOCH, "--cors-origin", "http://app.test:5173"
    ) as server:
        yield server


def test_configured_origins_get_credentials_and_the_rest_star(credentialed_twin):
    with httpx.Client(base_url=credentialed_twin.url) as client:
        mine = _preflight(client, "/meiro/workspaces", "http://app.test:5173", "POST")
        assert mine.headers["access-control-allow-origin"] == "http://app.test:5173"
        assert mine.headers["access-control-allow-credentials"] == "true"
        answer = client.get("/director/api/ping", headers={"Origin": "http://app.test:5173"})
        assert answer.headers["access-control-allow-origin"] == "http://app.test:5173"
        assert answer.headers["access-control-allow-credentials"] == "true"
        theirs = client.get("/director/api/ping", headers={"Origin": OTHER})
        assert theirs.headers["access-control-allow-origin"] == "*"
        assert "access-control-allow-credentials" not in theirs.headers


@pytest.mark.slow
def test_no_cors_turns_it_off():
    with TwinProcess("--seed", str(TEST_SEED), "--epoch", TEST_EPOCH, "--no-cors") as server:
        answer = httpx.get(f"{server.url}/director/api/ping", headers={"Origin": OTHER})
        assert "access-control-allow-origin" not in answer.headers
        with httpx.Client(base_url=server.url) as client:
            preflight = _preflight(client, "/director/api/ping", OTHER, "GET")
        assert "access-control-allow-origin" not in preflight.headers


# The page runs three calls against the twin and shows what the browser let it read.
_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>frontend</title></head>
<body><h1>A frontend on another origin</h1><pre id="out">running</pre>
<script>
const twin = new URLSearchParams(location.search).get("twin");
async function attempt(name, call) {
  try { return [name, await call()]; } catch (error) { return [name, "blocked: " + error.name]; }
}
(async () => {
  const results = Object.fromEntries(await Promise.all([
    attempt("workspaces", async () => {
      const r = await fetch(twin + "/meiro/workspaces?limit=2",
                            {headers: {"X-Access-Token": "twin-token"}});
      return r.status + " " + (await r.json()).workspaces.length;
    }),
    attempt("challenge", async () => {
      const r = await fetch(twin + "/director/api/workflows", {headers: {"Prefer": "code=401"}});
      return r.status + " " + r.headers.get("WWW-Authenticate");
    }),
    attempt("credentialed", async () => {
      const r = await fetch(twin + "/director/api/ping", {credentials: "include"});
      return r.status + " " + (await r.json()).message;
    }),
  ]));
  document.getElementById("out").textContent = JSON.stringify(results, null, 2);
  document.body.dataset.done = "yes";
})();
</script></body></html>
"""


def _run_page(page, site: StaticSite, twin_url: str) -> dict:  # noqa: F811
    page.goto(f"{site.origin}/frontend.html?twin={twin_url}")
    page.wait_for_selector("body[data-done=yes]")
    return json.loads(page.inner_text("#out"))


@pytest.mark.slow
def test_a_page_on_another_origin_calls_the_twin(page, tmp_path):  # noqa: F811
    (tmp_path / "frontend.html").write_text(_PAGE, encoding="utf-8")
    with (
        StaticSite(tmp_path) as allowed,
        StaticSite(tmp_path) as stranger,
        TwinProcess(
            "--seed", str(TEST_SEED), "--epoch", TEST_EPOCH, "--cors-origin", allowed.origin
        ) as twin,
    ):
        mine = _run_page(page, allowed, twin.url)
        screenshot(page, "cors-frontend")
        theirs = _run_page(page, stranger, twin.url)
        journal = httpx.get(f"{twin.url}/_twin/requests", params={"limit": 50}).json()
    assert mine == {
        "workspaces": "200 2",  # a preflighted call with the Meiro token
        "challenge": '401 Basic realm="Authentication Required"',  # an exposed header read
        "credentialed": "200 pong",  # credentials allowed for the configured origin
    }
    # Any other origin gets `*`, which a browser refuses for a credentialed request.
    assert theirs == {**mine, "credentialed": "blocked: TypeError"}
    preflights = [e for e in journal["requests"] if e["method"] == "OPTIONS"]
    assert preflights and {e["status"] for e in preflights} == {204}
