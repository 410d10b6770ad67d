"""World sizes: `empty` for designing empty states, `large` for pagination (`--world`, reset)."""

from __future__ import annotations

import httpx
import pytest
from support import (
    AT_EPOCH,
    PIPELINE,
    TEST_EPOCH,
    TWIN_URL,
    call,
    get_json,
    in_process,
    read_yaml,
    token,
)

from apitwin import fixtures
from apitwin.apis import SPECS_DIR
from apitwin.app import create_app
from apitwin.core.world import seeded_store
from apitwin.fixtures import director, meiro, ylem
from apitwin.options import WORLD_SIZES, TwinOptions
from apitwin.serve.process import TwinProcess

MEIRO = {"X-Access-Token": "twin-token"}
WHOLE_HISTORY = f"/stats/pipelines/{PIPELINE}/stats/2000-01-01 00:00:00/2026-11-01 00:00:00"


def reset(twin, **body) -> dict:
    answer = twin.post("/_twin/reset", json=body)
    assert answer.status_code == 200, answer.text
    return answer.json()


def meiro_get(twin, path: str, **params) -> dict:
    answer = twin.get("/meiro" + path, headers=MEIRO, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


def workspace_ids(twin, **params) -> list[int]:
    return [row["id"] for row in meiro_get(twin, "/workspaces", **params)["workspaces"]]


def director_page(twin, page: int, per_page: int = 100) -> list[dict]:
    answer = twin.get("/director/api/workflows", params={"page": page, "per_page": per_page})
    assert answer.status_code == 200, answer.text
    return answer.json()


def ylem_runs(twin) -> int:
    stats = get_json(twin, WHOLE_HISTORY, token(twin))
    return stats["num_of_successes"] + stats["num_of_failures"]


def test_every_api_has_every_size_and_the_admin_spec_names_them():
    for module in (ylem, director, meiro):
        assert tuple(module.SIZES) == WORLD_SIZES, module.__name__
    admin = read_yaml(SPECS_DIR / "admin.yaml")
    assert tuple(admin["components"]["schemas"]["WorldSize"]["enum"]) == WORLD_SIZES


def test_an_unknown_size_is_refused_before_anything_is_built(twin):
    answer = twin.post("/_twin/reset", json={"world": "huge"})
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    assert reset(twin)["world"] == "standard"  # the world the twin was started with

    class Unsized:
        seed, size = 1, "huge"

    with pytest.raises(ValueError, match="huge"):
        fixtures.build_world(Unsized())


def test_twins_of_one_seed_in_a_process_copy_one_build_and_never_write_to_it():
    """The kept build is copied, never shared: a write to one world is not in the next one."""
    options = TwinOptions(seed=4242, epoch=TEST_EPOCH)
    builds = seeded_store.cache_info().misses
    with in_process(create_app(options)) as first:
        seeded = workspace_ids(first, limit=100)
        created = first.post("/meiro/workspaces", headers=MEIRO, json={"name": "only in the first"})
        assert created.status_code == 201, created.text
        assert workspace_ids(first, limit=100) == [*seeded, created.json()["workspace"]["id"]]
        reset(first)
        assert workspace_ids(first, limit=100) == seeded
        again = first.post("/meiro/workspaces", headers=MEIRO, json={"name": "only in the first"})
        assert again.status_code == 201, again.text
    with in_process(create_app(options)) as second:
        assert workspace_ids(second, limit=100) == seeded
    # One build of seed 4242 for the two twins and the reset (the cache keeps a few; another
    # test of this process may have built it already).
    assert seeded_store.cache_info().misses - builds <= 1


def test_the_empty_world_keeps_only_what_clients_cannot_create(twin):
    assert reset(twin, world="empty")["world"] == "empty"
    assert workspace_ids(twin) == []
    assert meiro_get(twin, "/workspaces/trash")["trashed_workspaces"] == []
    assert meiro_get(twin, "/workspace_jobs")["workspace_jobs"] == []
    assert director_page(twin, 1) == []
    assert ylem_runs(twin) == 0
    catalog = twin.get("/_twin/catalog").json()
    assert len(catalog["ylem"]["pipelines"]) == 5 and len(catalog["meiro"]["dawgs"]) == 4
    assert "example.ETL" in catalog["director"]["workflows"]
    assert catalog["meiro"]["workspace_ids"] == []


def test_an_empty_world_still_takes_writes_and_reads_them_back(twin):
    reset(twin, world="empty")
    created = twin.post("/meiro/workspaces", headers=MEIRO, json={"name": "first"})
    assert created.status_code == 201, created.text
    assert workspace_ids(twin) == [created.json()["workspace"]["id"]]
    started = twin.post(
        "/director/api/workflows", json={"project": "example", "name": "ETL", "payload": {}}
    )
    assert started.status_code == 201, started.text
    assert [w["id"] for w in director_page(twin, 1)] == [started.json()["id"]]
    twin.post("/_twin/clock", json={"freeze": True, "set": AT_EPOCH})
    assert call(twin, "POST", f"/pipelines/{PIPELINE}/runs/", token(twin)).status_code == 201
    twin.post("/_twin/clock", json={"advance_seconds": 3600})
    later = f"/stats/pipelines/{PIPELINE}/stats/2000-01-01 00:00:00/2026-11-01 02:00:00"
    stats = get_json(twin, later, token(twin))
    assert stats["num_of_successes"] + stats["num_of_failures"] == 1


def test_a_reset_without_a_size_goes_back_to_the_started_one(twin):
    reset(twin, world="empty")
    assert reset(twin)["world"] == "standard"
    assert len(workspace_ids(twin, limit=1000)) > 25


@pytest.fixture(scope="module")
def large(twin_app):
    """One large world for the module (it takes a few seconds to build), standard again after."""

    with httpx.Client(transport=twin_app, base_url=TWIN_URL, timeout=60.0) as client:
        yield client, reset(client, world="large")
        reset(client)


@pytest.mark.slow
def test_the_large_world_has_thousands_of_items_to_page_through(large):
    twin, info = large
    assert info["world"] == "large"
    first = meiro_get(twin, "/workspaces", limit=1000)["workspaces"]
    everything = [row["id"] for row in first]
    while len(first) == 1000:
        first = meiro_get(twin, "/workspaces", limit=1000, offset=len(everything))["workspaces"]
        everything += [row["id"] for row in first]
    assert len(everything) >= 2500 and everything == sorted(set(everything))
    assert len(meiro_get(twin, "/workspace_jobs", limit=1000)["workspace_jobs"]) == 1000
    assert len(director_page(twin, 25)) == 100  # 2,500 instances and more, 100 a page
    assert ylem_runs(twin) > 500  # the documented pipeline alone: every 6 hours for 180 days
    assert len(twin.get("/_twin/catalog").json()["ylem"]["pipelines"]) == 20


@pytest.mark.slow
def test_the_documented_examples_are_in_the_large_world_too(large):
    twin, _ = large
    example = meiro_get(twin, "/workspaces/100")["workspace"]
    assert example["name"] == "example workspace"
    answer = twin.get("/director/api/workflows/29e7ef80-fa1b-4b91-8ccb-ef01a91601db")
    assert answer.status_code == 200, answer.text


@pytest.mark.slow
def test_serve_starts_with_the_world_asked_for():
    with TwinProcess("--world", "empty", "--epoch", "2026-11-01") as server:
        answer = httpx.get(server.url + "/meiro/workspaces", headers=MEIRO, timeout=10)
        assert answer.status_code == 200 and answer.json()["workspaces"] == []
        info = httpx.post(server.url + "/_twin/reset", timeout=10).json()
        assert info["world"] == "empty"  # a reset keeps the size the twin was started with
        output = server.stop()
    assert "empty world" in output
