"""Core behaviour shared by every API: media types, paths, and reset on a durable store."""

from __future__ import annotations

import time

import pytest
from support import PIPELINE, token

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


@pytest.mark.parametrize(
    ("method", "path", "native"),
    [
        ("POST", "/ylem/v1/pipelines/{pipeline}/runs", {"code": 404, "message": "Not Found"}),
        (
            "GET",
            "/director/api/workflows/",
            {
                "error": "The requested URL was not found on the server. If you entered the URL "
                "manually please check your spelling and try again."
            },
        ),
        ("GET", "/meiro/workspaces/", {"message": "Not Found"}),
    ],
)
def test_a_slash_added_or_dropped_is_a_404_not_a_redirect(twin, method, path, native):
    """G7: the real routers (gorilla/mux, Flask) do not redirect, so a client that forgets
    Ylem's trailing slash must fail against the twin as it would in production."""
    headers = {"X-Access-Token": "twin-token", "Authorization": f"Bearer {token(twin)}"}
    answer = twin.request(method, path.format(pipeline=PIPELINE), headers=headers)
    assert answer.status_code == 404, answer.headers
    assert "location" not in answer.headers
    assert native.items() <= answer.json().items()
