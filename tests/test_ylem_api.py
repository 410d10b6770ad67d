"""Ylem twin: what every Ylem test uses (token, clock, URLs), and the seeded world itself.

The helpers live here, in a test module, so the other test_ylem_* files can import them.
"""

from __future__ import annotations

import base64
import json

import yaml

from apitwin.apis import SPECS_DIR

BASE = "/ylem/v1"
SPEC = yaml.safe_load((SPECS_DIR / "ylem.yaml").read_text())
# The spec's documented pipeline and the run example's task, both part of the seeded world.
PIPELINE = "5c0b8a3e-7f4d-4e9a-8c21-1d6f3b2a9e40"
FIRST_TASK = "449c3c47-427e-465e-b1d2-0bf257b714e4"
LOG_EXAMPLE_TASK = "eff48172-2e75-4229-aff9-6c5d658db248"
UNKNOWN = "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9"
CREDENTIALS = {
    "client_id": "twin-client",
    "client_secret": "twin-secret",
    "grant_type": "client_credentials",
}
ZERO_DATE = "0001-01-01 00:00:00"
EPOCH = "2026-11-01 00:00:00"  # tests/conftest.py's epoch: the seeded history ends here
AT_EPOCH = "2026-11-01T00:00:00Z"


def set_clock(twin, instant: str) -> None:
    """Freezes the twin's clock at `instant` (ISO 8601, UTC)."""
    answer = twin.post("/_twin/clock", json={"freeze": True, "set": instant})
    assert answer.status_code == 200, answer.text


def advance(twin, seconds: float) -> None:
    answer = twin.post("/_twin/clock", json={"advance_seconds": seconds})
    assert answer.status_code == 200, answer.text


def token(twin, scope: str | None = None) -> str:
    params = dict(CREDENTIALS, **({"scope": scope} if scope is not None else {}))
    answer = twin.post(f"{BASE}/oauth/token", params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def call(twin, method: str, path: str, access_token: str | None):
    headers = {"Authorization": f"Bearer {access_token}"} if access_token else {}
    return twin.request(method, BASE + path, headers=headers)


def get_json(twin, path: str, access_token: str):
    answer = call(twin, "GET", path, access_token)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    return answer.json()


def catalog(twin) -> dict:
    answer = twin.get("/_twin/catalog")
    assert answer.status_code == 200, answer.text
    return answer.json()["ylem"]


def pipeline(twin, uuid: str) -> dict:
    return next(p for p in catalog(twin)["pipelines"] if p["uuid"] == uuid)


def decoded(output: str):
    """A log row's output: base64 of JSON, not encrypted (decision Y22)."""
    return json.loads(base64.b64decode(output, validate=True))


# the seeded world


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
