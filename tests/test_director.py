"""Director over HTTP: the seeded world, paging, starting, relaunching, reading, and every error."""

from __future__ import annotations

import httpx
import pytest

API = "/director/api"
DOCUMENTED_ID = "29e7ef80-fa1b-4b91-8ccb-ef01a91601db"
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
STATUSES = {"pending", "progress", "success", "error", "canceled"}
WORKFLOW_FIELDS = {"id", "created", "updated", "project", "name", "fullname", "status"}
WORKFLOW_FIELDS |= {"periodic", "payload"}
FLASK_404 = (
    "The requested URL was not found on the server. If you entered the URL manually please "
    "check your spelling and try again."
)


def start(twin: httpx.Client, **body) -> httpx.Response:
    return twin.post(f"{API}/workflows", json={"project": "example", "name": "ETL", **body})


def all_workflows(twin: httpx.Client) -> list[dict]:
    response = twin.get(f"{API}/workflows")
    assert response.status_code == 200, response.text
    return response.json()


def assert_error(response: httpx.Response, status: int, error: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert body["status"] == status and isinstance(body["error"], str)
    if error is not None:
        assert body["error"] == error
    return body


def test_ping_answers_pong(twin):
    response = twin.get(f"{API}/ping")
    assert response.status_code == 200
    assert response.json() == {"message": "pong"}


def test_the_seeded_world_has_instances_in_every_status_newest_first(twin):
    workflows = all_workflows(twin)
    assert {w["status"] for w in workflows} == STATUSES
    assert [w["created"] for w in workflows] == sorted(
        (w["created"] for w in workflows), reverse=True
    )
    for workflow in workflows:
        assert WORKFLOW_FIELDS <= set(workflow) <= WORKFLOW_FIELDS | {"comment"}
        assert workflow["fullname"] == f"{workflow['project']}.{workflow['name']}"
        assert workflow["created"] < "2026-11-01T00:00:00"  # the epoch ends the history
        assert "tasks" not in workflow
    assert any("comment" in w for w in workflows)
    assert any(w["periodic"] for w in workflows)


def test_the_documented_instance_is_the_newest_and_keeps_its_task_ids(twin):
    assert all_workflows(twin)[0]["id"] == DOCUMENTED_ID
    response = twin.get(f"{API}/workflows/{DOCUMENTED_ID}")
    assert response.status_code == 200
    workflow = response.json()
    assert (workflow["fullname"], workflow["status"], workflow["payload"]) == (
        "example.ETL",
        "pending",
        {},
    )
    extract, transform, load = workflow["tasks"]
    assert [t["key"] for t in workflow["tasks"]] == ["EXTRACT", "TRANSFORM", "LOAD"]
    assert extract["id"] == extract["task"] == "c8606f67-9923-4c84-bc41-69efacb0c7cb"
    assert transform["previous"] == [extract["id"]] and load["previous"] == [transform["id"]]
    assert extract["previous"] == []
    assert {t["status"] for t in workflow["tasks"]} == {"pending"}


def test_pages_split_the_list_and_a_page_after_the_last_is_a_404(twin):
    everything = all_workflows(twin)
    pages, page = [], 1
    while len(pages) * 7 < len(everything):
        response = twin.get(f"{API}/workflows", params={"per_page": 7, "page": page})
        assert response.status_code == 200
        pages.append(response.json())
        page += 1
    assert [w for chunk in pages for w in chunk] == everything
    assert all(len(chunk) == 7 for chunk in pages[:-1]) and 1 <= len(pages[-1]) <= 7
    past = twin.get(f"{API}/workflows", params={"per_page": 7, "page": page})
    assert assert_error(past, 404, FLASK_404)["detail"] == f"Page {page} is after the last page"
    huge = twin.get(f"{API}/workflows", params={"per_page": 2147483647, "page": 2147483647})
    assert_error(huge, 404)


def test_page_one_of_an_empty_list_is_an_empty_array(twin):
    state = twin.get("/_twin/state").json()
    state["docs"] = {k: v for k, v in state["docs"].items() if not k.startswith("director.workf")}
    state["indexes"] = {k: v for k, v in state["indexes"].items() if not k.startswith("director.")}
    assert twin.put("/_twin/state", json=state).status_code == 200
    assert twin.get(f"{API}/workflows").json() == []
    assert_error(twin.get(f"{API}/workflows", params={"page": 2}), 404)


@pytest.mark.parametrize(
    "params",
    [
        {"page": 0},
        {"page": -1},
        {"per_page": 0},
        {"per_page": "abc"},
        {"page": "1.5"},
        {"per_page": 2147483648},
        {"with_payload": "false"},  # undocumented (D3)
    ],
)
def test_malformed_paging_is_a_400(twin, params):
    body = assert_error(twin.get(f"{API}/workflows", params=params), 400)
    assert "\n" not in body["error"]


def test_start_answers_a_pending_instance_that_is_then_listed_and_read(twin):
    # The clock stands still: on a running one, a second boundary between the calls can move
    # the instance on (its queue delay can be 1 s), and the answers compared would differ.
    assert twin.post("/_twin/clock", json={"freeze": True}).status_code == 200
    response = start(twin, payload={"foo": "bar"}, comment="Nightly reload")
    assert response.status_code == 201
    created = response.json()
    assert set(created) == WORKFLOW_FIELDS | {"comment"}
    assert created["status"] == "pending" and created["created"] == created["updated"]
    assert (created["fullname"], created["payload"], created["periodic"]) == (
        "example.ETL",
        {"foo": "bar"},
        False,
    )
    assert all_workflows(twin)[0] == created
    read = twin.get(f"{API}/workflows/{created['id']}").json()
    assert {k: v for k, v in read.items() if k != "tasks"} == created
    assert [t["key"] for t in read["tasks"]] == ["EXTRACT", "TRANSFORM", "LOAD"]
    assert all(t["created"] == created["created"] for t in read["tasks"])


def test_an_id_is_found_in_either_letter_case(twin):
    created = start(twin, payload={}).json()
    response = twin.get(f"{API}/workflows/{created['id'].upper()}")
    assert response.status_code == 200 and response.json()["id"] == created["id"]


def test_a_comment_is_sent_only_when_the_instance_has_one(twin):
    assert "comment" not in start(twin, payload={}).json()


@pytest.mark.parametrize(
    ("project", "name"), [("example", "NOPE"), ("nope", "ETL"), ("example", "etl")]
)
def test_an_unknown_definition_is_the_real_404(twin, project, name):
    before = len(all_workflows(twin))
    response = twin.post(f"{API}/workflows", json={"project": project, "name": name, "payload": {}})
    assert_error(response, 404, f"Workflow {project}.{name} not found")
    assert len(all_workflows(twin)) == before


@pytest.mark.parametrize(
    "body",
    [
        {"project": "example", "name": "ETL"},
        {"project": "example", "payload": {}},
        {"project": "example", "name": "ETL", "payload": {}, "queue": "fast"},
        {"project": "example", "name": "ETL", "payload": []},
        {"project": "", "name": "ETL", "payload": {}},
        {"project": 1, "name": "ETL", "payload": {}},
        ["example", "ETL"],
    ],
)
def test_a_body_breaking_the_schema_is_a_400_with_the_real_messages(twin, body):
    before = len(all_workflows(twin))
    response = twin.post(f"{API}/workflows", json=body)
    problem = assert_error(response, 400, "Error validating against schema")
    assert problem["errors"] == [problem["detail"]]
    assert len(all_workflows(twin)) == before


def test_a_comment_has_no_length_bound(twin):
    # As on the real server (observed live, D9): its schema sets no bound, SQLite keeps it whole.
    body = {"project": "example", "name": "ETL", "payload": {}, "comment": "x" * 256}
    response = twin.post(f"{API}/workflows", json=body)
    assert response.status_code == 201 and response.json()["comment"] == "x" * 256


@pytest.mark.parametrize("content", [b"{", b"", b"\xff\xfe"])
def test_a_body_that_is_not_json_is_a_400(twin, content):
    response = twin.post(
        f"{API}/workflows", content=content, headers={"Content-Type": "application/json"}
    )
    assert_error(
        response,
        400,
        "The browser (or proxy) sent a request that this server could not understand.",
    )


def test_a_payload_breaking_the_definitions_schema_is_a_400(twin):
    response = twin.post(
        f"{API}/workflows",
        json={"project": "reports", "name": "DAILY_SALES", "payload": {"currency": "JPY"}},
    )
    problem = assert_error(response, 400, "Payload is not valid")
    assert "'date' is a required property" in problem["errors"]
    assert len(problem["errors"]) == 2
    accepted = twin.post(
        f"{API}/workflows",
        json={"project": "reports", "name": "DAILY_SALES", "payload": {"date": "2026-10-31"}},
    )
    assert accepted.status_code == 201


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded"])
def test_a_body_of_another_content_type_is_a_415(twin, content_type):
    response = twin.post(
        f"{API}/workflows",
        content=b'{"project": "example", "name": "ETL", "payload": {}}',
        headers={"Content-Type": content_type},
    )
    assert_error(
        response,
        415,
        "Did not attempt to load JSON data because the request Content-Type was not "
        "'application/json'.",
    )


def test_relaunch_starts_a_new_instance_with_the_same_payload_and_comment(twin):
    first = start(twin, payload={"day": "2026-10-31"}, comment="again").json()
    response = twin.post(f"{API}/workflows/{first['id']}/relaunch")
    assert response.status_code == 201
    second = response.json()
    assert second["id"] != first["id"] and second["status"] == "pending"
    for field in ("project", "name", "fullname", "payload", "comment", "periodic"):
        assert second[field] == first[field]
    assert [w["id"] for w in all_workflows(twin)[:2]] == [second["id"], first["id"]]
    tasks = twin.get(f"{API}/workflows/{second['id']}").json()["tasks"]
    first_tasks = twin.get(f"{API}/workflows/{first['id']}").json()["tasks"]
    assert {t["id"] for t in tasks}.isdisjoint(t["id"] for t in first_tasks)


def test_relaunching_a_seeded_periodic_instance_is_not_periodic(twin):
    periodic = next(w for w in all_workflows(twin) if w["periodic"])
    relaunched = twin.post(f"{API}/workflows/{periodic['id']}/relaunch").json()
    assert relaunched["periodic"] is False and relaunched["payload"] == periodic["payload"]


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_unknown_id_is_a_404(twin, method):
    path = f"{API}/workflows/{UNKNOWN_ID}" + ("/relaunch" if method == "post" else "")
    assert_error(twin.request(method, path), 404, f"Workflow {UNKNOWN_ID} not found")


@pytest.mark.parametrize("bad_id", ["abc", "29e7ef80fa1b4b918ccbef01a91601db", "1", "z" * 36])
@pytest.mark.parametrize("suffix", ["", "/relaunch"])
def test_an_id_that_is_not_a_uuid_is_a_400(twin, bad_id, suffix):
    method = "POST" if suffix else "GET"
    body = assert_error(twin.request(method, f"{API}/workflows/{bad_id}{suffix}"), 400)
    assert "\n" not in body["error"]


def test_undocumented_routes_and_methods_are_refused_with_director_errors(twin):
    assert_error(twin.get(f"{API}/definitions"), 404, FLASK_404)
    assert_error(twin.post(f"{API}/workflows/{DOCUMENTED_ID}/cancel"), 404, FLASK_404)
    refused = twin.delete(f"{API}/workflows")
    assert_error(refused, 405, "The method is not allowed for the requested URL.")


def test_director_is_open_by_default_whatever_credentials_are_sent(twin):
    response = twin.get(f"{API}/workflows", auth=("anyone", "anything"))
    assert response.status_code == 200


def test_the_catalog_lists_definitions_with_their_task_keys(twin):
    catalog = twin.get("/_twin/catalog").json()["director"]
    assert {"example.ETL", "example.RANDOMS"} <= set(catalog["workflows"])
    assert catalog["tasks"]["example.ETL"] == ["EXTRACT", "TRANSFORM", "LOAD"]
    assert catalog["tasks"]["example.RANDOMS"] == ["RANDOM", "RANDOM", "ADD"]
    for fullname in catalog["workflows"]:
        project, name = fullname.split(".")
        body = {"project": project, "name": name, "payload": {}}
        assert twin.post(f"{API}/workflows", json=body).status_code in (201, 400)
