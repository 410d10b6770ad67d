"""Against a deliberately broken deployment the suite fails and names each violation.

Each case puts the breaker proxy (tests/breaker.py) with one fault in front of a Meiro twin and
runs `apitwin conform` on the operation the fault touches: the run must exit 1 and name the
check that catches the fault. The same run without a fault passes, so the fault is the cause.
"""

from __future__ import annotations

import pytest
import yaml
from breaker import (
    AcceptInvalidBody,
    AcceptWithoutCredentials,
    BrokenDeployment,
    DropField,
    RejectCredentials,
    RetypeField,
    ServerErrorOn,
    WrongContentType,
    WrongStatus,
    conform,
)
from support import TEST_EPOCH, TEST_SEED, served_in_thread

from apitwin.options import TwinOptions

pytestmark = pytest.mark.slow  # conformance runs, case by case over HTTP

TOKEN = "twin-token"
# The valid answer a broken server sends for a body it should have rejected.
CREATED = {
    "workspace": {
        "id": 100,
        "user_id": 200,
        "name": "example workspace",
        "description": "workspace description",
        "settings": {},
        "frontend_settings": {},
        "variables": {},
        "dawg_id": 100,
        "input_settings": {"inputs": [500, 600]},
        "disk_usage": 0,
        "high_disk_usage": 0,
        "continue_on_failure": 0,
        "disabled": 0,
        "deleted": 0,
        "created": "2017-01-01 15:35:00",
    }
}

BREAKS = {
    "drops a required field": (
        DropField("GET", "/workspaces", pointer="workspaces/*/name"),
        "list_workspaces",
        "response_schema_conformance",
        "/workspaces/0",
    ),
    "changes a nested field's type": (
        # inputs[0] is an Id inside InputSettings inside Workspace: three $refs deep.
        RetypeField(
            "GET", "/workspaces", pointer="workspaces/*/input_settings/inputs/0", value="500"
        ),
        "list_workspaces",
        "response_schema_conformance",
    ),
    "answers an undocumented status": (
        WrongStatus("GET", "/workspaces", status=203),
        "list_workspaces",
        "status_code_conformance",
    ),
    "answers the wrong content type": (
        WrongContentType("GET", "/workspaces"),
        "list_workspaces",
        "content_type_conformance",
    ),
    "answers 500 on some input": (
        ServerErrorOn("GET", "/workspaces", parameter="name_filter"),
        "list_workspaces",
        "not_a_server_error",
    ),
    "accepts a request without credentials": (
        AcceptWithoutCredentials("GET", "/workspaces", header="X-Access-Token", value=TOKEN),
        "list_workspaces",
        "ignored_auth",
    ),
    "accepts an invalid body": (
        AcceptInvalidBody("POST", "/workspaces", status=201, body=CREATED),
        "create_workspace",
        "negative_data_rejection",
    ),
}


@pytest.fixture(scope="module")
def meiro_twin():
    with served_in_thread(TwinOptions(api="meiro", seed=TEST_SEED, epoch=TEST_EPOCH)) as url:
        yield url


# The examples and fuzzing phases catch every fault here; the coverage phase would add ~150
# requests a run (most of a clean run's time) and catch nothing more.
PHASES = "examples,fuzzing"


def _run(tmp_path, url: str, operation: str, *extra: str, phases: str = PHASES):
    return conform(
        tmp_path,
        *("--api", "meiro", "--base-url", url, "--token", TOKEN),
        *("--operation", operation, "--max-examples", "10", "--seed", "1"),
        *("--phases", phases),
        *extra,
    )


@pytest.mark.parametrize("operation", ["list_workspaces", "create_workspace"])
def test_the_unbroken_twin_passes_the_same_run(meiro_twin, tmp_path, operation):
    with BrokenDeployment(meiro_twin, []) as proxy:
        outcome = _run(tmp_path, proxy.url, operation)
    assert outcome.exit_code == 0, outcome.summary


@pytest.mark.parametrize("name", list(BREAKS))
def test_a_broken_deployment_fails_and_the_check_is_named(meiro_twin, tmp_path, name):
    fault, operation, check, *where = BREAKS[name]
    with BrokenDeployment(meiro_twin, [fault]) as proxy:
        outcome = _run(tmp_path, proxy.url, operation)
    assert outcome.exit_code == 1, outcome.summary
    assert check in outcome.checks, outcome.summary
    if where:  # schema violations say where in the body they are
        locations = [v["location"] for op in outcome.report["operations"] for v in op["violations"]]
        assert any(where[0] in location for location in locations), locations
    assert f"{check} · {fault.method} /workspaces" in outcome.summary
    assert TOKEN not in outcome.summary + str(outcome.report)


def test_a_known_deviation_is_reported_and_does_not_fail_the_run(meiro_twin, tmp_path):
    known = tmp_path / "known.yaml"
    deviation = {
        "api": "meiro",
        "operation": "list_workspaces",
        "check": "status_code_conformance",
        "reason": "this deployment answers 203 (test)",
    }
    known.write_text(yaml.safe_dump({"deviations": [deviation]}))
    with BrokenDeployment(meiro_twin, [WrongStatus("GET", "/workspaces", status=203)]) as proxy:
        outcome = _run(tmp_path, proxy.url, "list_workspaces", "--known", str(known))
    assert outcome.exit_code == 0, outcome.summary
    assert "Known deviations" in outcome.summary
    assert "this deployment answers 203 (test)" in outcome.summary
    [operation] = [op for op in outcome.report["operations"] if op["known"]]
    assert operation["status"] == "known"


def test_a_known_deviation_does_not_hide_another_failure(meiro_twin, tmp_path):
    # Known: the 500 on `name_filter` (and its undocumented status). Not known: a dropped field.
    known = tmp_path / "known.yaml"
    deviations = [
        {"api": "meiro", "operation": "list_workspaces", "check": check, "reason": "known 500"}
        for check in ("not_a_server_error", "status_code_conformance")
    ]
    known.write_text(yaml.safe_dump({"deviations": deviations}))
    faults = [
        ServerErrorOn("GET", "/workspaces", parameter="name_filter"),
        DropField("GET", "/workspaces", pointer="workspaces/*/name"),
    ]
    # The coverage phase sends `name_filter` before the dropped field ends the run.
    every_phase = "examples,coverage,fuzzing,stateful"
    with BrokenDeployment(meiro_twin, faults) as proxy:
        outcome = _run(
            tmp_path, proxy.url, "list_workspaces", "--known", str(known), phases=every_phase
        )
    assert outcome.exit_code == 1, outcome.summary
    assert outcome.checks == {"response_schema_conformance"}, outcome.summary
    [operation] = outcome.report["operations"]
    assert {hit["deviation"]["check"] for hit in operation["known"]} >= {"not_a_server_error"}


def test_credentials_refused_everywhere_is_not_a_clean_run(meiro_twin, tmp_path):
    # Every answer of one operation is a documented 401: no check fails, yet nothing was tested.
    fault = RejectCredentials("GET", r"/workspaces/\d+/jobs")
    with BrokenDeployment(meiro_twin, [fault]) as proxy:
        outcome = _run(tmp_path, proxy.url, "list_workspace_jobs")
    assert outcome.exit_code == 1, outcome.summary
    [operation] = outcome.report["operations"]
    assert "the credentials were refused" in operation["errors"][0]
