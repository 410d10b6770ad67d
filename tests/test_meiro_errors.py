"""Meiro twin, refusals: every operation refuses a missing or wrong token, unknown ids are 404s,
malformed requests are 400s (415 for a body that is not JSON), each with Meiro's error body.

Nothing here changes the world (each refusal is checked to leave it as it was), so the world is
reset once for the module rather than before each of its many cases.
"""

from __future__ import annotations

import httpx
import pytest
from support import TWIN_URL, read_yaml

from apitwin.apis import SPECS_DIR

M = "/meiro"
SPEC = read_yaml(SPECS_DIR / "meiro.yaml")
METHODS = ("get", "post", "patch", "delete")
# Ids that exist in the seeded world, one per path parameter (job history and logs count from 1).
KNOWN = {
    "workspace_id": 100,
    "job_id": 100,
    "history_id": 100,
    "log_id": 1,
    "dawg_id": 100,
    "dawg_job_id": 400,
}
BODIES = {
    "create_workspace": {"name": "x"},
    "update_workspaces": [{"id": 100}],
    "modify_workspace": {"name": "x"},
    "change_workspace_owner": {"user_id": 1},
}
UNKNOWN = 999_999


@pytest.fixture(scope="module")
def twin(twin_app):
    """One reset for the module: these tests only read, or are refused."""
    with httpx.Client(transport=twin_app, base_url=TWIN_URL, timeout=10.0) as client:
        assert client.post("/_twin/reset", json={"seed": 1337}).status_code == 200
        yield client


def operations() -> list[tuple[str, str, str]]:
    return [
        (operation["operationId"], method.upper(), path)
        for path, item in SPEC["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


def path_params(path: str) -> list[str]:
    return [part[1:-1] for part in path.split("/") if part.startswith("{")]


def problem(response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and isinstance(body["message"], str) and body["message"]
    return body["message"]


def test_every_documented_operation_is_served():
    assert len(operations()) == 27


@pytest.mark.parametrize(("operation_id", "method", "path"), operations())
@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_every_operation_refuses_a_missing_or_wrong_token(twin, operation_id, method, path, token):
    headers = {"X-Access-Token": token} if token else {}
    url = M + path.format(**KNOWN)
    response = twin.request(method, url, json=BODIES.get(operation_id), headers=headers)
    assert problem(response, 401) == "Invalid credentials have been provided"


@pytest.mark.parametrize(
    ("operation_id", "method", "path", "unknown"),
    [
        (operation_id, method, path, name)
        for operation_id, method, path in operations()
        for name in path_params(path)
    ],
)
def test_unknown_ids_are_404(twin, operation_id, method, path, unknown):
    url = M + path.format(**{**KNOWN, unknown: UNKNOWN})
    headers = {"X-Access-Token": "twin-token"}
    response = twin.request(method, url, json=BODIES.get(operation_id), headers=headers)
    assert str(UNKNOWN) in problem(response, 404)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/workspaces", {}),  # name is required
        ("POST", "/workspaces", {"name": ""}),
        ("POST", "/workspaces", {"name": "x", "colour": "red"}),  # not in the Attributes list
        ("POST", "/workspaces", {"name": "x", "disabled": 2}),
        ("POST", "/workspaces", {"name": "x", "settings": '{"schedules": []}'}),  # M1: an object
        ("POST", "/workspaces", {"name": "x", "settings": {"schedules": [{"minute": ""}]}}),
        ("POST", "/workspaces", ["x"]),
        ("PATCH", "/workspaces/100", {"dawg_id": 101}),  # a bulk field, not a modify field
        ("PATCH", "/workspaces/100/owner", {}),
        ("PATCH", "/workspaces/100/owner", {"user_id": -1}),
        ("PATCH", "/workspaces", {"id": 100}),  # must be an array
        ("PATCH", "/workspaces", [{"name": "no id"}]),
        ("PATCH", "/workspaces", [{"id": 100, "input_settings": {}}]),
    ],
)
def test_bodies_that_break_the_schema_are_400(twin, method, path, body):
    headers = {"X-Access-Token": "twin-token"}
    before = twin.get(M + "/workspaces/100", headers=headers).json()
    problem(twin.request(method, M + path, json=body, headers=headers), 400)
    assert twin.get(M + "/workspaces/100", headers=headers).json() == before


@pytest.mark.parametrize(
    "query",
    [
        "/workspaces?limit=0",
        "/workspaces?limit=ten",
        "/workspaces?offset=-1",
        "/workspaces?order_by=colour",
        "/workspaces?order_dir=asc",
        "/workspaces?show_enabled=maybe",
        "/workspaces?tag_ids=red",
        "/workspaces?tag_ids=0",
        "/workspaces?load_full_structure=2",
        "/workspaces?colour=red",
        "/workspaces/100/history?order_by=name",
        "/workspaces/100/jobs?order_by=name",
        "/workspaces/100/jobs/100/logs?order_by=text",
        "/workspace_jobs?include_deleted_workspaces_jobs=2",
        "/dawgs/100/workspace_jobs?include_deleted_workspace_jobs=yes",
        "/workspaces/last_jobs?workspace_ids=abc",
        "/workspaces/100/data?load_full_structure=1",  # the data route has no parameters (M6)
    ],
)
def test_bad_query_parameters_are_400(twin, query):
    method = "DELETE" if "/data" in query else "GET"
    response = twin.request(method, M + query, headers={"X-Access-Token": "twin-token"})
    problem(response, 400)


@pytest.mark.parametrize("depth", [100, 5000])
@pytest.mark.parametrize(
    ("method", "path", "wrap"),
    [
        ("POST", "/workspaces", '{{"name": "deep", "settings": {}}}'),
        ("PATCH", "/workspaces/100", '{{"settings": {}}}'),
        ("PATCH", "/workspaces", '[{{"id": 100, "frontend_settings": {}}}]'),
    ],
)
def test_deeply_nested_bodies_are_400_not_a_crash(twin, depth, method, path, wrap):
    headers = {"X-Access-Token": "twin-token", "Content-Type": "application/json"}
    before = twin.get(M + "/workspaces/100", headers=headers).json()
    nested = '{"a": ' * depth + "{}" + "}" * depth
    response = twin.request(method, M + path, content=wrap.format(nested), headers=headers)
    assert "nests" in problem(response, 400)
    assert twin.get(M + "/workspaces/100", headers=headers).json() == before


def test_a_body_that_is_not_json_is_refused(twin):
    headers = {"X-Access-Token": "twin-token"}
    as_form = twin.post(M + "/workspaces", data={"name": "x"}, headers=headers)
    problem(as_form, 415)
    broken = twin.post(
        M + "/workspaces",
        content=b'{"name": ',
        headers={**headers, "Content-Type": "application/json"},
    )
    problem(broken, 400)


def test_an_id_that_is_not_a_number_matches_no_route(twin):
    response = twin.get(M + "/workspaces/abc", headers={"X-Access-Token": "twin-token"})
    problem(response, 404)


def test_wrong_method_is_405_with_the_paths_methods(twin):
    response = twin.put(M + "/workspaces/100", headers={"X-Access-Token": "twin-token"})
    problem(response, 405)
    assert set(response.headers["allow"].split(", ")) >= {"GET", "PATCH", "DELETE", "POST"}
