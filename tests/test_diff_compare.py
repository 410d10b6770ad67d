"""`apitwin diff`'s comparison, id map and spec index in process, and its usage errors."""

from __future__ import annotations

import json

import pytest

from apitwin.conformance import diff_cli
from apitwin.conformance.diff_compare import Answer, compare, compare_structure, decided
from apitwin.conformance.diff_ids import IdMap
from apitwin.conformance.diff_send import SpecIndex, required_paths, response_schema
from apitwin.conformance.profiles import PROFILES


def _answer(body, status=200, content_type="application/json") -> Answer:
    return Answer(status, content_type, json.dumps(body).encode())


def _messages(a, b, required=None, request=None, query=()):
    sent = decided(request, list(query))
    found = compare(_answer(a), _answer(b), sent, sent, list(query), required)
    return [d.message for d in found]


def test_different_data_of_the_same_shape_is_no_difference():
    a = {"id": 5, "uuid": "5c0b8a3e-7f4d-4e9a-8c21-1d6f3b2a9e40", "at": "2026-11-01T00:00:00Z"}
    b = {"id": 91, "uuid": "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9", "at": "2017-01-01T15:35:00Z"}
    a["items"] = [{"name": "x", "n": 1}, {"name": "y", "n": 2.5}]
    b["items"] = [{"name": "z", "n": 3}]
    assert _messages(a, b) == []


def test_a_changed_type_a_missing_field_and_a_new_one_are_differences():
    a = {"workspace": {"id": 1, "name": "n", "tags": [{"k": "v"}]}}
    b = {"workspace": {"id": "1", "tags": [{"k": 2}], "extra": True}}
    assert _messages(a, b) == [
        "workspace.extra: only in B",
        "workspace.id: number in A, string in B",
        "workspace.name: only in A",
        "workspace.tags[].k: string in A, number in B",
    ]


def test_string_formats_are_part_of_the_shape():
    assert _messages({"at": "2026-11-01T00:00:00Z"}, {"at": "1 Nov 2026"}) == [
        "at: string(date-time) in A, string in B"
    ]


def test_optional_fields_empty_arrays_nulls_and_data_keys_say_nothing():
    a = {"items": [{"id": 1}], "stats": {"error": "x", "ok": 1}, "by_day": {"2026-11-01": 3}}
    b = {"items": [], "stats": {"ok": 2, "error": None}, "by_day": {"2026-10-02": 4}}
    assert _messages(a, b) == []
    # Without the spec's word, a field on one side only counts; with it, only required ones do.
    assert compare_structure({"a": 1, "b": 2}, {"a": 1}) != []
    assert compare_structure({"a": 1, "b": 2}, {"a": 1}, required={".a"}) == []
    assert compare_structure({"a": 1, "b": 2}, {"b": 1}, required={".a"}) != []


def test_values_the_request_decides_compare_by_value():
    request = {"name": "Q3 report", "settings": {"limit": 5}}
    same = {"workspace": {"id": 1, "name": "Q3 report", "settings": {"limit": 5}}}
    changed = {"workspace": {"id": 2, "name": "Q3", "settings": {"limit": 5}}}
    assert (
        _messages(same, {**same, "workspace": {**same["workspace"], "id": 9}}, None, request) == []
    )
    assert _messages(same, changed, None, request) == [
        "workspace.name: the request's 'Q3 report' in A, 'Q3' in B"
    ]
    # A filter: every item A returned with the asked status must have it in B too.
    listed = {"items": [{"status": "success"}, {"status": "success"}]}
    other = {"items": [{"status": "success"}, {"status": "error"}]}
    assert _messages(listed, other, query=[("status", "success")]) == [
        "items[1].status: the request's 'success' in A, 'error' in B"
    ]


def test_a_limit_holds_on_both_sides():
    a, b = {"items": [1, 2]}, {"items": [1, 2, 3]}
    assert _messages(a, b, query=[("per_page", "2")]) == ["items: 3 items in B for a limit of 2"]
    assert _messages(a, b, query=[("per_page", "3")]) == []


def test_status_and_content_type_come_first():
    sent = decided(None, [])
    found = compare(_answer({}, 200), _answer({}, 404), sent, sent, [])
    assert [d.message for d in found] == ["status 200 in A, 404 in B"]
    found = compare(_answer({}), _answer({}, content_type="text/html"), sent, sent, [])
    assert [d.kind for d in found] == ["content_type"]


def test_ids_carry_from_a_to_b_certain_pairings_win():
    ids = IdMap()
    ids.learn({"workspaces": [{"id": 7}, {"id": 8}]}, {"workspaces": [{"id": 70}, {"id": 80}]})
    ids.learn({"workspace": {"id": 8, "dawg_id": None}}, {"workspace": {"id": 81}})
    ids.learn({"workspaces": [{"id": 8}]}, {"workspaces": [{"id": 99}]})  # a list: no override
    assert ids.path("/workspaces/8/jobs/7") == "/workspaces/81/jobs/70"
    assert ids.body({"workspace_id": 8, "name": "8"}) == {"workspace_id": 81, "name": "81"}
    assert ids.query([("id", "7"), ("page", "2")]) == [("id", "70"), ("page", "2")]


def test_the_spec_index_names_operations_under_any_prefix():
    index = SpecIndex(PROFILES["meiro"])
    assert index.split("GET", "/meiro/workspaces/trash") == (
        "/meiro",
        "/workspaces/trash",
        "list_trashed_workspaces",
    )
    assert index.split("GET", "/workspaces/12")[:2] == ("", "/workspaces/12")
    assert index.split("GET", "/favicon.ico") is None
    operation = index.operation("get_workspace")
    schema = response_schema(index.spec, operation, 200, "application/json")
    assert ".workspace.id" in required_paths(index.spec, schema)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--api", "meiro"], "give one of --replay FILE.har or --base-url URL"),
        (
            ["--api", "meiro", "--replay", "x.har", "--base-url", "http://127.0.0.1:9"],
            "give one of",
        ),
        (["--api", "meiro", "--replay", "/nonexistent/x.har"], "no such file"),
        (["--replay", "x.har"], "--api is required"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(argv, message, capsys):
    assert diff_cli.main(argv) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.err.count("\n") == 1 and not captured.out


def test_a_file_that_is_not_a_recording_is_a_usage_error(tmp_path, capsys):
    for text in (
        "{}",
        "not json",
        '{"log": {"entries": [{"request": {}}]}}',
        '{"log": {"entries": []}}',
    ):
        path = tmp_path / "bad.har"
        path.write_text(text)
        assert diff_cli.main(["--api", "meiro", "--replay", str(path)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("apitwin diff: error: ") and err.count("\n") == 1, err


def test_ylem_live_needs_its_client(capsys):
    code = diff_cli.main(["--api", "ylem", "--base-url", "http://127.0.0.1:9/v1"])
    assert code == 2 and "--client-id" in capsys.readouterr().err
