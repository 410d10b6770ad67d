"""Director's runs as the clock advances: tasks in dependency order, failures, parallel groups,
and the same seed giving the same bytes."""

from __future__ import annotations

import httpx
import pytest

API = "/director/api"
DONE = {"success", "error", "canceled"}


def freeze(twin: httpx.Client) -> None:
    assert twin.post("/_twin/clock", json={"freeze": True}).status_code == 200


def advance(twin: httpx.Client, seconds: float) -> None:
    assert twin.post("/_twin/clock", json={"advance_seconds": seconds}).status_code == 200


def start(twin: httpx.Client, project: str, name: str, payload: dict | None = None) -> str:
    body = {"project": project, "name": name, "payload": payload or {}}
    response = twin.post(f"{API}/workflows", json=body)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "pending"
    return response.json()["id"]


def read(twin: httpx.Client, workflow_id: str) -> dict:
    response = twin.get(f"{API}/workflows/{workflow_id}")
    assert response.status_code == 200, response.text
    return response.json()


def assert_consistent(workflow: dict) -> None:
    """What must hold at any instant of a run."""
    tasks = {task["id"]: task for task in workflow["tasks"]}
    for task in workflow["tasks"]:
        assert task["task"] == task["id"] and task["updated"] >= task["created"]
        if task["status"] in {"progress", "success", "error"}:
            # A task has started only if everything it waits for succeeded.
            assert all(tasks[p]["status"] == "success" for p in task["previous"]), workflow
            assert all(tasks[p]["updated"] < task["updated"] for p in task["previous"])
    statuses = {task["status"] for task in workflow["tasks"]}
    if workflow["status"] == "success":
        assert statuses == {"success"}
        assert workflow["updated"] > max(task["updated"] for task in workflow["tasks"])
    if workflow["status"] == "error":
        assert "error" in statuses
    if workflow["status"] == "canceled":
        assert statuses <= {"success", "error", "canceled"}
    if workflow["status"] == "pending":
        assert statuses == {"pending"} and workflow["updated"] == workflow["created"]


def follow(twin: httpx.Client, workflow_id: str, limit: int = 600) -> list[dict]:
    """Snapshots every second until the run ends (and one more)."""
    snapshots = [read(twin, workflow_id)]
    while snapshots[-1]["status"] not in DONE or len(snapshots) < 2:
        assert len(snapshots) < limit, "the run did not end"
        advance(twin, 1)
        snapshots.append(read(twin, workflow_id))
    for snapshot in snapshots:
        assert_consistent(snapshot)
    return snapshots


def history(snapshots: list[dict], key: str) -> list[str]:
    """The successive distinct statuses of one task (by key) or of the workflow ("")."""
    seen: list[str] = []
    for snapshot in snapshots:
        if key:
            status = next(t["status"] for t in snapshot["tasks"] if t["key"] == key)
        else:
            status = snapshot["status"]
        if not seen or seen[-1] != status:
            seen.append(status)
    return seen


def ended(twin: httpx.Client, status: str, project: str = "example", name: str = "ETL") -> dict:
    """A run of `project.name` that ended in `status`: outcomes are drawn from the seed and the
    id, so some of a few dozen runs succeed and some fail, the same ones on every test run."""
    freeze(twin)
    ids = [start(twin, project, name) for _ in range(40)]
    advance(twin, 3600)
    for workflow_id in ids:
        workflow = read(twin, workflow_id)
        assert workflow["status"] in {"success", "error"}
        if workflow["status"] == status:
            return workflow
    pytest.fail(f"no {project}.{name} run ended in {status}")


def test_a_started_run_goes_pending_then_progress_then_ends_keeping_task_order(twin):
    freeze(twin)
    snapshots = follow(twin, start(twin, "example", "ETL"))
    assert history(snapshots, "")[:2] == ["pending", "progress"]
    assert snapshots[-1]["status"] in {"success", "error"}
    assert history(snapshots, "EXTRACT")[:2] == ["pending", "progress"]


def test_a_run_that_succeeds_went_pending_progress_success_task_after_task(twin):
    freeze(twin)
    success = ended(twin, "success")
    # Replay that very run from its start: the clock goes back, the run is read again.
    twin.post("/_twin/clock", json={"set": success["created"] + "Z"})
    snapshots = follow(twin, success["id"])
    assert history(snapshots, "") == ["pending", "progress", "success"]
    order = []
    for key in ("EXTRACT", "TRANSFORM", "LOAD"):
        assert history(snapshots, key) == ["pending", "progress", "success"]
        started = next(n for n, s in enumerate(snapshots) if _task(s, key)["status"] != "pending")
        order.append(started)
    assert order == sorted(order) and len(set(order)) == 3
    assert snapshots[-1] == read(twin, success["id"])  # nothing moves after the end
    advance(twin, 86400)
    assert read(twin, success["id"]) == snapshots[-1]


def _task(snapshot: dict, key: str) -> dict:
    return next(t for t in snapshot["tasks"] if t["key"] == key)


def test_a_failed_task_ends_the_run_in_error_and_later_tasks_stay_pending(twin):
    failed = ended(twin, "error")
    statuses = [task["status"] for task in failed["tasks"]]
    broken = statuses.index("error")
    assert statuses[:broken] == ["success"] * broken
    assert statuses[broken + 1 :] == ["pending"] * (len(statuses) - broken - 1)
    task = failed["tasks"][broken]
    assert set(task["result"]) == {"exception", "traceback"}
    assert task["result"]["exception"] in task["result"]["traceback"]
    assert failed["updated"] == task["updated"]  # the workflow failed when its task did
    assert_consistent(failed)
    advance(twin, 86400)
    assert read(twin, failed["id"]) == failed


def test_the_parallel_group_runs_both_branches_at_once_then_joins(twin):
    freeze(twin)
    success = ended(twin, "success", "example", "RANDOMS")
    twin.post("/_twin/clock", json={"set": success["created"] + "Z"})
    snapshots = follow(twin, success["id"])
    first, second, add = snapshots[-1]["tasks"]
    assert (first["key"], second["key"], add["key"]) == ("RANDOM", "RANDOM", "ADD")
    assert first["previous"] == second["previous"] == []
    assert add["previous"] == [first["id"], second["id"]]
    both = [s for s in snapshots if [t["status"] for t in s["tasks"][:2]] == ["progress"] * 2]
    assert both, "the two RANDOM tasks never ran at the same time"
    add_started = next(n for n, s in enumerate(snapshots) if s["tasks"][2]["status"] != "pending")
    assert all(t["status"] == "success" for t in snapshots[add_started]["tasks"][:2])


def test_a_failure_inside_a_group_lets_the_running_siblings_finish(twin):
    freeze(twin)
    payload = {"date": "2026-10-31"}
    ids = [start(twin, "reports", "DAILY_SALES", payload) for _ in range(40)]
    advance(twin, 3600)
    runs = [read(twin, workflow_id) for workflow_id in ids]
    in_group = [r for r in runs if r["status"] == "error" and r["tasks"][0]["status"] == "success"]
    assert in_group, "no run failed inside the group"
    for run in in_group:
        _fetch, *group, report = run["tasks"]
        assert {task["status"] for task in group} <= {"success", "error"}  # every branch ran
        assert report["status"] == "pending"
        assert_consistent(run)


def at_fixed_instant(twin: httpx.Client) -> None:
    assert twin.post("/_twin/reset", json={"seed": 1337}).status_code == 200
    twin.post("/_twin/clock", json={"set": "2026-11-02T00:00:00Z", "freeze": True})


def test_reading_changes_nothing_and_the_same_seed_gives_the_same_bytes(twin):
    at_fixed_instant(twin)
    first = twin.get(f"{API}/workflows").content
    assert twin.get(f"{API}/workflows").content == first
    started = [start(twin, "example", "ETL") for _ in range(2)]
    advance(twin, 30)
    later = twin.get(f"{API}/workflows").content
    at_fixed_instant(twin)
    assert twin.get(f"{API}/workflows").content == first
    assert [start(twin, "example", "ETL") for _ in range(2)] == started
    advance(twin, 30)
    assert twin.get(f"{API}/workflows").content == later
    assert twin.post("/_twin/reset", json={"seed": 7}).status_code == 200
    assert twin.get(f"{API}/workflows").content != first


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_every_seed_seeds_every_status(twin, seed):
    assert twin.post("/_twin/reset", json={"seed": seed}).status_code == 200
    workflows = twin.get(f"{API}/workflows").json()
    assert {w["status"] for w in workflows} == {
        "pending",
        "progress",
        "success",
        "error",
        "canceled",
    }
    for workflow in workflows[:12]:
        assert_consistent(read(twin, workflow["id"]))
