"""Headless Chromium for the browser tests: Debian's `chromium` driven by Playwright.

Playwright cannot download its own browsers here, so it drives the system Chromium
(`executable_path`). Without Chromium (or Playwright) the browser tests skip with the reason,
unless `CI=true`, where they fail: CI installs both through `.ci/run`. Screenshots go to
`artifacts/browser/` (gitignored), one per page, for a person to look at.
"""

from __future__ import annotations

import http.server
import os
import pathlib
import shutil
import threading

import pytest

ARTIFACTS = pathlib.Path(__file__).resolve().parent.parent / "artifacts" / "browser"
# Without the background-networking flags Chromium keeps trying to reach Google's hosts, which this
# machine's closed network refuses; the rest keep a root, GPU-less, headless run quiet.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGE_TIMEOUT_MS = 20_000


def chromium_path() -> str | None:
    for candidate in (os.environ.get("APITWIN_CHROMIUM"), "chromium", "/usr/bin/chromium"):
        if candidate and (found := shutil.which(candidate)):
            return found
    return None


def _unavailable(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"browser tests need {reason} in CI (.ci/run installs it)")
    pytest.skip(f"{reason} not installed: `bash .ci/run` installs it")


# Module scope: each test module imports this fixture, and two Playwright sessions cannot be
# open at once in one thread, so each module's browser is closed before the next one starts.
@pytest.fixture(scope="module")
def chromium():
    """A launched headless Chromium (Playwright Browser), closed after the module."""
    executable = chromium_path()
    if executable is None:
        _unavailable("Debian's chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright Python package")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield browser
        finally:
            browser.close()


class PageProblems:
    """What a page did wrong: script errors, failed requests, requests that left the allowed
    origins (docs must work offline). A request the page's own CSP blocked never left."""

    def __init__(self, page) -> None:
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("pageerror", lambda error: self.errors.append(f"script error: {error}"))
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("requestfailed", self._failed)

    def _failed(self, request) -> None:
        if request.failure in ("csp", "net::ERR_BLOCKED_BY_CSP"):
            self.requests.remove(request.url)
        else:
            self.errors.append(f"request failed: {request.url} {request.failure}")

    def assert_clean(self, *origins: str) -> None:
        local = ("data:", "blob:", "about:", *origins)
        offsite = [url for url in self.requests if not url.startswith(local)]
        assert not self.errors, "\n".join(self.errors)
        assert not offsite, f"requests outside {origins}: {offsite}"


@pytest.fixture
def page(chromium):
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    page = context.new_page()
    page.problems = PageProblems(page)
    try:
        yield page
    finally:
        context.close()


def screenshot(page, name: str) -> pathlib.Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


class StaticSite:
    """Serves one directory on a free loopback port: a page on an origin other than the twin's."""

    def __init__(self, directory: pathlib.Path) -> None:
        handler = _quiet_handler(str(directory))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> StaticSite:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def _quiet_handler(directory: str):
    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=directory, **kwargs)

        def log_message(self, *args) -> None:  # keep pytest output clean
            pass

    return Handler
