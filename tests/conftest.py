"""Shared fixtures: a real twin over HTTP on a free loopback port, reset before each test."""

from __future__ import annotations

import httpx
import pytest

from server.process import TwinProcess

# A fixed epoch makes the seeded world the same on every day the tests run.
TEST_EPOCH = "2026-11-01"
TEST_SEED = 1337


@pytest.fixture(scope="session")
def twin_server():
    with TwinProcess(
        "--seed", str(TEST_SEED), "--epoch", TEST_EPOCH, "--validate-responses"
    ) as server:
        yield server


@pytest.fixture
def twin(twin_server) -> httpx.Client:
    """An HTTP client on the shared twin, whose world was just reset to the test seed."""
    with httpx.Client(base_url=twin_server.url, timeout=10.0) as client:
        reset = client.post("/_twin/reset", json={"seed": TEST_SEED})
        assert reset.status_code == 200, reset.text
        yield client
