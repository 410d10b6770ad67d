"""The console at / in Chromium, used as a person would: watch a request arrive and copy it as
curl, move the clock and see a workflow finish, add a 503 fault and see it counted, reset the
world and see the writes gone, and give the admin token once when the twin asks for one.

Each step's screenshot lands in artifacts/browser/console-*.png.
"""

from __future__ import annotations

import time

import httpx
import pytest
from browser import CHROMIUM_FLAGS, PAGE_TIMEOUT_MS, PageProblems, chromium, screenshot  # noqa: F401
from support import TEST_EPOCH, TEST_SEED, served_in_thread

from apitwin.options import TwinOptions
from apitwin.serve.process import TwinProcess

pytestmark = pytest.mark.slow  # starts processes of its own

MEIRO = {"X-Access-Token": "twin-token"}
ADMIN_TOKEN = "console-test-token"


@pytest.fixture(scope="module")
def served():
    """A twin of this module's own (its URL): the tests move its clock and fill its journal."""
    with served_in_thread(TwinOptions(seed=TEST_SEED, epoch=TEST_EPOCH)) as url:
        yield url


@pytest.fixture
def console(chromium, served):  # noqa: F811
    """The console page, open on a fresh world, with clipboard access for "Copy as curl"."""
    assert httpx.post(f"{served}/_twin/reset", json={}, timeout=10).status_code == 200
    context = chromium.new_context(
        viewport={"width": 1280, "height": 800},
        permissions=["clipboard-read", "clipboard-write"],
    )
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    tab = context.new_page()
    tab.problems = PageProblems(tab)
    started = time.perf_counter()
    tab.goto(served + "/")
    tab.locator("#clock-now").filter(has_text="-").wait_for()
    tab.load_seconds = time.perf_counter() - started
    try:
        yield tab
    finally:
        context.close()


def _row(tab, text: str):
    return tab.locator("#journal tbody tr", has_text=text).first


def test_a_request_appears_opens_and_copies_as_curl(console, served):
    answer = httpx.get(f"{served}/meiro/workspaces", headers=MEIRO, params={"limit": 3})
    assert answer.status_code == 200
    row = _row(console, "/meiro/workspaces?limit=3")
    row.wait_for()
    assert row.locator("td.status").inner_text() == "200"
    # The console's own calls (the admin API, its workflow list) are hidden by default.
    assert console.locator("#journal tbody tr", has_text="per_page=8").count() == 0
    assert console.locator("#journal tbody tr", has_text="/_twin/").count() == 0
    row.click()
    curl = console.locator("#entry-curl")
    curl.filter(has_text="curl").wait_for()
    text = curl.inner_text()
    assert text.startswith("curl -H") and f"'{served}/meiro/workspaces?limit=3'" in text
    assert "x-access-token: <redacted>" in text and "twin-token" not in text
    console.click("#copy-curl")
    console.locator("#message", has_text="copied").wait_for()
    assert console.evaluate("navigator.clipboard.readText()") == text
    screenshot(console, "console-request")
    console.problems.assert_clean(served)


def test_a_journal_path_stays_text(console, served):
    evil = "/meiro/<img src=x onerror=window.pwned=1>"
    httpx.get(served + evil, headers=MEIRO)
    row = _row(console, "<img src=x")
    row.wait_for()
    assert console.locator("#journal img").count() == 0
    assert console.evaluate("window.pwned") is None


def test_advancing_the_clock_finishes_a_workflow(console, served):
    console.click("#freeze")
    console.locator("#clock-state", has_text="frozen").wait_for()
    body = {"project": "example", "name": "ETL", "payload": {}}
    run = httpx.post(f"{served}/director/api/workflows", json=body).json()
    assert run["status"] == "pending"
    console.click("#refresh-workflows")
    mine = console.locator("#workflows tbody tr", has_text=run["id"][:8])
    mine.locator("td.status", has_text="pending").wait_for()
    before = console.inner_text("#clock-now")
    console.fill("#advance-amount", "2")
    console.select_option("#advance-unit", "3600")
    console.click("#advance")
    mine.locator("td.status").filter(has_text="success").or_(
        mine.locator("td.status").filter(has_text="error")
    ).wait_for()
    assert console.inner_text("#clock-now") != before
    screenshot(console, "console-clock")
    console.click("#unfreeze")
    console.locator("#clock-state", has_text="running").wait_for()


def test_a_503_fault_rule_is_added_and_counted(console, served):
    console.select_option("#fault-api", "meiro")
    console.select_option("#fault-operation", "list_workspaces")
    console.select_option("#fault-effect", "status")
    console.fill("#fault-value", "503")
    console.click("#add-fault")
    rule = console.locator("#fault-rules tbody tr", has_text="list_workspaces")
    rule.wait_for()
    for _ in range(2):
        failed = httpx.get(f"{served}/meiro/workspaces", headers=MEIRO)
        assert failed.status_code == 503
    rule.locator("td.fired", has_text="2").wait_for()  # the page polls the rules
    _row(console, "/meiro/workspaces").locator(".tag.fault").wait_for()
    screenshot(console, "console-faults")
    rule.locator("button", has_text="Remove").click()
    rule.wait_for(state="detached")
    assert httpx.get(f"{served}/meiro/workspaces", headers=MEIRO).status_code == 200


def test_a_reset_takes_the_writes_away(console, served):
    made = httpx.post(f"{served}/meiro/workspaces", json={"name": "console write"}, headers=MEIRO)
    assert made.status_code == 201
    _row(console, "POST").wait_for()
    console.select_option("#reset-size", "empty")
    console.click("#reset")
    console.locator("#world-size", has_text="empty").wait_for()
    _row(console, "POST").wait_for(state="detached")  # the journal is part of the world
    listed = httpx.get(f"{served}/meiro/workspaces", headers=MEIRO).json()["workspaces"]
    assert "console write" not in {w["name"] for w in listed}
    screenshot(console, "console-reset")
    console.select_option("#reset-size", "standard")
    console.click("#reset")
    console.locator("#world-size", has_text="standard").wait_for()


def test_a_session_is_listed_and_dropped(console, served):
    headers = {**MEIRO, "X-Twin-Session": "console-sess"}
    assert httpx.get(f"{served}/meiro/workspaces", headers=headers).status_code == 200
    row = console.locator("#sessions tbody tr", has_text="console-sess")
    row.wait_for()
    row.locator("button", has_text="Drop").click()
    row.wait_for(state="detached")
    listed = httpx.get(f"{served}/_twin/sessions").json()["sessions"]
    assert "console-sess" not in {s["name"] for s in listed}


def test_a_full_journal_loads_fast(console, served):
    with httpx.Client(base_url=served, headers=MEIRO) as client:
        for n in range(520):  # past the journal's bound (500)
            client.get("/meiro/workspaces", params={"n": n})
    started = time.perf_counter()
    console.reload()
    _row(console, "n=519").wait_for()
    seconds = time.perf_counter() - started
    assert console.locator("#journal tbody tr").count() <= 200
    print(f"console with a full journal: shown in {seconds:.2f} s")
    assert seconds < 5


def test_with_an_admin_token_the_page_asks_once(chromium):  # noqa: F811
    with TwinProcess("--seed", str(TEST_SEED), "--admin-token", ADMIN_TOKEN) as twin:
        context = chromium.new_context(viewport={"width": 1280, "height": 800})
        context.set_default_timeout(PAGE_TIMEOUT_MS)
        tab = context.new_page()
        tab.problems = PageProblems(tab)
        asked = []
        tab.on("response", lambda r: asked.append(r.url) if r.status == 401 else None)
        try:
            tab.goto(twin.url + "/")
            tab.locator("#token-dialog").wait_for()
            screenshot(tab, "console-token")
            tab.fill("#token-input", ADMIN_TOKEN)
            tab.click("#token-form button")
            tab.locator("#token-dialog").wait_for(state="hidden")
            tab.locator("#clock-now").filter(has_text="-").wait_for()
            first = len(asked)
            tab.click("#freeze")
            tab.locator("#clock-state", has_text="frozen").wait_for()
            tab.reload()  # kept for the tab: not asked again
            tab.locator("#clock-state", has_text="frozen").wait_for()
            time.sleep(2)  # a polling round or more
            assert tab.locator("#token-dialog").is_hidden()
            assert len(asked) == first
            assert tab.evaluate("sessionStorage.getItem('apitwin-admin-token')") == ADMIN_TOKEN
        finally:
            context.close()
        tab.problems.errors = [e for e in tab.problems.errors if "401" not in e]
