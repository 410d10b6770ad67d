"""The docs in a real browser: the landing page, each API's Swagger UI and Redoc, "Try it out"
against the twin, the Prefer box, and the static export opened from disk.

Each page's screenshot lands in artifacts/browser/ for a person to look at.
"""

from __future__ import annotations

import json

import httpx
import pytest
from browser import chromium, page, screenshot  # noqa: F401 - pytest fixtures
from support import TEST_SEED, write_static_docs

from apitwin.apis.spec_index import operations

pytestmark = pytest.mark.slow  # starts processes of its own

DOCS = ["ylem", "director", "meiro", "_twin"]
BASE_PATHS = {"ylem": "/ylem/v1", "director": "/director", "meiro": "/meiro", "_twin": "/_twin"}


@pytest.fixture
def twin_url(twin_server) -> str:
    reset = httpx.post(f"{twin_server.url}/_twin/reset", json={"seed": TEST_SEED}, timeout=10)
    assert reset.status_code == 200, reset.text
    return twin_server.url


def _listed_in_swagger_ui(tab) -> tuple[set[str], set[tuple[str, str]]]:
    tab.wait_for_selector(".opblock")
    blocks = tab.eval_on_selector_all(
        ".opblock",
        """els => els.map(e => [e.id,
            e.querySelector('.opblock-summary-method').textContent,
            e.querySelector('[data-path]').getAttribute('data-path')])""",
    )
    ids = {block_id.rsplit("-", 1)[-1] for block_id, _, _ in blocks}
    return ids, {(method, path) for _, method, path in blocks}


def _documented(name: str) -> tuple[set[str], set[tuple[str, str]]]:
    ops = operations(name)
    return {op.operation_id for op in ops}, {(op.method, op.path) for op in ops}


def test_landing_page_lists_every_api_and_reaches_its_docs(page, twin_url):  # noqa: F811
    page.goto(twin_url + "/")
    text = page.inner_text("body")
    for title, base, credential in [
        ("Ylem / Datamin API v1", "/ylem/v1", "twin-client / twin-secret"),
        ("Celery Director API", "/director", "No authentication"),
        ("Meiro Integrations workspaces API", "/meiro", "X-Access-Token: twin-token"),
    ]:
        assert title in text and twin_url + base in text and credential in text
    assert f"{twin_url}/_twin" in text
    screenshot(page, "landing")

    for name in DOCS:  # each API's pages, which the tests below open
        for page_name in ("docs", "redoc"):
            link = f"a[href='{twin_url}/{name}/{page_name}']"
            assert page.locator(link).count() == 1, (name, page_name)
    page.click("tr:has-text('Celery Director API') >> text=Swagger UI")
    page.wait_for_url(f"{twin_url}/director/docs")
    page.problems.assert_clean(twin_url)


# One call per API that needs nothing but what the page pre-authorises with: (operationId,
# parameters to type in, a text the real answer contains).
TRY_IT_OUT = {
    "director": ("list_workflows", {}, '"fullname"'),
    "meiro": ("list_workspaces", {}, '"selection_settings"'),
    "ylem": ("get_pipeline_last_run_stats", {"pipeline_uuid": None}, '"executed_at"'),
    "_twin": ("get_clock", {}, '"frozen"'),
}


def _try_it_out(tab, operation_id: str, params: dict[str, str]) -> tuple[str, str]:
    block = tab.locator(f'.opblock[id$="-{operation_id}"]')
    block.locator(".opblock-summary").first.click()
    block.locator("button.try-out__btn").click()
    for name, value in params.items():
        block.locator(f'tr[data-param-name="{name}"] input').fill(value)
    block.locator("button.execute").click()
    status = block.locator(".live-responses-table .response .response-col_status").first
    status.wait_for()
    body = block.locator(".live-responses-table .response-col_description pre").first
    body.scroll_into_view_if_needed()  # for the screenshot
    return status.inner_text().strip(), body.inner_text()


@pytest.mark.parametrize("name", DOCS)
def test_swagger_ui_lists_every_operation_and_try_it_out_answers_from_the_twin(
    page,  # noqa: F811
    twin_url,
    name,
):
    page.goto(f"{twin_url}/{name}/docs")
    ids, routes = _listed_in_swagger_ui(page)
    assert (ids, routes) == _documented(name)
    # The twin is the first server, so "Try it out" calls it.
    assert page.input_value(".servers select") == twin_url + BASE_PATHS[name]

    operation_id, params, expected = TRY_IT_OUT[name]
    if "pipeline_uuid" in params:
        catalog = httpx.get(f"{twin_url}/_twin/catalog").json()
        params = {"pipeline_uuid": catalog["ylem"]["pipelines"][0]["uuid"]}
    if name in ("ylem", "meiro"):
        # Pre-authorised with the seeded world's credentials (Ylem: a token fetched on load).
        page.wait_for_selector("#twin-auth:has-text('authorized:')")
    status, body = _try_it_out(page, operation_id, params)
    assert status == "200", body
    assert expected in body
    screenshot(page, f"swagger-ui-{name}")
    if name == "director":  # the same page's Prefer box, sent with the next Try it out calls
        _prefer_box_is_sent(page)
    page.problems.assert_clean(twin_url)


def _prefer_box_is_sent(tab) -> None:
    """After a Try it out of list_workflows: its next calls carry what the Prefer box holds."""
    block = tab.locator('.opblock[id$="-list_workflows"]')
    status = block.locator(".live-responses-table .response .response-col_status").first
    tab.fill("#twin-prefer", "code=404")
    block.locator("button.execute").click()
    status.filter(has_text="404").wait_for()
    tab.fill("#twin-prefer", "example=empty")
    block.locator("button.execute").click()
    status.filter(has_text="200").wait_for()
    body = block.locator(".live-responses-table .response-col_description pre").first
    assert json.loads(body.inner_text()) == []
    screenshot(tab, "swagger-ui-prefer")


@pytest.mark.parametrize("name", DOCS)
def test_redoc_lists_every_operation(page, twin_url, name):  # noqa: F811
    page.goto(f"{twin_url}/{name}/redoc")
    page.wait_for_selector("[data-section-id^='operation/']")
    sections = set(
        page.eval_on_selector_all(
            "[data-section-id^='operation/']", "els => els.map(e => e.dataset.sectionId)"
        )
    )
    assert sections == {f"operation/{op}" for op in _documented(name)[0]}
    screenshot(page, f"redoc-{name}")
    page.problems.assert_clean(twin_url)


def test_static_docs_open_from_disk(page, tmp_path):  # noqa: F811
    """The export's pages run from file:// with no server: one API's Swagger UI and Redoc, reached
    from the index. Each API's pages are the same page with its own spec inline, which
    test_docs.py checks for every API (spec, assets on disk, links); each served page renders
    above."""
    out = tmp_path / "docs"
    write_static_docs(out)

    page.goto((out / "index.html").as_uri())
    for name in DOCS:
        assert page.locator(f"a[href='{name}/docs.html']").count() == 1, name
    page.click("a[href='meiro/docs.html']")
    ids, routes = _listed_in_swagger_ui(page)
    assert (ids, routes) == _documented("meiro")
    screenshot(page, "static-swagger-meiro")
    page.click("nav >> text=Redoc")
    page.wait_for_selector("[data-section-id^='operation/']")
    count = page.locator("[data-section-id^='operation/']").count()
    assert count == len(_documented("meiro")[0])
    # Redoc's own object URLs (blob:) may still be loading: let the page finish, so that what
    # the page did is all in before it is checked.
    page.wait_for_load_state("networkidle")
    page.problems.assert_clean("file://")
