"""What the tests share: the seed and epoch of the test worlds, the Redis helpers, the Ylem
client's calls, and `apitwin docs` as a user runs it. Test modules import from here, never from
each other or from conftest.py."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from apitwin.apis import SPECS_DIR
from apitwin.app import create_app
from apitwin.options import TwinOptions


def read_yaml(path: Path):
    """A YAML file as data, as `yaml.safe_load` gives it, parsed by libyaml: test modules parse
    the specs when they are collected, in every xdist worker, and the pure-Python parser takes
    ten times as long."""
    return yaml.load(Path(path).read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)


# A fixed epoch makes the seeded world the same on every day the tests run.
TEST_EPOCH = "2026-11-01"
TEST_SEED = 1337
# The in-process twin's address as its clients see it (the Host its answers are built for).
TWIN_URL = "http://127.0.0.1:8000"
ROOT = Path(__file__).resolve().parent.parent
REDIS_SH = ROOT / ".ci" / "redis.sh"
IN_CI = os.environ.get("CI") == "true"


def missing(reason: str):
    """Skip on a developer machine, fail in CI: CI must run the Redis backend's tests."""
    if IN_CI:
        pytest.fail(f"{reason} (CI=true requires it)")
    pytest.skip(reason)


def redis_db(url: str, db: int) -> str:
    """The same Redis server, another database: twins of different tests never share a world
    (each uses the store's default prefix)."""
    head, _, last = url.rstrip("/").rpartition("/")
    return f"{head}/{db}" if last.isdigit() and "://" in head else f"{url.rstrip('/')}/{db}"


def clear_world(url: str) -> None:
    """Drops the world a twin left in a shared store (default prefix), so the next starts anew."""
    from apitwin.core.store import open_store

    store = open_store(url)
    try:
        store.clear()
    finally:
        store.close()


# --- Ylem ----------------------------------------------------------------------------------

BASE = "/ylem/v1"
SPEC = read_yaml(SPECS_DIR / "ylem.yaml")
# The spec's documented pipeline and the run example's task, both part of the seeded world.
PIPELINE = "5c0b8a3e-7f4d-4e9a-8c21-1d6f3b2a9e40"
FIRST_TASK = "449c3c47-427e-465e-b1d2-0bf257b714e4"
LOG_EXAMPLE_TASK = "eff48172-2e75-4229-aff9-6c5d658db248"
UNKNOWN = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
CREDENTIALS = {
    "client_id": "twin-client",
    "client_secret": "twin-secret",
    "grant_type": "client_credentials",
}
# What a run of `apitwin conform` / `apitwin diff` sends to a twin it did not start, per API.
CLI_CREDENTIALS = {
    "ylem": ("--client-id", "twin-client", "--client-secret", "twin-secret"),
    "director": (),
    "meiro": ("--token", "twin-token"),
}
ZERO_DATE = "0001-01-01 00:00:00"
EPOCH = "2026-11-01 00:00:00"  # tests/conftest.py's epoch: the seeded history ends here
AT_EPOCH = "2026-11-01T00:00:00Z"


def set_clock(twin, instant: str) -> None:
    """Freezes the twin's clock at `instant` (ISO 8601, UTC)."""
    answer = twin.post("/_twin/clock", json={"freeze": True, "set": instant})
    assert answer.status_code == 200, answer.text


def advance(twin, seconds: float) -> None:
    answer = twin.post("/_twin/clock", json={"advance_seconds": seconds})
    assert answer.status_code == 200, answer.text


def token(twin, scope: str | None = None) -> str:
    params = dict(CREDENTIALS, **({"scope": scope} if scope is not None else {}))
    answer = twin.post(f"{BASE}/oauth/token", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def call(twin, method: str, path: str, access_token: str | None):
    headers = {"Authorization": f"Bearer {access_token}"} if access_token else {}
    return twin.request(method, BASE + path, headers=headers)


def get_json(twin, path: str, access_token: str):
    answer = call(twin, "GET", path, access_token)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    return answer.json()


def catalog(twin) -> dict:
    answer = twin.get("/_twin/catalog")
    assert answer.status_code == 200, answer.text
    return answer.json()["ylem"]


def pipeline(twin, uuid: str) -> dict:
    return next(p for p in catalog(twin)["pipelines"] if p["uuid"] == uuid)


def decoded(output: str):
    """A log row's output: base64 of JSON, not encrypted (decision Y22)."""
    return json.loads(base64.b64decode(output, validate=True))


# the seeded world


# --- docs ------------------------------------------------------------------------------------


def write_static_docs(out) -> None:
    """`apitwin docs --out OUT`, as a user runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "apitwin", "docs", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


# --- the twin in this process --------------------------------------------------------------


class InProcess(httpx.BaseTransport):
    """A sync httpx transport that serves requests from an ASGI app in this process, on an event
    loop of its own thread: the tests that need no process of their own skip the socket, the
    uvicorn worker and the second interpreter, and still call the app as a client would."""

    def __init__(self, app, timeout: float = 30.0) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._asgi = httpx.ASGITransport(app=app, client=("127.0.0.1", 50000))
        self._timeout = timeout

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # A copy whose body can be read from async code (the sync request's stream cannot).
        copied = httpx.Request(
            request.method, request.url, headers=request.headers, content=request.read()
        )

        async def call() -> tuple[int, list, bytes]:
            response = await self._asgi.handle_async_request(copied)
            return response.status_code, response.headers.raw, await response.aread()

        future = asyncio.run_coroutine_threadsafe(call(), self._loop)
        status, headers, body = future.result(self._timeout)
        return httpx.Response(status, headers=headers, content=body, request=request)

    def close(self) -> None:
        """Called by every client that closes: the app outlives its clients."""

    def shutdown(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)


@contextlib.contextmanager
def in_process(app, **client) -> Iterator[httpx.Client]:
    """A client of an app served in this process (InProcess), which is stopped afterwards."""
    transport = InProcess(app)
    try:
        with httpx.Client(transport=transport, base_url=TWIN_URL, timeout=30.0, **client) as c:
            yield c
    finally:
        transport.shutdown()


@contextlib.contextmanager
def served_in_thread(options: TwinOptions) -> Iterator[str]:
    """A twin of these options on uvicorn in a thread of this process, on a free loopback port:
    its URL. For tests that need a twin to run against but not a process of its own (a proxy,
    a diff, a user's suite, a conformance run): a twin process costs more CPU than all of such
    a test's requests."""
    import socket
    import time

    import uvicorn

    app = create_app(options)
    sock = socket.create_server(("127.0.0.1", 0))  # bound here: no other process can take it
    server = uvicorn.Server(uvicorn.Config(app, log_level="error", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the twin did not start"
            thread.join(timeout=0.02)  # returns at once if the server thread ended
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
