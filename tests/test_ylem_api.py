"""Ylem twin: the seeded world itself (the Ylem helpers are in support.py)."""

from __future__ import annotations

from support import (
    AT_EPOCH,
    EPOCH,
    FIRST_TASK,
    LOG_EXAMPLE_TASK,
    PIPELINE,
    SPEC,
    advance,
    call,
    catalog,
    decoded,
    get_json,
    set_clock,
    token,
)


def test_catalog_lists_pipelines_with_typed_tasks_and_the_clients(twin):
    world = catalog(twin)
    assert world["clients"] == [{"client_id": "twin-client", "client_secret": "twin-secret"}]
    assert world["scopes"] == ["pipelines:run", "stats:read"]
    pipelines = world["pipelines"]
    assert len(pipelines) >= 3
    assert pipelines[0]["uuid"] == PIPELINE and pipelines[0]["tasks"][0]["uuid"] == FIRST_TASK
    tasks = [task for p in pipelines for task in p["tasks"]]
    assert any(task["uuid"] == LOG_EXAMPLE_TASK and task["type"] == "query" for task in tasks)
    task_types = SPEC["components"]["schemas"]["PipelineRunLogEntry"]["properties"]["task_type"]
    assert {task["type"] for task in tasks} <= set(task_types["enum"])
    assert len({task["type"] for task in tasks}) >= 8
    assert len({task["uuid"] for task in tasks}) == len(tasks)


def test_every_pipeline_has_90_days_of_history_ending_at_the_epoch(twin):
    set_clock(twin, AT_EPOCH)  # the whole seeded history has happened
    access = token(twin)
    for item in catalog(twin)["pipelines"]:
        path = f"/stats/pipelines/{item['uuid']}/aggregated-stats/2026-08-01/month/4"
        months = get_json(twin, path, access)
        assert [m["date_from"][:7] for m in months] == ["2026-08", "2026-09", "2026-10"]
        assert all(m["num_of_successes"] + m["num_of_failures"] > 0 for m in months)
        last = get_json(twin, f"/stats/pipelines/{item['uuid']}/last-run/stats", access)
        assert "2026-10-24 00:00:00" < last["executed_at"] < EPOCH
        first_day = get_json(
            twin, f"/stats/pipelines/{item['uuid']}/aggregated-stats/2026-08-02/day/1", access
        )
        assert first_day == []  # nothing before the 90 days


def test_the_seeded_world_has_failures_to_show(twin):
    set_clock(twin, AT_EPOCH)  # the whole seeded history has happened
    access = token(twin)
    stats = get_json(twin, f"/stats/pipelines/{PIPELINE}/stats/2026-08-01 00:00:00/{EPOCH}", access)
    assert stats["num_of_successes"] > 100 and stats["num_of_failures"] > 0
    logs = get_json(twin, f"/stats/pipelines/{PIPELINE}/logs/2026-08-01 00:00:00/{EPOCH}", access)
    failed = [row for row in logs if not row["is_successful"]]
    assert failed and all(decoded(row["output"])[0]["Severity"] == "error" for row in failed)


def test_the_same_seed_epoch_and_clock_give_the_same_bytes(twin):
    def snapshot() -> list[bytes]:
        assert twin.post("/_twin/reset", json={"seed": 1337}).status_code == 200
        set_clock(twin, "2026-11-05T10:00:00Z")
        access = token(twin)
        call(twin, "POST", f"/pipelines/{PIPELINE}/runs/", access)
        advance(twin, 3600)
        window = "2026-10-30 00:00:00/2026-11-06 00:00:00"
        paths = [
            f"/stats/pipelines/{PIPELINE}/logs/{window}",
            f"/stats/pipelines/{PIPELINE}/stats/{window}",
            f"/stats/tasks/{FIRST_TASK}/aggregated-stats/2026-08-01/week/20",
        ]
        return [access.encode()] + [call(twin, "GET", p, access).content for p in paths]

    assert snapshot() == snapshot()
