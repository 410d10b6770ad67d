"""Meiro twin, the job story: a run goes waiting -> running -> finished or error as the clock
advances, logs appear while it runs, every status change is a history entry and in
`stats.statuses_history`; cancel before and after the end; last jobs, project, dawg and dawg job
lists with and without trashed workspaces' jobs."""

from __future__ import annotations

import pytest

M = "/meiro"
ENDED = {"finished", "error"}
# Longer than any queue wait (40 s) and than any wait plus run time (340 s) the twin draws.
PAST_THE_WAIT = 45
PAST_THE_END = 400


@pytest.fixture
def api(twin):
    twin.headers["X-Access-Token"] = "twin-token"
    frozen = twin.post("/_twin/clock", json={"freeze": True, "set": "2026-11-20T10:00:00Z"})
    assert frozen.status_code == 200
    return twin


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def advance(api, seconds: int) -> None:
    assert api.post("/_twin/clock", json={"advance_seconds": seconds}).status_code == 200


def run(api, workspace_id: int = 100) -> dict:
    return ok(api.post(f"{M}/workspaces/{workspace_id}/jobs"), 201)["workspace_job"]


def job_path(job: dict) -> str:
    return f"{M}/workspaces/{job['workspace_id']}/jobs/{job['id']}"


def read(api, job: dict) -> dict:
    return ok(api.get(job_path(job)))["workspace_job"]


def history(api, job: dict, **params) -> list[dict]:
    return ok(api.get(job_path(job) + "/history", params=params))["history_list"]


def logs(api, job: dict, **params) -> list[dict]:
    return ok(api.get(job_path(job) + "/logs", params=params))["workspace_logs"]


def test_a_run_waits_runs_and_ends_as_the_clock_advances(api):
    job = run(api)
    assert job["status"] == "waiting" and job["dawg_job_id"] is None
    assert job["stats"] == {"statuses_history": {"waiting": "2026-11-20 10:00:00"}}
    assert job["created"] == job["origin_created"] == "2026-11-20 10:00:00"
    assert read(api, job) == job
    assert logs(api, job) == []
    assert history(api, job) == [{"id": None, "workspace_job": job}]

    advance(api, PAST_THE_WAIT)
    running = read(api, job)
    assert running["status"] == "running"
    assert list(running["stats"]["statuses_history"]) == ["waiting", "running"]
    assert running["created"] == running["stats"]["statuses_history"]["running"]
    assert running["stats"]["data_volumes"]["/in"] > 0
    lines = logs(api, job)
    assert lines and lines[0]["text"].startswith(f"Job {job['id']} started")
    assert all(line["workspace_job_id"] == job["id"] for line in lines)
    current, waiting = history(api, job)
    assert current == {"id": None, "workspace_job": running, "previous_history": waiting}
    assert waiting == {"id": 1, "workspace_job": job}

    advance(api, PAST_THE_END)
    ended = read(api, job)
    assert ended["status"] in ENDED
    assert list(ended["stats"]["statuses_history"]) == ["waiting", "running", ended["status"]]
    assert ended["origin_created"] == job["origin_created"]
    entries = history(api, job)
    assert [e["id"] for e in entries] == [None, 1, 2]
    assert [e["workspace_job"]["status"] for e in entries] == [
        ended["status"],
        "waiting",
        "running",
    ]
    assert entries[0]["previous_history"]["id"] == 2
    assert entries[2]["previous_history"] == {"id": 1, "workspace_job": job}
    assert ok(api.get(job_path(job) + "/history/2"))["history"] == entries[2]
    final = logs(api, job)
    assert final[: len(lines)] == lines and len(final) > len(lines)
    if ended["status"] == "finished":
        assert final[-1]["text"].startswith("Job finished") and final[-1]["level"] == "info"
    else:
        assert final[-1]["text"].startswith("Job failed") and final[-1]["level"] == "error"
    one = ok(api.get(f"{job_path(job)}/logs/{final[-1]['id']}"))["workspace_log"]
    assert one == final[-1]


def test_a_finished_run_shows_on_the_workspace(api):
    before = ok(api.get(M + "/workspaces/100"))["workspace"]
    outcomes = set()
    for _ in range(6):  # enough runs for both outcomes of the seeded draws
        job = run(api)
        advance(api, PAST_THE_END)
        ended = read(api, job)
        outcomes.add(ended["status"])
        workspace = ok(api.get(M + "/workspaces/100"))["workspace"]
        assert workspace["last_run"] == job["origin_created"]
        assert workspace["last_activity"] == ended["created"]
        history_at = ended["stats"]["statuses_history"]
        assert workspace["last_run_duration"] == _seconds(history_at[ended["status"]]) - _seconds(
            history_at["waiting"]
        )
        if ended["status"] == "finished":
            written = round(ended["stats"]["data_volumes"]["/out"] * 1024 * 1024)
            assert workspace["disk_usage"] == before["disk_usage"] + written
        else:
            assert workspace["disk_usage"] == before["disk_usage"]
        before = workspace
    assert "finished" in outcomes


def _seconds(stamp: str) -> int:
    hours, minutes, seconds = (int(part) for part in stamp[11:].split(":"))
    return int(stamp[8:10]) * 86_400 + hours * 3600 + minutes * 60 + seconds


def test_cancel_a_waiting_job(api):
    job = run(api)
    advance(api, 2)
    assert ok(api.delete(job_path(job))) == {"message": "OK"}
    canceled = read(api, job)
    assert canceled["status"] == "canceled"
    assert canceled["stats"]["statuses_history"] == {
        "waiting": "2026-11-20 10:00:00",
        "canceled": "2026-11-20 10:00:02",
    }
    assert [e["workspace_job"]["status"] for e in history(api, job)] == ["canceled", "waiting"]
    [line] = logs(api, job)
    assert (line["level"], line["text"], line["created"]) == (
        "warning",
        "Job canceled",
        "2026-11-20 10:00:02",
    )
    advance(api, PAST_THE_END)
    assert read(api, job) == canceled  # a canceled job never runs


def test_cancel_a_running_job(api):
    job = run(api)
    advance(api, PAST_THE_WAIT)
    ok(api.delete(job_path(job)))
    canceled = read(api, job)
    assert list(canceled["stats"]["statuses_history"]) == ["waiting", "running", "canceled"]
    assert [e["id"] for e in history(api, job)] == [None, 1, 2]
    assert logs(api, job)[-1]["text"] == "Job canceled"
    workspace = ok(api.get(M + "/workspaces/100"))["workspace"]
    assert workspace["last_run_duration"] == PAST_THE_WAIT


def test_cancel_an_ended_job_is_a_conflict_and_changes_nothing(api):
    job = run(api)
    advance(api, PAST_THE_END)
    ended = read(api, job)
    response = api.delete(job_path(job))
    assert response.status_code == 409
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["message"] == f"Job {job['id']} has already ended ({ended['status']})"
    assert read(api, job) == ended

    canceled = run(api)
    ok(api.delete(job_path(canceled)))
    again = api.delete(job_path(canceled))
    assert again.status_code == 409 and again.json()["message"].endswith("(canceled)")


def test_workspace_jobs_list_pages_and_orders(api):
    first, second = run(api), run(api)
    body = ok(api.get(M + "/workspaces/100/jobs", params={"order_dir": "DESC", "limit": 2}))
    assert [j["id"] for j in body["workspace_jobs"]] == [second["id"], first["id"]]
    assert body["selection_settings"] == {
        "limit": 2,
        "offset": None,
        "order_by": "id",
        "order_dir": "DESC",
    }
    by_status = ok(api.get(M + "/workspaces/100/jobs?order_by=status&limit=1000"))
    statuses = [job["status"] for job in by_status["workspace_jobs"]]
    assert statuses == sorted(statuses)
    assert all(job["workspace_id"] == 100 for job in by_status["workspace_jobs"])


def test_last_jobs(api):
    job = run(api, 101)
    body = ok(api.get(M + "/workspaces/last_jobs?workspace_ids=101&workspace_ids=999999"))
    assert body == {
        "last_workspace_jobs": [{"workspace_id": 101, "last_job": read(api, job)}],
        "selection_settings": {"workspace_ids": [101, 999_999]},
    }
    every = ok(api.get(M + "/workspaces/last_jobs"))
    assert every["selection_settings"] == {"workspace_ids": None}
    workspace_ids = [row["workspace_id"] for row in every["last_workspace_jobs"]]
    assert 101 in workspace_ids and workspace_ids == sorted(workspace_ids)
    never_ran = ok(api.post(M + "/workspaces", json={"name": "idle"}), 201)["workspace"]
    ok(api.delete(M + "/workspaces/101"))
    body = ok(
        api.get(M + f"/workspaces/last_jobs?workspace_ids=101&workspace_ids={never_ran['id']}")
    )
    assert body["last_workspace_jobs"] == []
    rest = ok(api.get(M + "/workspaces/last_jobs"))["last_workspace_jobs"]
    assert 101 not in [row["workspace_id"] for row in rest]


def _job_ids(api, path: str, **params) -> list[int]:
    body = ok(api.get(M + path, params={"limit": 1000, **params}))
    return [job["id"] for job in body["workspace_jobs"]]


@pytest.mark.parametrize(
    "path",
    [
        "/workspace_jobs",
        "/dawgs/{dawg}/workspace_jobs",
        "/dawgs/{dawg}/jobs/{dawg_job}/workspace_jobs",
    ],
)
@pytest.mark.parametrize(
    "flag", ["include_deleted_workspaces_jobs", "include_deleted_workspace_jobs"]
)
def test_job_lists_leave_trashed_workspaces_jobs_out_unless_asked(api, path, flag):
    # A seeded dawg run: a dawg job with a job for each of the dawg's enabled workspaces.
    member = ok(api.get(M + "/workspaces/100/jobs?limit=1"))["workspace_jobs"][0]
    path = path.format(dawg=100, dawg_job=member["dawg_job_id"])
    listed, everything = _job_ids(api, path), _job_ids(api, path, **{flag: 1})
    assert member["id"] in listed and listed == sorted(listed)
    assert set(listed) <= set(everything)
    mine = set(_job_ids(api, "/workspaces/100/jobs"))

    ok(api.delete(M + "/workspaces/100"))
    without = _job_ids(api, path)
    assert set(without) == set(listed) - mine and member["id"] not in without
    assert _job_ids(api, path, **{flag: 0}) == without
    assert _job_ids(api, path, **{flag: 1}) == everything


def test_dawg_lists_hold_the_dawgs_jobs_only(api):
    members = {w["id"] for w in ok(api.get(M + "/dawgs/102/workspaces"))["workspaces"]}
    jobs = ok(api.get(M + "/dawgs/102/workspace_jobs?limit=1000"))["workspace_jobs"]
    assert jobs and {job["workspace_id"] for job in jobs} <= members
    dawg_job = jobs[0]["dawg_job_id"]
    run_jobs = ok(api.get(f"{M}/dawgs/102/jobs/{dawg_job}/workspace_jobs"))["workspace_jobs"]
    assert run_jobs and all(job["dawg_job_id"] == dawg_job for job in run_jobs)
    assert api.get(f"{M}/dawgs/101/jobs/{dawg_job}/workspace_jobs").status_code == 404
    assert api.get(f"{M}/dawgs/102/jobs/999999/workspace_jobs").status_code == 404
    assert api.get(f"{M}/dawgs/999/workspace_jobs").status_code == 404


def test_seeded_job_100_is_the_documented_one(api):
    job = ok(api.get(M + "/workspaces/100/jobs/100"))["workspace_job"]
    assert (job["workspace_id"], job["dawg_job_id"]) == (100, 400)
    assert job["status"] in ENDED | {"canceled"}


def test_job_routes_answer_404_for_ids_of_another_parent(api):
    job = run(api)
    assert api.get(f"{M}/workspaces/101/jobs/{job['id']}").status_code == 404
    assert api.delete(f"{M}/workspaces/101/jobs/{job['id']}").status_code == 404
    assert api.get(job_path(job) + "/history/1").status_code == 404  # the current state
    assert api.get(job_path(job) + "/logs/1").status_code == 404  # not written yet
    advance(api, PAST_THE_WAIT)
    assert api.get(job_path(job) + "/history/1").status_code == 200
    assert api.get(job_path(job) + "/logs/1").status_code == 200
    other = run(api, 101)
    response = api.get(f"{M}/workspaces/101/jobs/{other['id']}/logs/1")
    assert response.status_code == 404
    assert response.json()["message"] == f"Log 1 of job {other['id']} not found"
