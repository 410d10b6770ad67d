"""Core behaviour shared by every API: media types, and reset on a durable store."""

from __future__ import annotations

import time

from apitwin.core.twin import Twin
from apitwin.options import TwinOptions


def test_an_upper_case_json_media_type_is_json(twin):
    response = twin.post(
        "/meiro/workspaces",
        content=b'{"name": "shouting client"}',
        headers={"Content-Type": "APPLICATION/JSON; charset=UTF-8", "X-Access-Token": "twin-token"},
    )
    assert response.status_code == 201, response.text
    created = response.json()["workspace"]
    again = twin.get(f"/meiro/workspaces/{created['id']}", headers={"X-Access-Token": "twin-token"})
    assert again.json()["workspace"]["name"] == "shouting client"


def test_a_file_store_reset_is_one_transaction(tmp_path):
    path = tmp_path / "world.db"
    options = TwinOptions(store=f"file:{path}", epoch="2026-11-01")
    twin = Twin(options)
    world = twin.world()
    assert world.seed == options.seed
    started = time.perf_counter()
    world.reset(7)
    elapsed = time.perf_counter() - started
    print(f"file-store reset: {elapsed:.2f} s")
    assert world.seed == 7
    # Reopened from disk: the whole new world is there.
    reopened = Twin(TwinOptions(store=f"file:{path}", epoch="2026-11-01")).world()
    assert reopened.seed == 7
    assert reopened.store.dump() == world.store.dump()
