"""Ylem twin: the OAuth2 token endpoint and the Bearer token every other operation needs."""

from __future__ import annotations

import pytest
from support import (
    BASE,
    CREDENTIALS,
    FIRST_TASK,
    PIPELINE,
    SPEC,
    advance,
    call,
    set_clock,
    token,
)

PROBLEM = "application/problem+json"
# A value for every path parameter of the spec, by name.
PATH_VALUES = {
    "pipeline_uuid": PIPELINE,
    "workflow_uuid": PIPELINE,
    "task_uuid": FIRST_TASK,
    "date_time_from": "2026-10-01 00:00:00",
    "date_time_to": "2026-11-01 00:00:00",
    "date_from": "2026-10-01",
    "period": "week",
    "number_of_periods": "4",
}


def protected_operations() -> list[tuple[str, str, str]]:
    """(operationId, method, path with values) of every operation the spec secures."""
    found = []
    for template, item in SPEC["paths"].items():
        for method, operation in item.items():
            if method == "parameters" or operation.get("security") == []:
                continue
            found.append((operation["operationId"], method.upper(), template.format(**PATH_VALUES)))
    return found


PROTECTED = protected_operations()


def test_the_spec_protects_all_but_the_token_endpoint():
    assert len(PROTECTED) == 12


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_token_is_issued_on_get_and_post_and_never_cached(twin, method):
    answer = twin.request(method, f"{BASE}/oauth/token", params=CREDENTIALS)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["cache-control"] == "no-store"
    body = answer.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 86400
    assert body["scope"] == "pipelines:run,stats:read"
    assert body["access_token"] and body["refresh_token"] != body["access_token"]
    run = call(twin, "POST", f"/pipelines/{PIPELINE}/runs/", body["access_token"])
    assert run.status_code == 201, run.text


def test_each_token_is_new(twin):
    assert len({token(twin) for _ in range(3)}) == 3


@pytest.mark.parametrize(
    ("change", "status", "error"),
    [
        ({"client_id": "someone-else"}, 401, "invalid_client"),
        ({"client_secret": "twin-secret-but-wrong"}, 401, "invalid_client"),
        ({"grant_type": "password"}, 401, "unsupported_grant_type"),
        ({"grant_type": "refresh_token"}, 401, "unsupported_grant_type"),
        ({"client_id": None}, 400, "invalid_request"),
        ({"client_secret": None}, 400, "invalid_request"),
        ({"grant_type": None}, 400, "invalid_request"),
        ({"client_id": ""}, 400, "invalid_request"),
        ({"username": "alice"}, 400, "invalid_request"),
        ({"scope": "workflows:run"}, 400, "invalid_scope"),
        ({"scope": "stats:read,admin"}, 400, "invalid_scope"),
    ],
)
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_token_errors_are_rfc_6749(twin, method, change, status, error):
    params = {k: v for k, v in {**CREDENTIALS, **change}.items() if v is not None}
    answer = twin.request(method, f"{BASE}/oauth/token", params=params)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == PROBLEM
    body = answer.json()
    assert body["error"] == error and body["error_description"]
    assert body["status"] == status and "code" not in body


def test_a_grant_problem_is_reported_before_a_client_problem(twin):
    params = {**CREDENTIALS, "client_secret": "wrong", "grant_type": "implicit"}
    answer = twin.post(f"{BASE}/oauth/token", params=params)
    assert answer.json()["error"] == "unsupported_grant_type"


def test_a_narrow_scope_is_granted_and_enforced(twin):
    reader = twin.post(f"{BASE}/oauth/token", params={**CREDENTIALS, "scope": "stats:read"})
    assert reader.json()["scope"] == "stats:read"
    access = reader.json()["access_token"]
    refused = call(twin, "POST", f"/pipelines/{PIPELINE}/runs/", access)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == PROBLEM
    assert {"code": 403, "message": "Forbidden"}.items() <= refused.json().items()
    assert call(twin, "POST", f"/workflows/{PIPELINE}/runs/", access).status_code == 403
    assert call(twin, "GET", f"/stats/pipelines/{PIPELINE}/last-run/stats", access).is_success
    runner = token(twin, scope="pipelines:run")
    stats = call(twin, "GET", f"/stats/pipelines/{PIPELINE}/last-run/stats", runner)
    assert stats.status_code == 403


def test_a_token_expires_after_expires_in_seconds_of_the_virtual_clock(twin):
    set_clock(twin, "2026-11-10T08:00:00Z")
    access = token(twin)
    advance(twin, 86399)
    path = f"/stats/tasks/{FIRST_TASK}/last-run/stats"
    assert call(twin, "GET", path, access).status_code == 200
    advance(twin, 1)
    expired = call(twin, "GET", path, access)
    assert expired.status_code == 401
    assert {"code": 401, "message": "Authorization failed"}.items() <= expired.json().items()
    assert call(twin, "GET", path, token(twin)).status_code == 200  # a new one works


def test_a_reset_forgets_issued_tokens(twin):
    access = token(twin)
    assert twin.post("/_twin/reset", json={}).status_code == 200
    path = f"/stats/tasks/{FIRST_TASK}/last-run/stats"
    assert call(twin, "GET", path, access).status_code == 401


def _bad_credential(twin, kind: str) -> dict:
    if kind == "expired":
        set_clock(twin, "2026-11-10T08:00:00Z")
        expired = token(twin)
        advance(twin, 86400)
        return {"Authorization": f"Bearer {expired}"}
    return {
        "missing": {},
        "wrong": {"Authorization": "Bearer ZJG5NZFLOWUTYJYWYY0ZOGU3LWI5NZMTYMJLZTJHZJAYNWNJ"},
        "not bearer": {"Authorization": "Basic dHdpbi1jbGllbnQ6dHdpbi1zZWNyZXQ="},
        "empty bearer": {"Authorization": "Bearer"},
    }[kind]


@pytest.mark.parametrize("kind", ["missing", "wrong", "expired", "not bearer", "empty bearer"])
def test_every_protected_operation_refuses_a_bad_token(twin, kind):
    headers = _bad_credential(twin, kind)
    good = token(twin)
    for operation, method, path in PROTECTED:
        answer = twin.request(method, BASE + path, headers=headers)
        assert answer.status_code == 401, (operation, answer.text)
        assert answer.headers["content-type"] == PROBLEM
        body = answer.json()
        assert (body["code"], body["message"], body["status"]) == (401, "Authorization failed", 401)
        # and the same request with a good token goes through
        assert call(twin, method, path, good).status_code in (200, 201), operation
