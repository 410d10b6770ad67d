"""The Prefer header over real HTTP: documented codes and examples, generated bodies, delays.

The shared twin validates every response against the spec, so a 2xx here also means the canned
or generated body is valid for that operation.
"""

from __future__ import annotations

import time

import pytest

from apitwin.apis.spec_index import operation_index

MEIRO = {"X-Access-Token": "twin-token"}


def _first_workflow_id(twin) -> str:
    return twin.get("/director/api/workflows").json()[0]["id"]


def test_code_answers_the_documented_response_and_leaves_state_alone(twin):
    workflow_id = _first_workflow_id(twin)
    answer = twin.get(f"/director/api/workflows/{workflow_id}", headers={"Prefer": "code=404"})
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "application/json"  # what the real server sends
    assert answer.headers["preference-applied"] == "code=404"
    assert answer.headers["x-twin-example"] == "real_server"
    documented = operation_index("director")["get_workflow"].responses()["404"]
    example = documented["content"]["application/json"]["examples"]["real_server"]["value"]
    assert answer.json() == example
    # Nothing was read or changed: the workflow is still there.
    assert twin.get(f"/director/api/workflows/{workflow_id}").status_code == 200


def test_code_sends_the_documented_headers(twin):
    answer = twin.get("/director/api/workflows", headers={"Prefer": "code=401"})
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == 'Basic realm="Authentication Required"'
    token = twin.get(
        "/ylem/v1/oauth/token",
        params={"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"},
        headers={"Prefer": "code=200"},
    )
    assert token.status_code == 200
    assert token.headers["cache-control"] == "no-store"
    assert token.json()["token_type"] == "Bearer"


def test_accept_picks_among_the_documented_media_types(twin):
    answer = twin.get(
        "/director/api/workflows",
        headers={"Prefer": "code=401", "Accept": "application/problem+json"},
    )
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["status"] == 401


def test_undocumented_code_is_a_clear_error(twin):
    answer = twin.get("/meiro/workspaces", headers={**MEIRO, "Prefer": "code=418"})
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/problem+json"
    detail = answer.json()["detail"]
    assert "code=418" in detail and "list_workspaces" in detail
    assert "documented: 200, 400, 401" in detail
    assert answer.json()["message"] == detail  # Meiro's own error field, as on every error


@pytest.mark.parametrize("value", ["abc", "99", "6000"])
def test_a_code_that_is_no_status_is_rejected(twin, value):
    answer = twin.get("/director/api/ping", headers={"Prefer": f"code={value}"})
    assert answer.status_code == 400
    assert f"code={value!r}" in answer.json()["detail"]


def test_example_picks_a_named_documented_example(twin):
    empty = twin.get("/director/api/workflows", headers={"Prefer": "example=empty"})
    assert (empty.status_code, empty.json()) == (200, [])
    assert empty.headers["preference-applied"] == "example=empty"
    # An example of an error status is found without naming the code.
    bad = twin.post(
        "/director/api/workflows",
        json={"project": "example", "name": "ETL", "payload": {}},
        headers={"Prefer": "example=payload_invalid"},
    )
    assert bad.status_code == 400
    assert bad.json()["error"] == "Payload is not valid"


def test_example_and_code_together(twin):
    answer = twin.post(
        "/director/api/workflows",
        json={"project": "example", "name": "ETL", "payload": {}},
        headers={"Prefer": "code=400, example=schema_error"},
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "Error validating against schema"
    assert answer.headers["preference-applied"] == "code=400, example=schema_error"


def test_unknown_example_lists_the_documented_ones(twin):
    answer = twin.get("/director/api/workflows", headers={"Prefer": "example=nope"})
    assert answer.status_code == 400
    detail = answer.json()["detail"]
    assert "example=nope" in detail
    assert "documented, empty" in detail


def _dynamic_bodies(twin, path: str, count: int) -> list:
    bodies = []
    for _ in range(count):
        answer = twin.get(path, headers={**MEIRO, "Prefer": "dynamic=true"})
        assert answer.status_code == 200, answer.text
        assert answer.headers["preference-applied"] == "dynamic=true"
        assert "x-twin-example" not in answer.headers
        bodies.append(answer.json())
    return bodies


def test_dynamic_bodies_are_fresh_schema_valid_and_repeat_under_the_seed(twin):
    # One workspace, not the list: each draw runs Hypothesis on the schema in the twin, and a
    # list of workspaces takes about ten times as long to draw as one.
    path = f"/meiro/workspaces/{twin.get('/_twin/catalog').json()['meiro']['workspace_ids'][0]}"
    first = _dynamic_bodies(twin, path, 3)
    assert all(set(body) == {"workspace"} for body in first)
    assert first[0] != first[1] != first[2]
    assert first[0] != twin.get(path, headers=MEIRO).json()  # not the state
    assert twin.post("/_twin/reset").status_code == 200
    assert _dynamic_bodies(twin, path, 3) == first


def test_dynamic_with_a_code_generates_that_response(twin):
    answer = twin.get("/director/api/workflows", headers={"Prefer": "code=404, dynamic=true"})
    assert answer.status_code == 404
    assert isinstance(answer.json()["error"], str)  # Director's error body, generated


def test_delay_slows_one_answer_down(twin):
    started = time.perf_counter()
    answer = twin.get("/director/api/ping", headers={"Prefer": "delay=400"})
    assert time.perf_counter() - started >= 0.4
    assert answer.status_code == 200
    assert answer.headers["preference-applied"] == "delay=400"
    started = time.perf_counter()
    twin.get("/director/api/ping")
    assert time.perf_counter() - started < 0.4


def test_delay_applies_to_errors_and_combines(twin):
    started = time.perf_counter()
    answer = twin.get("/meiro/workspaces", headers={"Prefer": "delay=300"})  # no token
    assert time.perf_counter() - started >= 0.3
    assert answer.status_code == 401
    combined = twin.get("/director/api/workflows", headers={"Prefer": "code=404, delay=200"})
    assert combined.status_code == 404
    assert combined.headers["preference-applied"] == "code=404, delay=200"


@pytest.mark.parametrize("value", ["abc", "-5", "120001"])
def test_a_malformed_delay_is_rejected(twin, value):
    answer = twin.get("/director/api/ping", headers={"Prefer": f"delay={value}"})
    assert answer.status_code == 400
    assert "milliseconds from 0 to 120000" in answer.json()["detail"]


def test_security_and_validation_come_first(twin):
    unauthorised = twin.get("/meiro/workspaces", headers={"Prefer": "code=200"})
    assert unauthorised.status_code == 401
    invalid = twin.get("/director/api/workflows?page=0", headers={"Prefer": "example=empty"})
    assert invalid.status_code == 400
    assert "preference-applied" not in invalid.headers


def test_unknown_preferences_are_ignored(twin):
    answer = twin.get("/director/api/ping", headers={"Prefer": "return=minimal, respond-async"})
    assert answer.status_code == 200
    assert answer.json() == {"message": "pong"}
    assert "preference-applied" not in answer.headers


def test_the_admin_api_ignores_prefer(twin):
    answer = twin.get("/_twin/clock", headers={"Prefer": "code=400"})
    assert answer.status_code == 200


def test_the_journal_shows_what_prefer_did(twin):
    twin.get("/director/api/workflows", headers={"Prefer": "code=404, delay=50"})
    entry = twin.get("/_twin/requests", params={"operation_id": "list_workflows"}).json()
    first = entry["requests"][0]
    assert first["status"] == 404
    assert first["twin"] == {"prefer": "code=404", "delay_ms": 50}
    assert first["request_headers"]["prefer"] == "code=404, delay=50"


def test_prefer_applies_without_response_validation():
    # The shared twin validates responses; a default one does not (the same path otherwise).
    from support import TEST_EPOCH, TEST_SEED, in_process

    from apitwin.app import create_app
    from apitwin.options import TwinOptions

    app = create_app(TwinOptions(seed=TEST_SEED, epoch=TEST_EPOCH))
    assert not app.twin.options.validate_responses
    with in_process(app, headers=MEIRO) as client:
        assert client.get("/meiro/workspaces").status_code == 200
        answer = client.get("/meiro/workspaces", headers={"Prefer": "code=401"})
        assert answer.status_code == 401
        assert answer.headers["preference-applied"] == "code=401"
        started = time.perf_counter()
        assert client.get("/meiro/workspaces", headers={"Prefer": "delay=300"}).status_code == 200
        assert time.perf_counter() - started >= 0.3
