"""Ylem twin: a run from token to log and statistics, which add up to the unit.

The clock is frozen after the seeded history (which ends at the epoch), so every run in the
windows below is one the test started.
"""

from __future__ import annotations

import pytest
from support import (
    PIPELINE,
    UNKNOWN,
    ZERO_DATE,
    advance,
    call,
    decoded,
    get_json,
    pipeline,
    set_clock,
    token,
)

START = "2026-11-10 12:00:00"
WINDOW = f"{START}/2026-11-11 12:00:00"
WEEKLY = "Weekly KPI digest"  # the seeded pipeline with the most tasks


def start_run(twin, access: str, uuid: str = PIPELINE, legacy: bool = False) -> list[dict]:
    path = f"/workflows/{uuid}/runs/" if legacy else f"/pipelines/{uuid}/runs/"
    answer = call(twin, "POST", path, access)
    assert answer.status_code == 201, answer.text
    assert answer.headers["content-type"] == "application/json"
    return answer.json()


def test_a_run_answers_one_pending_task_run_per_task(twin):
    set_clock(twin, START.replace(" ", "T") + "Z")
    access = token(twin)
    tasks = pipeline(twin, PIPELINE)["tasks"]
    rows = start_run(twin, access)
    assert [row["task_uuid"] for row in rows] == [task["uuid"] for task in tasks]
    assert {row["state"] for row in rows} == {"pending"}
    assert len({row["workflow_run_uuid"] for row in rows}) == 1
    assert len({row["task_run_uuid"] for row in rows}) == len(rows)
    assert [row["id"] for row in rows] == sorted({row["id"] for row in rows})
    for row in rows:
        assert row["is_successful"] is False and row["output"] is None and row["errors"] is None
        assert row["created_at"] == row["updated_at"] == ""
    again = start_run(twin, access, legacy=True)  # the legacy route starts the same kind of run
    assert again[0]["workflow_run_uuid"] != rows[0]["workflow_run_uuid"]
    assert again[0]["id"] > rows[-1]["id"]


@pytest.mark.parametrize("legacy", [False, True])
def test_an_unknown_pipeline_is_404(twin, legacy):
    path = f"/workflows/{UNKNOWN}/runs/" if legacy else f"/pipelines/{UNKNOWN}/runs/"
    answer = call(twin, "POST", path, token(twin))
    assert answer.status_code == 404
    assert {"code": 404, "message": "Not Found"}.items() <= answer.json().items()


def test_tasks_execute_in_order_on_the_virtual_clock(twin):
    set_clock(twin, START.replace(" ", "T") + "Z")
    access = token(twin)
    weekly = next(p for p in _pipelines(twin) if p["name"] == WEEKLY)
    rows = start_run(twin, access, weekly["uuid"])
    logs = f"/stats/pipelines/{weekly['uuid']}/logs/{WINDOW}"
    assert get_json(twin, logs, access) == []  # nothing has run at the instant of the request
    seen = []
    for _ in range(60):  # half a second at a time, a minute at most
        advance(twin, 0.5)
        now = get_json(twin, logs, access)
        assert now[len(now) - len(seen) :] == seen  # rows appear, none changes or goes away
        seen = now
    executed = list(reversed(seen))  # oldest first
    assert executed, "the run should have executed in a minute"
    assert [r["task_uuid"] for r in executed] == [r["task_uuid"] for r in rows[: len(executed)]]
    assert [r["executed_at"] for r in executed] == sorted(r["executed_at"] for r in executed)
    # A failed task ends the run: it is the last one to execute, the rest stay pending for ever.
    failed = [r for r in executed if not r["is_successful"]]
    assert failed in ([], [executed[-1]])
    assert len(executed) == len(rows) or failed
    advance(twin, 86400)
    assert get_json(twin, logs, token(twin)) == seen


def _pipelines(twin):
    from support import catalog

    return catalog(twin)["pipelines"]


def _runs_until_a_failure(twin, access: str, legacy: bool) -> list[list[dict]]:
    """Runs 5 minutes apart until one of them has failed (and at least three)."""
    started = []
    for _ in range(80):
        started.append(start_run(twin, access, legacy=legacy))
        advance(twin, 300)
        logs = get_json(twin, f"/stats/pipelines/{PIPELINE}/logs/{WINDOW}", access)
        if len(started) >= 3 and not all(row["is_successful"] for row in logs):
            return started
    pytest.fail("no run failed in 80 runs")


def _expected_stats(facts: list[tuple[str, bool, int]], last: tuple[str, bool, int]) -> dict:
    return {
        "num_of_successes": sum(1 for _, ok, _ in facts if ok),
        "num_of_failures": sum(1 for _, ok, _ in facts if not ok),
        "average_duration": sum(ms for _, _, ms in facts) // len(facts),
        "is_last_run_successful": last[1],
        "last_run_executed_at": last[0],
        "last_run_duration": last[2],
    }


def _plain(rfc3339: str) -> str:
    return rfc3339.replace("T", " ").removesuffix("Z")


@pytest.mark.parametrize("legacy", [False, True])
def test_logs_stats_aggregated_and_last_run_agree_to_the_unit(twin, legacy):
    set_clock(twin, START.replace(" ", "T") + "Z")
    access = token(twin)
    started = _runs_until_a_failure(twin, access, legacy)
    logs = get_json(twin, f"/stats/pipelines/{PIPELINE}/logs/{WINDOW}", access)

    # The log: every executed task run of these runs, newest first, outputs in plain base64.
    assert {row["workflow_run_uuid"] for row in logs} == {
        run[0]["workflow_run_uuid"] for run in started
    }
    assert [row["executed_at"] for row in logs] == sorted(
        (r["executed_at"] for r in logs), reverse=True
    )
    for row in logs:
        assert row["executed_at"].endswith("Z") and row["executed_at"] >= "2026-11-10T12:00:00Z"
        assert decoded(row["output"]) is not None

    # Per task: its task runs.
    for task in pipeline(twin, PIPELINE)["tasks"]:
        rows = [r for r in logs if r["task_uuid"] == task["uuid"]]
        if not rows:
            continue  # every run failed before this task
        facts = [(_plain(r["executed_at"]), r["is_successful"], r["duration"]) for r in rows]
        stats = get_json(twin, f"/stats/tasks/{task['uuid']}/stats/{WINDOW}", access)
        assert stats == _expected_stats(facts, facts[0])
        last = get_json(twin, f"/stats/tasks/{task['uuid']}/last-run/stats", access)
        assert last == {
            "is_successful": facts[0][1],
            "executed_at": facts[0][0],
            "duration": facts[0][2],
        }
        (day,) = get_json(
            twin, f"/stats/tasks/{task['uuid']}/aggregated-stats/2026-11-10/day/2", access
        )
        assert day == {
            "date_from": "2026-11-10 00:00:00",
            "date_to": "2026-11-10 23:59:59",
            **{k: stats[k] for k in ("num_of_successes", "num_of_failures", "average_duration")},
        }

    # Per pipeline: its runs, each ending with its last executed task run, failed if one failed.
    by_run: dict[str, list[dict]] = {}
    for row in logs:
        by_run.setdefault(row["workflow_run_uuid"], []).append(row)
    runs = sorted(
        (
            (
                _plain(rows[0]["executed_at"]),
                all(r["is_successful"] for r in rows),
                sum(r["duration"] for r in rows),
            )
            for rows in by_run.values()
        ),
        reverse=True,
    )
    assert len(runs) == len(started) and any(not ok for _, ok, _ in runs)
    name = "workflows" if legacy else "pipelines"
    stats = get_json(twin, f"/stats/{name}/{PIPELINE}/stats/{WINDOW}", access)
    assert stats == _expected_stats(runs, runs[0])
    last = get_json(twin, f"/stats/{name}/{PIPELINE}/last-run/stats", access)
    assert last == {"is_successful": runs[0][1], "executed_at": runs[0][0], "duration": runs[0][2]}
    weeks = get_json(twin, f"/stats/{name}/{PIPELINE}/aggregated-stats/2026-11-10/week/1", access)
    assert weeks == [
        {
            "date_from": "2026-11-09 00:00:00",  # the Monday of the week
            "date_to": "2026-11-15 23:59:59",
            **{k: stats[k] for k in ("num_of_successes", "num_of_failures", "average_duration")},
        }
    ]

    # The legacy paths answer exactly what their successors answer.
    for suffix in (f"stats/{WINDOW}", "last-run/stats", "aggregated-stats/2026-11-01/day/30"):
        legacy_answer = call(twin, "GET", f"/stats/workflows/{PIPELINE}/{suffix}", access)
        current_answer = call(twin, "GET", f"/stats/pipelines/{PIPELINE}/{suffix}", access)
        assert legacy_answer.content == current_answer.content


def test_the_window_is_inclusive_at_both_ends(twin):
    set_clock(twin, START.replace(" ", "T") + "Z")
    access = token(twin)
    start_run(twin, access)
    advance(twin, 120)
    logs = get_json(twin, f"/stats/pipelines/{PIPELINE}/logs/{WINDOW}", access)
    at = _plain(logs[0]["executed_at"])
    task = logs[0]["task_uuid"]
    exact = get_json(twin, f"/stats/tasks/{task}/stats/{at}/{at}", access)
    assert exact["num_of_successes"] + exact["num_of_failures"] == 1
    exact_logs = get_json(twin, f"/stats/pipelines/{PIPELINE}/logs/{at}/{at}", access)
    assert logs[0] in exact_logs


def test_stats_of_a_window_without_runs_keep_the_last_run_before_it(twin):
    set_clock(twin, START.replace(" ", "T") + "Z")
    access = token(twin)
    start_run(twin, access)
    advance(twin, 120)
    last = get_json(twin, f"/stats/pipelines/{PIPELINE}/last-run/stats", access)
    later = "2026-11-10 13:00:00/2026-11-10 14:00:00"  # after the run, still before now: empty
    stats = get_json(twin, f"/stats/pipelines/{PIPELINE}/stats/{later}", access)
    assert stats["num_of_successes"] == stats["num_of_failures"] == stats["average_duration"] == 0
    assert stats["last_run_executed_at"] == last["executed_at"]  # the real server's answer (Y27)
    backwards = get_json(
        twin, f"/stats/pipelines/{PIPELINE}/stats/2026-11-11 00:00:00/{START}", access
    )
    assert backwards["num_of_successes"] == backwards["num_of_failures"] == 0


@pytest.mark.parametrize("kind", ["tasks", "pipelines", "workflows"])
def test_an_unknown_uuid_has_empty_statistics_not_a_404(twin, kind):
    access = token(twin)
    stats = get_json(
        twin, f"/stats/{kind}/{UNKNOWN}/stats/2020-01-01 00:00:00/2030-01-01 00:00:00", access
    )
    assert stats == {
        "num_of_successes": 0,
        "num_of_failures": 0,
        "average_duration": 0,
        "is_last_run_successful": False,
        "last_run_executed_at": ZERO_DATE,
        "last_run_duration": 0,
    }
    assert (
        get_json(twin, f"/stats/{kind}/{UNKNOWN}/aggregated-stats/2020-01-01/year/10", access) == []
    )
    last = get_json(twin, f"/stats/{kind}/{UNKNOWN}/last-run/stats", access)
    assert last == {"is_successful": False, "executed_at": ZERO_DATE, "duration": 0}
    if kind == "pipelines":
        logs = f"/stats/pipelines/{UNKNOWN}/logs/2020-01-01 00:00:00/2030-01-01 00:00:00"
        assert get_json(twin, logs, access) == []


def test_nothing_has_happened_before_the_clock_says_so(twin):
    set_clock(twin, "2026-09-01T00:00:00Z")  # inside the seeded history: its later part is ahead
    access = token(twin)
    last = get_json(twin, f"/stats/pipelines/{PIPELINE}/last-run/stats", access)
    assert last["executed_at"] < "2026-09-01 00:00:00"
    logs = get_json(
        twin, f"/stats/pipelines/{PIPELINE}/logs/2026-08-31 00:00:00/2026-12-31 00:00:00", access
    )
    assert logs and all(row["executed_at"] < "2026-09-01T00:00:00Z" for row in logs)
