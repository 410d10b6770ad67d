"""Shared fixtures: a real twin over HTTP on a free loopback port, reset before each test, and a
Redis server for the tests of the shared backends.

The whole suite runs on another backend by hand: `APITWIN_TEST_STORE=file:/tmp/twin.db` or
`=redis://127.0.0.1:6379/0` (or just `file` / `redis`: a throwaway file or redis-server) serves
the shared twin from that store instead of memory.
"""

from __future__ import annotations

import gc
import os
import shutil
import subprocess

import httpx
import pytest
from support import (
    REDIS_SH,
    TEST_EPOCH,
    TEST_SEED,
    TWIN_URL,
    InProcess,
    clear_world,
    missing,
    redis_db,
)

from apitwin.app import create_app
from apitwin.options import TwinOptions
from apitwin.serve.process import TwinProcess


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A Redis for the suite: $APITWIN_TEST_REDIS_URL, else a throwaway redis-server."""
    try:
        import redis  # noqa: F401
    except ImportError:
        missing("the redis client package is not installed")
    given = os.environ.get("APITWIN_TEST_REDIS_URL")
    if given:
        yield given
        return
    if shutil.which("redis-server") is None:
        missing("redis-server is not installed (Debian: apt-get install redis-server)")
    workdir = tmp_path_factory.mktemp("redis")
    started = subprocess.run(
        ["bash", str(REDIS_SH), "start", str(workdir)], capture_output=True, text=True, timeout=30
    )
    assert started.returncode == 0, started.stderr
    try:
        yield started.stdout.strip()
    finally:
        subprocess.run(["bash", str(REDIS_SH), "stop", str(workdir)], timeout=30, check=True)


@pytest.fixture(scope="session")
def test_store(request, tmp_path_factory) -> str:
    """The store of the shared twin: memory unless $APITWIN_TEST_STORE names another."""
    chosen = os.environ.get("APITWIN_TEST_STORE", "memory")
    if chosen == "file":
        return f"file:{tmp_path_factory.mktemp('store') / 'twin.db'}"
    if chosen == "redis":
        chosen = redis_db(request.getfixturevalue("redis_url"), 15)
    if chosen.startswith(("redis://", "rediss://")):
        clear_world(chosen)
    return chosen


@pytest.fixture(scope="session")
def twin_server(test_store):
    """A shared twin in a process of its own, for the tests that need a real socket."""
    with TwinProcess(
        "--seed",
        str(TEST_SEED),
        "--epoch",
        TEST_EPOCH,
        "--validate-responses",
        "--store",
        test_store,
        # Seeding through a shared store on a busy machine can take several seconds.
        ready_timeout=15.0 if test_store == "memory" else 60.0,
    ) as server:
        yield server


@pytest.fixture(scope="session")
def twin_app(test_store):
    """The shared twin, in this process: the default configuration with every response checked
    against the spec (on the same request path as without)."""
    options = TwinOptions(
        seed=TEST_SEED, epoch=TEST_EPOCH, store=test_store, validate_responses=True
    )
    transport = InProcess(create_app(options))
    yield transport
    transport.shutdown()


@pytest.fixture
def twin(twin_app) -> httpx.Client:
    """A client of the shared twin, whose world was just reset to the test seed."""
    with httpx.Client(transport=twin_app, base_url=TWIN_URL, timeout=10.0) as client:
        reset = client.post("/_twin/reset", json={"seed": TEST_SEED})
        assert reset.status_code == 200, reset.text
        yield client


def pytest_collection_modifyitems(items):
    """The tests that start processes of their own first: spread over the xdist workers while the
    quick in-process ones wait, they leave no long test to run alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def pytest_xdist_auto_num_workers(config):
    """`-n auto`: half as many workers again as cores (3 on 2). Many tests wait on processes
    of their own (a Director or a browser starting, a deadline passing): with one worker per
    core, a core idles through each wait."""
    return max(2, (os.cpu_count() or 1) * 3 // 2)


def pytest_configure(config):
    """The cyclic collector, tuned for a test process: tests allocate much and keep little
    (drawn cases, world copies, answers), so the default young-generation threshold (700) runs
    it thousands of times over objects that refcounting frees anyway, and its full passes walk
    every imported module's objects again. The start-up heap is frozen out of its way and the
    young generation collected every 50,000 net allocations (the twin's own processes tune
    theirs in apitwin/__main__.py)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
