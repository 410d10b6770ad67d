"""The fast lane (server/fastlane.py) answers exactly as Connexion does.

Two twins with the same seed, epoch and frozen clock, one with the lane and one without, get the
same requests in the same order: valid ones (which the lane serves) and every kind of request it
must hand on to Connexion (bad credentials, parameters, bodies, content types, Prefer, fault
rules). Every answer's status, content type, body and headers must be the same, and so must the
journal and the whole state at the end.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from apitwin.app import create_app
from apitwin.options import TwinOptions
from apitwin.pipeline import fastlane

EPOCH, SEED, NOW = "2026-11-01", 1337, "2026-11-01T09:30:00Z"
M = "/meiro"
Y = "/ylem/v1"
TOKEN = {"X-Access-Token": "twin-token"}
JSON = {**TOKEN, "Content-Type": "application/json"}


def _twin(fast_lane: bool) -> httpx.AsyncClient:
    app = create_app(TwinOptions(seed=SEED, epoch=EPOCH, fast_lane=fast_lane))
    transport = httpx.ASGITransport(app=app)
    return httpx.AsyncClient(transport=transport, base_url="http://twin.test")


def _meiro_cases() -> list[tuple]:
    lists = [
        "",
        "?limit=20",
        "?limit=5&offset=3",
        "?limit=0",
        "?limit=-1",
        "?limit=abc",
        "?limit=",
        "?limit=+5",
        "?limit=%205",
        "?limit=1&limit=2",
        "?offset=1.5",
        "?order_by=name&order_dir=DESC",
        "?order_dir=desc",
        "?order_by=nope",
        "?name_filter=a",
        "?name_filter=",
        "?tag_ids=1&tag_ids=2",
        "?tag_ids=1,2",
        "?tag_ids=x",
        "?show_enabled=false",
        "?show_enabled=False",
        "?show_enabled=0",
        "?show_disabled=true&show_enabled=false",
        "?load_full_structure=1",
        "?unknown=1",
        "?limit=20&unknown",
    ]
    cases = [("GET", M + "/workspaces" + query, TOKEN, None) for query in lists]
    cases += [
        ("GET", M + "/workspaces", {}, None),
        ("GET", M + "/workspaces", {"X-Access-Token": "wrong"}, None),
        ("GET", M + "/workspaces", {"X-Access-Token": " twin-token"}, None),
        ("GET", M + "/workspaces", {**TOKEN, "Prefer": "code=401"}, None),
        ("GET", M + "/workspaces", {**TOKEN, "Prefer": "dynamic=maybe"}, None),
        ("HEAD", M + "/workspaces", TOKEN, None),
    ]
    for workspace in ("100", "101", "99999", "0", "-1", "+100", "0100", "abc", "100/"):
        cases.append(("GET", f"{M}/workspaces/{workspace}", TOKEN, None))
    cases += [
        ("GET", M + "/workspaces/100?load_full_structure=1", TOKEN, None),
        ("GET", M + "/workspaces/100?load_full_structure=7", TOKEN, None),
        ("GET", M + "/workspaces/trash", TOKEN, None),
        ("GET", M + "/workspaces/last_jobs?workspace_ids=100&workspace_ids=101", TOKEN, None),
        ("GET", M + "/workspaces/100/history", TOKEN, None),
        ("GET", M + "/workspaces/100/history/100", TOKEN, None),
        ("GET", M + "/workspaces/100/jobs?order_by=status", TOKEN, None),
        ("GET", M + "/workspaces/100/jobs/100", TOKEN, None),
        ("GET", M + "/workspaces/100/jobs/100/logs", TOKEN, None),
        ("GET", M + "/workspace_jobs?include_deleted_workspace_jobs=1", TOKEN, None),
        ("GET", M + "/dawgs/100/workspaces", TOKEN, None),
    ]
    good = json.dumps({"name": "lane", "description": "d", "settings": {"a": 1}, "disabled": 0})
    bodies = [
        (JSON, good),
        (JSON, json.dumps({"name": "lane", "extra": 1})),
        (JSON, json.dumps({"description": "no name"})),
        (JSON, json.dumps({"name": 5})),
        (JSON, json.dumps({"name": "x", "disabled": 2})),
        ({**TOKEN, "Content-Type": "text/plain"}, good),
        ({**TOKEN, "Content-Type": "application/json; charset=utf-8"}, good),
        ({**TOKEN, "Content-Type": "APPLICATION/JSON"}, good),
        (JSON, ""),
        (JSON, "null"),
        (JSON, "[]"),
        (JSON, '{"name": '),
        (JSON, b'{"name": "\xff"}'),
        (JSON, '{"name": "deep", "settings": ' + '{"a": ' * 80 + "1" + "}" * 80 + "}"),
        (JSON, '{"name": "nan", "settings": {"x": NaN}}'),
        ({"Content-Type": "application/json"}, good),
    ]
    cases += [("POST", M + "/workspaces", headers, body) for headers, body in bodies]
    cases += [
        ("PATCH", M + "/workspaces/100", JSON, json.dumps({"name": "renamed"})),
        ("PATCH", M + "/workspaces/100", JSON, json.dumps({"name": 1})),
        ("PATCH", M + "/workspaces/100/owner", JSON, json.dumps({"user_id": 7})),
        ("PATCH", M + "/workspaces", JSON, json.dumps([{"id": 101, "name": "bulk"}])),
        ("PATCH", M + "/workspaces", JSON, json.dumps([{"id": 99999, "name": "bulk"}])),
        ("POST", M + "/workspaces/102", TOKEN, None),
        ("POST", M + "/workspaces/102/jobs", TOKEN, None),
        ("DELETE", M + "/workspaces/103", TOKEN, None),
        ("DELETE", M + "/workspaces/103", TOKEN, None),
        ("PATCH", M + "/workspaces/trash/103", TOKEN, None),
        ("DELETE", M + "/workspaces/104/data", TOKEN, None),
        ("PUT", M + "/workspaces/100", JSON, good),
        ("GET", M + "/workspaces?limit=50&order_dir=DESC", TOKEN, None),
    ]
    return cases


def _ylem_cases(pipeline: str, task: str) -> list[tuple]:
    creds = "client_id=twin-client&client_secret=twin-secret"
    cases = [
        ("GET", f"{Y}/oauth/token?{creds}&grant_type=client_credentials", {}, None),
        (
            "POST",
            f"{Y}/oauth/token?{creds}&grant_type=client_credentials&scope=stats:read",
            {},
            None,
        ),
        ("POST", f"{Y}/oauth/token?{creds}&grant_type=password", {}, None),
        ("POST", f"{Y}/oauth/token?client_id=twin-client&grant_type=client_credentials", {}, None),
        ("POST", f"{Y}/oauth/token?{creds}&grant_type=client_credentials&extra=1", {}, None),
    ]
    day = "2026-10-01 00:00:00"
    reads = [
        f"/stats/pipelines/{pipeline}/aggregated-stats/2026-01-01/month/12",
        f"/stats/pipelines/{pipeline}/aggregated-stats/2026-02-30/month/12",
        f"/stats/pipelines/{pipeline}/aggregated-stats/2026-01-01/week/12",
        f"/stats/tasks/{task}/aggregated-stats/2026-01-01 00:00:00/quarter/2",
        f"/stats/pipelines/{pipeline}/stats/{day}/2026-11-01 00:00:00",
        f"/stats/pipelines/{pipeline}/logs/{day}/2026-11-01 00:00:00",
        f"/stats/tasks/{task}/last-run/stats",
        f"/stats/workflows/{pipeline}/last-run/stats",
        "/stats/pipelines/not-a-uuid/last-run/stats",
        f"/stats/pipelines/{pipeline.upper()}/last-run/stats",
    ]
    return (
        cases
        + [("GET", Y + path, "bearer", None) for path in reads]
        + [
            ("GET", Y + reads[0], {}, None),
            ("GET", Y + reads[0], {"Authorization": "Bearer nope"}, None),
            ("GET", Y + reads[0], "read-only", None),
            ("POST", f"{Y}/pipelines/{pipeline}/runs/", "bearer", None),
            ("POST", f"{Y}/pipelines/{pipeline}/runs", "bearer", None),
            ("POST", f"{Y}/pipelines/{pipeline}/runs/", "read-only", None),
        ]
    )


async def _send(client: httpx.AsyncClient, case, tokens: dict) -> httpx.Response:
    method, url, headers, body = case
    if isinstance(headers, str):
        headers = {"Authorization": f"Bearer {tokens[headers]}"}
    content = body.encode() if isinstance(body, str) else body
    return await client.request(method, url, headers=headers, content=content)


async def _token(client: httpx.AsyncClient, scope: str) -> str:
    query = "client_id=twin-client&client_secret=twin-secret&grant_type=client_credentials"
    answer = await client.post(f"{Y}/oauth/token?{query}&scope={scope}")
    assert answer.status_code == 200, answer.text
    return answer.json()["access_token"]


def _comparable(answer: httpx.Response) -> tuple:
    headers = sorted((k, v) for k, v in answer.headers.items() if k not in ("date", "server"))
    return answer.status_code, headers, answer.content


async def _compare(served: list) -> None:
    lane, plain = _twin(True), _twin(False)
    async with lane, plain:
        for client in (lane, plain):
            await client.post("/_twin/clock", json={"freeze": True})
            await client.post("/_twin/clock", json={"set": NOW})
        catalogs = [(await c.get("/_twin/catalog")).json()["ylem"] for c in (lane, plain)]
        assert catalogs[0] == catalogs[1], "the worlds differ"
        catalog = catalogs[0]
        pipeline = catalog["pipelines"][0]["uuid"]
        task = catalog["pipelines"][0]["tasks"][0]["uuid"]
        tokens = {
            name: [await _token(c, scope) for c in (lane, plain)]
            for name, scope in (("bearer", "pipelines:run,stats:read"), ("read-only", "stats:read"))
        }
        assert tokens["bearer"][0] == tokens["bearer"][1], "the worlds differ"
        tokens = {name: pair[0] for name, pair in tokens.items()}
        cases = _meiro_cases() + _ylem_cases(pipeline, task)
        for case in cases:
            fast, slow = await _send(lane, case, tokens), await _send(plain, case, tokens)
            assert _comparable(fast) == _comparable(slow), case
        # With a fault rule in place, the lane steps aside for every call.
        rule = {"effect": "status", "status": 503, "api": "meiro", "times": 1}
        for client in (lane, plain):
            assert (await client.post("/_twin/faults", json=rule)).status_code == 201
        case = ("GET", M + "/workspaces/100", TOKEN, None)
        fast, slow = await _send(lane, case, tokens), await _send(plain, case, tokens)
        assert fast.status_code == 503 and _comparable(fast) == _comparable(slow)

        journals = [(await c.get("/_twin/requests?limit=500")).json() for c in (lane, plain)]
        for journal in journals:
            for entry in journal["requests"]:
                entry.pop("duration_ms")
        assert journals[0] == journals[1]
        states = [(await c.get("/_twin/state")).json() for c in (lane, plain)]
        for state in states:
            state["meta"].pop("clock")  # frozen at the same instant; offsets from wall time differ
        assert states[0] == states[1]
    assert served, "the lane served none of the requests"


def test_lane_and_connexion_answer_alike(monkeypatch):
    served = []
    respond = fastlane._Operation.response

    def counted(self, result):
        served.append(self.operation_id)
        return respond(self, result)

    monkeypatch.setattr(fastlane._Operation, "response", counted)
    asyncio.run(_compare(served))
    # The lane served the valid requests of every kind tried: reads, writes, tokens, stats.
    for operation_id in (
        "list_workspaces",
        "get_workspace",
        "create_workspace",
        "modify_workspace",
        "update_workspaces",
        "issue_token_via_post",
        "get_pipeline_aggregated_stats",
        "run_pipeline",
    ):
        assert operation_id in served


@pytest.mark.parametrize(
    "options",
    [
        {"validate_responses": True},
        {"fast_lane": False},
    ],
)
def test_lane_is_off_with_response_validation_or_when_asked(options):
    assert not _has_lane(create_app(TwinOptions(seed=SEED, epoch=EPOCH, **options)))


def test_lane_is_on_by_default():
    assert _has_lane(create_app(TwinOptions(seed=SEED, epoch=EPOCH)))


def _has_lane(app) -> bool:
    layers = app.middleware.middlewares
    return any(getattr(m, "func", m) is fastlane.FastLaneMiddleware for m in layers)
