"""Known deviations narrowed by status, message and request: an entry covers what it names."""

from __future__ import annotations

import types

import pytest

from apitwin.conformance import known

ENTRY = "  - {api: director, operation: get_workflow, check: not_a_server_error, reason: D5"


def load_one(tmp_path, extra: str) -> known.Deviation:
    path = tmp_path / "known.yaml"
    path.write_text(f"deviations:\n{ENTRY}{extra}}}\n")
    [deviation] = known.load(path)
    return deviation


def failure(message: str = "", title: str = "Server error"):
    return types.SimpleNamespace(title=title, message=message)


def response(status: int, method="GET", url="http://127.0.0.1:1/api/workflows/0", body=None):
    return types.SimpleNamespace(
        status_code=status, request=types.SimpleNamespace(method=method, url=url, body=body)
    )


def test_an_entry_without_narrowing_fits_every_failure_of_its_check(tmp_path):
    deviation = load_one(tmp_path, "")
    assert deviation.fits(failure(), response(500))
    assert deviation.fits(failure(), None)


def test_status_narrows_to_one_response_code(tmp_path):
    deviation = load_one(tmp_path, ", status: 500")
    assert deviation.status == 500
    assert deviation.fits(failure(), response(500))
    assert not deviation.fits(failure(), response(502))
    assert not deviation.fits(failure(), None)


def test_message_is_searched_in_the_title_and_the_message(tmp_path):
    deviation = load_one(tmp_path, ", message: 'without required `Allow` header'")
    assert deviation.fits(
        failure("TRACE returned 405 without required `Allow` header"), response(405)
    )
    assert not deviation.fits(failure("TRACE returned 200 instead of 405"), response(200))
    titled = load_one(tmp_path, ", message: '^Undocumented status'")
    assert titled.fits(failure("Received: 500", title="Undocumented status code"), response(500))


def test_request_is_searched_in_method_path_and_query(tmp_path):
    not_a_uuid = (
        "^(GET|POST) /api/workflows/(?![0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}(/|$))"
    )
    deviation = load_one(tmp_path, f", request: '{not_a_uuid}'")
    assert deviation.fits(failure(), response(500, url="http://h/api/workflows/0/relaunch"))
    uuid = "29e7ef80-fa1b-4b91-8ccb-ef01a91601db"
    assert not deviation.fits(failure(), response(500, url=f"http://h/api/workflows/{uuid}"))
    paged = load_one(tmp_path, ", request: 'per_page=[0-9]{19,}'")
    assert paged.fits(
        failure(), response(500, url="http://h/api/workflows?per_page=12345678901234567890")
    )
    assert not paged.fits(
        failure(), response(500, url="http://h/api/workflows?page=12345678901234567890")
    )
    assert known.request_line(response(200, "POST", "http://h/a/b?x=1").request) == "POST /a/b?x=1"


def test_request_patterns_see_the_body_on_the_next_line(tmp_path):
    deviation = load_one(tmp_path, r", request: '^POST /api/workflows\n\s*[^{\s]'")
    url = "http://h/api/workflows"
    assert deviation.fits(failure(), response(500, "POST", url, b"[]"))
    assert deviation.fits(failure(), response(500, "POST", url, "null"))
    assert not deviation.fits(failure(), response(500, "POST", url, b'{"project": "x"}'))
    assert not deviation.fits(failure(), response(500, "POST", url))
    assert known.request_line(response(200, "POST", url, b"\xff").request) == (
        "POST /api/workflows\n\ufffd"
    )


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        (", mesage: x", r"unknown field\(s\) \['mesage'\]"),
        (", status: '500'", "status must be an HTTP status"),
        (", status: 42", "status must be an HTTP status"),
        (", request: '(unclosed'", "bad request"),
        (", message: '[z-a]'", "bad message"),
    ],
)
def test_bad_narrowing_fields_are_refused_with_the_entry_named(tmp_path, extra, error):
    with pytest.raises(known.DeviationFileError, match=f"deviation 1.*{error}"):
        load_one(tmp_path, extra)
