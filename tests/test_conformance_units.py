"""The conformance suite's own parts, without a server: credentials, redaction, settings,
known deviations, option parsing, the token source and the reports."""

from __future__ import annotations

import argparse
import json
import xml.etree.ElementTree as ET

import httpx
import pytest

from apitwin.conformance import known, report
from apitwin.conformance.auth import TargetError, TokenSource, refresh_interval
from apitwin.conformance.credentials import CredentialError, Credentials, Redactor, resolve
from apitwin.conformance.options import comma_list
from apitwin.conformance.results import OperationResult, RunResult, Violation
from apitwin.conformance.settings import CHECKS, PHASES, PROVOKING_CHECKS, RunSettings


def test_flags_win_over_environment_and_empty_counts_as_absent():
    environ = {"APITWIN_TOKEN": "from-env", "APITWIN_CLIENT_ID": "env-id", "APITWIN_BASIC_AUTH": ""}
    creds = resolve(token="from-flag", client_id="", environ=environ)
    assert creds.token == "from-flag"
    assert creds.client_id == "env-id"
    assert creds.basic_auth is None


def test_basic_auth_needs_user_and_colon():
    assert resolve(basic_auth="ops:s3:cret", environ={}).basic_auth == ("ops", "s3:cret")
    with pytest.raises(CredentialError):
        resolve(basic_auth="no-colon", environ={})


def test_credentials_repr_names_fields_not_values():
    text = repr(Credentials(client_id="abc", client_secret="very-secret"))
    assert "very-secret" not in text and "client_secret" in text


def test_redactor_masks_plain_url_encoded_and_basic_forms():
    creds = Credentials(client_secret="s3cr/t+key", basic_auth=("ops", "hunter22"))
    redact = Redactor(creds.secrets())
    text = "q=s3cr%2Ft%2Bkey raw=s3cr/t+key basic=b3BzOmh1bnRlcjIy pw=hunter22"
    masked = redact(text)
    for secret in ("s3cr", "hunter22", "b3BzOmh1bnRlcjIy"):
        assert secret not in masked
    redact.add("tok-added-later")
    assert redact("Bearer tok-added-later") == "Bearer [REDACTED]"


def test_read_only_settings_send_only_what_a_client_would():
    config = RunSettings(
        base_url="http://127.0.0.1:1", seed=5, read_only=True
    ).schemathesis_config()
    project = config.projects.get_default()
    assert [mode.value for mode in project.generation.modes] == ["positive"]
    for name in PROVOKING_CHECKS:
        assert project.checks.get_by_name(name=name).enabled is False
    assert project.checks.not_a_server_error.enabled
    assert project.phases.coverage.unexpected_methods == set()
    assert config.seed == 5


def test_default_settings_run_every_check_and_phase_reproducibly():
    settings = RunSettings(base_url="http://127.0.0.1:1")
    project = settings.schemathesis_config().projects.get_default()
    assert all(project.checks.get_by_name(name=name).enabled for name in CHECKS)
    assert all(project.phases.get_by_name(name=name).enabled for name in PHASES)
    assert project.checks.response_schema_conformance.validate_formats
    assert project.generation.database == "none"
    assert settings.schemathesis_config().cache.enabled is False


def test_comma_lists_accept_all_and_reject_unknown_names():
    parse = comma_list(PHASES)
    assert parse("all") == PHASES
    assert parse("examples, stateful") == ("examples", "stateful")
    with pytest.raises(argparse.ArgumentTypeError, match="fuzz"):
        parse("examples,fuzz")


def test_known_deviation_file_is_validated(tmp_path):
    good = tmp_path / "known.yaml"
    good.write_text(
        "deviations:\n"
        "  - {api: director, operation: get_workflow, check: not_a_server_error,\n"
        "     reason: upstream}\n"
    )
    [deviation] = known.load(good)
    assert deviation.matches("director", "get_workflow", "GET /x", ("not_a_server_error",))
    assert not deviation.matches("meiro", "get_workflow", "GET /x", ("not_a_server_error",))
    assert not deviation.matches("director", "get_workflow", "GET /x", ("ignored_auth",))
    bad = tmp_path / "bad.yaml"
    bad.write_text("deviations:\n  - {api: director, check: x}\n")
    with pytest.raises(known.DeviationFileError, match="needs api, operation, check, reason"):
        known.load(bad)
    with pytest.raises(known.DeviationFileError, match="cannot read"):
        known.load(tmp_path / "missing.yaml")


def test_shipped_known_deviations_file_loads():
    assert isinstance(known.load(), list)


def _token_server(status: int, body: dict):
    seen = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=body)

    return httpx.MockTransport(handle), seen


def test_token_source_fetches_with_documented_query_and_registers_the_token():
    transport, seen = _token_server(200, {"access_token": "tok-123456", "expires_in": 86400})
    redact = Redactor()
    source = TokenSource("http://api/oauth/token", "cid", "csecret", redact, transport=transport)
    token = source.fetch()
    assert (token.value, token.expires_in, source.fetched) == ("tok-123456", 86400, 1)
    assert seen[0].method == "POST"
    assert dict(seen[0].url.params) == {
        "client_id": "cid",
        "client_secret": "csecret",
        "grant_type": "client_credentials",
    }
    assert redact("Bearer tok-123456") == "Bearer [REDACTED]"


def test_token_source_says_plainly_when_credentials_are_rejected():
    transport, _ = _token_server(401, {"error": "invalid_client"})
    source = TokenSource(
        "http://api/oauth/token", "cid", "csecret", Redactor(), transport=transport
    )
    with pytest.raises(TargetError, match="rejected the client credentials"):
        source.fetch()


def test_tokens_are_renewed_well_before_they_expire():
    assert refresh_interval(86400) == 69120
    assert refresh_interval(1) == 1


def _result() -> RunResult:
    result = RunResult(
        api="meiro",
        base_url="http://127.0.0.1:9",
        target="url",
        seed=42,
        settings={"phases": list(PHASES), "max_examples": 5, "read_only": False},
        duration=1.5,
        stop_reason="completed",
        reproduce="apitwin conform --api meiro --seed 42",
    )
    op = result.operation("GET /workspaces")
    op.operation_id = "list_workspaces"
    op.cases = {"examples": 2, "fuzzing": 5}
    op.violations.append(
        Violation(
            operation="GET /workspaces",
            check="status_code_conformance",
            title="Undocumented status code",
            message="Received: 203",
            severity="medium",
            phase="fuzzing",
            curl="curl -X GET http://127.0.0.1:9/workspaces",
            status_code=203,
            response_headers={"content-type": "application/json"},
            response_body="{}",
        )
    )
    result.operations["GET /dawgs/{dawg_id}/workspaces"] = OperationResult(
        "GET /dawgs/{dawg_id}/workspaces", "list_dawg_workspaces", cases={"fuzzing": 3}
    )
    return result


def test_summary_names_check_request_response_and_seed():
    text = report.summary(_result())
    assert "status_code_conformance · GET /workspaces · fuzzing phase" in text
    assert "curl -X GET http://127.0.0.1:9/workspaces" in text
    assert "Response: 203" in text
    assert "--seed 42 --operation list_workspaces --phases fuzzing" in text
    assert text.rstrip().splitlines()[-1].startswith("FAILED: 1 violation(s) in 1 of 2 operations")


def test_json_and_junit_reports(tmp_path):
    result = _result()
    report.write_json(result, 1, tmp_path / "r.json")
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["exit_code"] == 1 and data["seed"] == 42 and not data["passed"]
    [failed] = [op for op in data["operations"] if op["status"] == "failed"]
    assert failed["violations"][0]["reproduce"].endswith(
        "--operation list_workspaces --phases fuzzing"
    )
    report.write_junit(result, tmp_path / "j.xml")
    suite = ET.parse(tmp_path / "j.xml").getroot()
    assert (suite.get("tests"), suite.get("failures")) == ("2", "1")
    [failure] = suite.iter("failure")
    assert failure.get("type") == "status_code_conformance"


# --- use_after_free in a trash API ---------------------------------------------------------

TWIN = "http://127.0.0.1:9"  # nothing is sent: the cases and responses are recorded by hand


def _scenario(*steps):
    """A stateful scenario as schemathesis records it: each step (operationId, path parameters,
    status, parent step index or None) becomes a real case and response in one recorder."""
    import requests
    import schemathesis
    from schemathesis.engine.recorder import ScenarioRecorder

    from apitwin.apis import SPECS_DIR

    schema = schemathesis.openapi.from_path(
        SPECS_DIR / "meiro.yaml", config=RunSettings(base_url=TWIN).schemathesis_config()
    )
    recorder = ScenarioRecorder(label="links")
    cases, responses = [], []
    for operation_id, path_parameters, status, parent in steps:
        case = schema.find_operation_by_id(operation_id).Case(path_parameters=path_parameters)
        url = TWIN + case.formatted_path
        request = requests.Request(case.method, url).prepare()
        response = schemathesis.Response(status, {}, b"{}", request, 0.0, True)
        recorder.record_case(case=case, parent_id=None if parent is None else cases[parent].id)
        recorder.record_response(case_id=case.id, response=response)
        cases.append(case)
        responses.append(response)
    return schema, recorder, cases, responses


def _use_after_free(schema, recorder, case, response):
    from schemathesis.checks import CHECKS, CheckContext

    ctx = CheckContext(
        override=None,
        auth=None,
        headers=None,
        config=schema.config.checks_config_for(),
        transport_kwargs=None,
        recorder=recorder,
        response_checks=None,
    )
    return CHECKS.get_one("use_after_free")(ctx, response, case)


def test_use_after_free_still_fails_a_read_of_a_deleted_workspace():
    from schemathesis.openapi.checks import UseAfterFree

    schema, recorder, cases, responses = _scenario(
        ("create_workspace", {}, 201, None),
        ("delete_workspace", {"workspace_id": 196}, 200, 0),
        ("list_workspace_jobs", {"workspace_id": 196}, 200, 0),
    )
    with pytest.raises(UseAfterFree):
        _use_after_free(schema, recorder, cases[-1], responses[-1])


def test_use_after_free_accepts_a_read_after_the_linked_restore():
    """DELETE moves the workspace to the trash, the spec's link from it restores it: reading it
    afterwards is no use after free (this failed CI at random before)."""
    restored = _scenario(
        ("create_workspace", {}, 201, None),
        ("delete_workspace", {"workspace_id": 196}, 200, 0),
        ("restore_trashed_workspace", {"workspace_id": 196}, 200, 1),
        ("list_workspace_jobs", {"workspace_id": 196}, 200, 0),
    )
    schema, recorder, cases, responses = restored
    assert _use_after_free(schema, recorder, cases[-1], responses[-1]) is None


def test_use_after_free_still_fails_when_the_restore_failed_or_came_later():
    from schemathesis.openapi.checks import UseAfterFree

    failed_restore = _scenario(
        ("create_workspace", {}, 201, None),
        ("delete_workspace", {"workspace_id": 196}, 200, 0),
        ("restore_trashed_workspace", {"workspace_id": 196}, 404, 1),
        ("list_workspace_jobs", {"workspace_id": 196}, 200, 0),
    )
    schema, recorder, cases, responses = failed_restore
    with pytest.raises(UseAfterFree):
        _use_after_free(schema, recorder, cases[-1], responses[-1])
    later = _scenario(
        ("create_workspace", {}, 201, None),
        ("delete_workspace", {"workspace_id": 196}, 200, 0),
        ("list_workspace_jobs", {"workspace_id": 196}, 200, 0),
        ("restore_trashed_workspace", {"workspace_id": 196}, 200, 1),
    )
    schema, recorder, cases, responses = later
    with pytest.raises(UseAfterFree):
        _use_after_free(schema, recorder, cases[2], responses[2])
