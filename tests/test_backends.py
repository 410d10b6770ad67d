"""One behaviour suite, run against a real twin on each backend (memory, file, Redis): what a
client writes it reads back (Meiro workspaces and a job through its lifecycle, a Ylem run and the
statistics computed from it, a Director workflow), reset, the clock, export and import, and for
the shared backends, a world that outlives the server.

The shared backends are served by a process of their own, which a test restarts; memory, whose
world lives as long as its process, by an app in this process (a fraction of the start-up)."""

from __future__ import annotations

import contextlib

import httpx
import pytest
from support import (
    CREDENTIALS,
    PIPELINE,
    TEST_EPOCH,
    TEST_SEED,
    clear_world,
    in_process,
    redis_db,
)

from apitwin.app import create_app
from apitwin.options import TwinOptions
from apitwin.serve.process import TwinProcess

pytestmark = pytest.mark.slow  # starts processes of its own

BACKENDS = ["memory", "file", "redis"]
M = "/meiro"
Y = "/ylem/v1"
D = "/director/api"
MEIRO = {"X-Access-Token": "twin-token"}
NOON = "2026-11-20T12:00:00Z"
# Longer than any Meiro queue wait plus run time the twin draws (tests/test_meiro_jobs.py).
PAST_THE_END = 400
REDIS_DB = 1  # conftest's shared twin uses 15; tests/test_scaleout.py 2


class Served:
    """A twin on one backend that a test can restart on the same store, and its client."""

    def __init__(self, backend: str, store: str) -> None:
        self.backend, self.store = backend, store
        self.process: TwinProcess | None = None
        self.client: httpx.Client | None = None
        self._serving = contextlib.ExitStack()
        self.start()

    def start(self) -> None:
        if self.store == "memory":
            options = TwinOptions(seed=TEST_SEED, epoch=TEST_EPOCH, store=self.store)
            self.client = self._serving.enter_context(in_process(create_app(options)))
            return
        self.process = TwinProcess(
            "--seed",
            str(TEST_SEED),
            "--epoch",
            TEST_EPOCH,
            "--store",
            self.store,
            ready_timeout=60.0,
        ).start()
        self._serving.callback(self.process.stop)
        # One client while the process lives: a new httpx client costs tens of ms of CPU.
        self.client = self._serving.enter_context(
            httpx.Client(base_url=self.process.url, timeout=30.0)
        )

    def restart(self) -> None:
        self.stop()
        self.start()

    def stop(self) -> None:
        self._serving.close()
        self.process = self.client = None


@pytest.fixture(scope="module", params=BACKENDS)
def served(request, tmp_path_factory):
    backend = request.param
    if backend == "memory":
        store = "memory"
    elif backend == "file":
        store = f"file:{tmp_path_factory.mktemp('backends') / 'twin.db'}"
    else:
        store = redis_db(request.getfixturevalue("redis_url"), REDIS_DB)
        clear_world(store)
    twin = Served(backend, store)
    try:
        yield twin
    finally:
        twin.stop()
        if backend == "redis":
            clear_world(store)


@pytest.fixture
def api(served):
    assert served.client.post("/_twin/reset", json={"seed": TEST_SEED}).status_code == 200
    return served.client


def ok(response: httpx.Response, status: int = 200):
    assert response.status_code == status, response.text
    return response.json()


def freeze(api, instant: str = NOON) -> None:
    ok(api.post("/_twin/clock", json={"freeze": True, "set": instant}))


def advance(api, seconds: float) -> None:
    ok(api.post("/_twin/clock", json={"advance_seconds": seconds}))


def create_workspace(api, name: str) -> dict:
    return ok(api.post(f"{M}/workspaces", json={"name": name}, headers=MEIRO), 201)["workspace"]


def workspace(api, workspace_id: int) -> httpx.Response:
    return api.get(f"{M}/workspaces/{workspace_id}", headers=MEIRO)


def ylem_token(api) -> dict:
    access = ok(api.post(f"{Y}/oauth/token", params=CREDENTIALS))["access_token"]
    return {"Authorization": f"Bearer {access}"}


# --- what a client writes it reads back -------------------------------------------------------


def test_meiro_workspace_crud_and_history(api):
    created = create_workspace(api, "v1")
    path = f"{M}/workspaces/{created['id']}"
    assert ok(workspace(api, created["id"]))["workspace"]["name"] == "v1"
    ok(api.patch(path, json={"name": "v2", "description": "second"}, headers=MEIRO))
    changed = ok(workspace(api, created["id"]))["workspace"]
    assert (changed["name"], changed["description"]) == ("v2", "second")
    history = ok(api.get(path + "/history", headers=MEIRO))["history_list"]
    assert [entry["workspace"]["name"] for entry in history] == ["v2", "v1"]

    newest = ok(api.get(f"{M}/workspaces", params={"order_dir": "DESC", "limit": 1}, headers=MEIRO))
    assert newest["workspaces"][0]["id"] == created["id"]
    second = create_workspace(api, "next")
    assert second["id"] > created["id"]  # ids come from the store's counter

    assert ok(api.delete(path, headers=MEIRO)) == {"message": "OK"}
    assert workspace(api, created["id"]).status_code == 404
    trash = ok(api.get(f"{M}/workspaces/trash", params={"limit": 1000}, headers=MEIRO))
    assert created["id"] in [row["id"] for row in trash["trashed_workspaces"]]


def test_meiro_job_runs_through_its_lifecycle_on_the_virtual_clock(api):
    freeze(api)
    job = ok(api.post(f"{M}/workspaces/100/jobs", headers=MEIRO), 201)["workspace_job"]
    path = f"{M}/workspaces/100/jobs/{job['id']}"
    assert job["status"] == "waiting"
    advance(api, 45)
    assert ok(api.get(path, headers=MEIRO))["workspace_job"]["status"] == "running"
    advance(api, PAST_THE_END)
    ended = ok(api.get(path, headers=MEIRO))["workspace_job"]
    assert ended["status"] in {"finished", "error"}
    assert list(ended["stats"]["statuses_history"]) == ["waiting", "running", ended["status"]]
    history = ok(api.get(path + "/history", headers=MEIRO))["history_list"]
    assert [entry["workspace_job"]["status"] for entry in history] == [
        ended["status"],
        "waiting",
        "running",
    ]
    logs = ok(api.get(path + "/logs", headers=MEIRO))["workspace_logs"]
    assert logs and logs[0]["text"].startswith(f"Job {job['id']} started")
    assert ok(workspace(api, 100))["workspace"]["last_run"] == job["origin_created"]


def test_ylem_run_and_the_statistics_computed_from_it(api):
    freeze(api)
    auth = ylem_token(api)
    rows = ok(api.post(f"{Y}/pipelines/{PIPELINE}/runs/", headers=auth), 201)
    assert {row["state"] for row in rows} == {"pending"}
    advance(api, 3600)
    window = "2026-11-20 11:00:00/2026-11-20 14:00:00"
    logs = ok(api.get(f"{Y}/stats/pipelines/{PIPELINE}/logs/{window}", headers=auth))
    assert {row["workflow_run_uuid"] for row in logs} == {rows[0]["workflow_run_uuid"]}
    stats = ok(api.get(f"{Y}/stats/pipelines/{PIPELINE}/stats/{window}", headers=auth))
    successful = all(row["is_successful"] for row in logs)
    assert (stats["num_of_successes"], stats["num_of_failures"]) == (
        (1, 0) if successful else (0, 1)
    )
    assert stats["last_run_duration"] == sum(row["duration"] for row in logs)


def test_director_workflow_runs_to_its_end(api):
    freeze(api)
    body = {"project": "example", "name": "ETL", "payload": {}}
    started = ok(api.post(f"{D}/workflows", json=body), 201)
    assert started["status"] == "pending"
    for _ in range(60):  # ten minutes of virtual time at most
        advance(api, 10)
        current = ok(api.get(f"{D}/workflows/{started['id']}"))
        if current["status"] in {"success", "error", "canceled"}:
            break
    assert current["status"] in {"success", "error"}
    assert {task["status"] for task in current["tasks"]} <= {"success", "error", "pending"}
    listed = ok(api.get(f"{D}/workflows", params={"per_page": 1000}))
    assert started["id"] in [row["id"] for row in listed]


# --- the admin API -----------------------------------------------------------------------------


def test_reset_gives_the_seeded_world_back(api):
    before = ok(api.get("/_twin/state"))
    created = create_workspace(api, "gone after reset")
    assert ok(api.post("/_twin/reset"))["seed"] == TEST_SEED
    assert workspace(api, created["id"]).status_code == 404
    assert ok(api.get("/_twin/state")) == before
    assert create_workspace(api, "again")["id"] == created["id"]  # counters reset too


def test_clock_set_freeze_advance(api):
    assert ok(api.post("/_twin/clock", json={"freeze": True, "set": NOON})) == {
        "now": NOON,
        "frozen": True,
    }
    advance(api, 90)
    assert ok(api.get("/_twin/clock")) == {"now": "2026-11-20T12:01:30Z", "frozen": True}
    ok(api.post("/_twin/clock", json={"freeze": False}))
    assert ok(api.get("/_twin/clock"))["frozen"] is False


def test_export_then_import_restores_exactly(api):
    kept = create_workspace(api, "kept")
    exported = ok(api.get("/_twin/state"))
    dropped = create_workspace(api, "dropped by the import")
    ok(api.put("/_twin/state", json=exported))
    assert ok(workspace(api, kept["id"]))["workspace"]["name"] == "kept"
    assert workspace(api, dropped["id"]).status_code == 404
    assert ok(api.get("/_twin/state")) == exported
    refused = api.put("/_twin/state", json={"docs": "not a dump"})
    assert refused.status_code == 400
    assert ok(api.get("/_twin/state")) == exported  # a refused import changes nothing


# --- what only the shared backends keep ---------------------------------------------------------


def test_the_world_outlives_a_restart(served, api):
    if served.backend == "memory":
        pytest.skip("the memory store lives as long as its process")
    freeze(api)
    created = create_workspace(api, "survivor")
    ok(api.patch(f"{M}/workspaces/{created['id']}", json={"name": "survivor v2"}, headers=MEIRO))
    job = ok(api.post(f"{M}/workspaces/100/jobs", headers=MEIRO), 201)["workspace_job"]
    state = ok(api.get("/_twin/state"))

    served.restart()
    again = served.client
    assert ok(again.get("/_twin/clock")) == {"now": NOON, "frozen": True}
    assert ok(again.get("/_twin/state")) == state
    read = ok(workspace(again, created["id"]))["workspace"]
    assert read["name"] == "survivor v2"
    history = ok(again.get(f"{M}/workspaces/{created['id']}/history", headers=MEIRO))
    assert [e["workspace"]["name"] for e in history["history_list"]] == [
        "survivor v2",
        "survivor",
    ]
    job_path = f"{M}/workspaces/100/jobs/{job['id']}"
    assert ok(again.get(job_path, headers=MEIRO))["workspace_job"] == job
    # The counters carried over too: a new id follows the old ones.
    assert create_workspace(again, "after the restart")["id"] > created["id"]
