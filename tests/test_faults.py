"""Fault rules through the admin API, over real HTTP; and the journal that shows their effect."""

from __future__ import annotations

import time

import httpx
import pytest

MEIRO = {"X-Access-Token": "twin-token"}


def _add(twin, **rule) -> dict:
    answer = twin.post("/_twin/faults", json=rule)
    assert answer.status_code == 201, answer.text
    return answer.json()


def _statuses(twin, path: str, count: int, headers=None) -> list[int]:
    return [twin.get(path, headers=headers).status_code for _ in range(count)]


def test_rules_are_added_listed_read_and_removed(twin):
    first = _add(twin, api="director", effect="status", status=503, times=2)
    assert first == {
        "id": first["id"],
        "api": "director",
        "operation_id": None,
        "effect": "status",
        "latency_ms": None,
        "status": 503,
        "times": 2,
        "rate": None,
        "matched": 0,
        "fired": 0,
        "remaining": 2,
        "active": True,
    }
    second = _add(twin, operation_id="ping", effect="latency", latency_ms=10)
    listed = twin.get("/_twin/faults").json()["faults"]
    assert [rule["id"] for rule in listed] == [first["id"], second["id"]]
    assert twin.get(f"/_twin/faults/{second['id']}").json() == second
    assert twin.delete(f"/_twin/faults/{first['id']}").json()["id"] == first["id"]
    assert twin.get(f"/_twin/faults/{first['id']}").status_code == 404
    assert twin.delete("/_twin/faults").json() == {"cleared": 1}
    assert twin.get("/_twin/faults").json() == {"faults": []}


@pytest.mark.parametrize(
    ("rule", "complaint"),
    [
        ({"effect": "latency"}, "needs latency_ms"),
        ({"effect": "status"}, "needs status"),
        ({"effect": "drop", "status": 500}, "status rules only"),
        ({"effect": "status", "status": 500, "latency_ms": 5}, "latency rules only"),
        ({"effect": "drop", "times": 1, "rate": 0.5}, "not both"),
        ({"effect": "drop", "operation_id": "nope"}, "not an operation of any API"),
        ({"effect": "drop", "api": "meiro", "operation_id": "ping"}, "of the meiro API"),
        ({"effect": "drop", "api": "other"}, None),
        ({"effect": "status", "status": 200}, None),
        ({"effect": "drop", "rate": 1.5}, None),
        ({"effect": "explode"}, None),
    ],
)
def test_bad_rules_are_rejected(twin, rule, complaint):
    answer = twin.post("/_twin/faults", json=rule)
    assert answer.status_code == 400
    if complaint:
        assert complaint in answer.json()["detail"]
    assert twin.get("/_twin/faults").json() == {"faults": []}


def test_fail_the_next_n_calls(twin):
    rule = _add(twin, api="director", effect="status", status=503, times=2)
    failed = twin.get("/director/api/ping")
    assert failed.status_code == 503
    assert failed.headers["x-twin-fault"] == str(rule["id"])
    assert failed.headers["content-type"] == "application/problem+json"
    assert failed.json()["error"].startswith("Fault injected by apitwin")  # Director's own field
    assert _statuses(twin, "/director/api/ping", 3) == [503, 200, 200]
    used = twin.get(f"/_twin/faults/{rule['id']}").json()
    assert (used["matched"], used["fired"], used["remaining"], used["active"]) == (2, 2, 0, False)


def test_a_rule_touches_only_the_operations_it_names(twin):
    _add(twin, api="meiro", operation_id="list_workspaces", effect="status", status=500)
    assert twin.get("/meiro/workspaces", headers=MEIRO).status_code == 500
    workspace = twin.get("/_twin/catalog").json()["meiro"]["dawgs"][0]["workspace_ids"][0]
    assert twin.get(f"/meiro/workspaces/{workspace}", headers=MEIRO).status_code == 200
    assert twin.get("/director/api/ping").status_code == 200


def test_a_rule_without_api_or_operation_hits_every_api_but_not_the_admin_api(twin):
    _add(twin, effect="status", status=502)
    assert twin.get("/director/api/ping").status_code == 502
    assert twin.get("/meiro/workspaces", headers=MEIRO).status_code == 502
    assert twin.get("/ylem/v1/oauth/token").status_code == 502
    assert twin.get("/_twin/clock").status_code == 200


def test_faults_act_before_authentication(twin):
    _add(twin, api="meiro", effect="status", status=503)
    assert twin.get("/meiro/workspaces").status_code == 503  # no token: the gateway failed first


def _rate_pattern(twin, seed: int) -> list[int]:
    assert twin.post("/_twin/reset", json={"seed": seed}).status_code == 200
    _add(twin, api="director", operation_id="ping", effect="status", status=500, rate=0.3)
    return _statuses(twin, "/director/api/ping", 60)


def test_a_rate_fails_that_fraction_the_same_way_under_the_same_seed(twin):
    pattern = _rate_pattern(twin, 7)
    assert 8 <= pattern.count(500) <= 30  # about 30 % of 60
    assert set(pattern) == {200, 500}
    assert _rate_pattern(twin, 7) == pattern
    assert _rate_pattern(twin, 8) != pattern


def test_latency_rules_add_up(twin):
    _add(twin, api="director", effect="latency", latency_ms=200)
    _add(twin, operation_id="ping", effect="latency", latency_ms=150, times=1)
    started = time.perf_counter()
    assert twin.get("/director/api/ping").status_code == 200
    assert time.perf_counter() - started >= 0.35
    started = time.perf_counter()
    twin.get("/director/api/ping")
    assert 0.2 <= time.perf_counter() - started < 0.35


@pytest.mark.slow
def test_drop_closes_the_connection_without_an_answer(twin_server):
    # A real socket: the twin in a process of its own.
    twin = httpx.Client(base_url=twin_server.url, timeout=10.0)
    assert twin.post("/_twin/reset").status_code == 200
    rule = _add(twin, api="director", operation_id="ping", effect="drop", times=1)
    with pytest.raises(httpx.RemoteProtocolError):
        twin.get("/director/api/ping", timeout=5)
    assert twin.get("/director/api/ping").status_code == 200  # the twin serves on
    dropped = twin.get("/_twin/requests", params={"status": 0}).json()["requests"]
    assert dropped[0]["path"] == "/director/api/ping"
    assert dropped[0]["twin"] == {"fault": f"rule {rule['id']}: drop", "dropped": True}


def test_reset_clears_the_rules(twin):
    _add(twin, effect="drop")
    assert twin.post("/_twin/reset").status_code == 200
    assert twin.get("/_twin/faults").json() == {"faults": []}
    assert twin.get("/director/api/ping").status_code == 200


def test_the_journal_shows_headers_without_credentials_and_validation_errors(twin):
    twin.get("/meiro/workspaces?limit=0", headers={**MEIRO, "X-Debug": "yes"})
    twin.get(
        "/ylem/v1/stats/pipelines/x/last-run/stats",
        headers={"Authorization": "Bearer secret-token"},
    )
    entries = twin.get("/_twin/requests", params={"limit": 2}).json()["requests"]
    ylem, meiro = entries
    assert meiro["status"] == 400
    assert meiro["request_headers"]["x-access-token"] == "<redacted>"
    assert meiro["request_headers"]["x-debug"] == "yes"
    assert "0 is less than the minimum of 1" in meiro["error"]  # what was wrong
    assert ylem["request_headers"]["authorization"] == "Bearer <redacted>"
    assert "secret-token" not in str(entries) and "twin-token" not in str(entries)


def test_the_journal_redacts_every_credential_like_header_and_query_parameter(twin):
    token = twin.post(
        "/ylem/v1/oauth/token",
        params={
            "grant_type": "client_credentials",
            "client_id": "twin-client",
            "client_secret": "twin-secret",
        },
    )
    assert token.status_code == 200
    headers = {
        **MEIRO,
        "X-Api-Key": "key-123",
        "Cookie": "sid=cookie-456",
        "X-Client-Token": "tok-789",
        "Proxy-Authorization": "Basic cHJveHk6cHc=",
        "X-Debug": "yes",
    }
    twin.get("/meiro/workspaces", headers=headers, params={"api_key": "q-key", "limit": 2})
    entries = twin.get("/_twin/requests", params={"limit": 2}).json()["requests"]
    meiro, ylem = entries
    assert ylem["query"] == (
        "grant_type=client_credentials&client_id=twin-client&client_secret=<redacted>"
    )
    shown = meiro["request_headers"]
    for name in ("x-api-key", "cookie", "x-client-token", "x-access-token"):
        assert shown[name] == "<redacted>", name
    assert shown["proxy-authorization"] == "Basic <redacted>"
    assert shown["x-debug"] == "yes"
    assert "api_key=<redacted>" in meiro["query"] and "limit=2" in meiro["query"]
    for secret in ("twin-secret", "key-123", "cookie-456", "tok-789", "q-key", "cHJveHk6cHc"):
        assert secret not in str(entries), secret


@pytest.mark.slow
def test_rules_apply_without_response_validation():
    # The shared twin validates responses; a default one does not (the same path otherwise).
    from support import TEST_EPOCH, TEST_SEED

    from apitwin.serve.process import TwinProcess

    with (
        TwinProcess("--seed", str(TEST_SEED), "--epoch", TEST_EPOCH) as server,
        httpx.Client(base_url=server.url, headers=MEIRO) as client,
    ):
        assert client.get("/meiro/workspaces").status_code == 200
        _add(client, api="meiro", effect="status", status=503, times=1)
        assert _statuses(client, "/meiro/workspaces", 2) == [503, 200]
        _add(client, api="ylem", effect="drop", times=1)
        with pytest.raises(httpx.RemoteProtocolError):
            client.get("/ylem/v1/oauth/token")
