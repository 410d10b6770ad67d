"""HAR recordings: what is written is valid HAR 1.2 without credentials, and reads back."""

from __future__ import annotations

import base64
import datetime
import json

import pytest

from apitwin.conformance import har

STARTED = datetime.datetime(2026, 11, 1, 12, 0, tzinfo=datetime.UTC)


def exchange(**changes) -> har.Exchange:
    fields = dict(
        method="POST",
        url="http://127.0.0.1:9/v1/oauth/token?grant_type=client_credentials&client_secret=s3cr3t",
        request_headers=[("Content-Type", "application/json"), ("X-Access-Token", "tok-1")],
        request_body=json.dumps({"name": "kept", "password": "hunter2"}).encode(),
        status=200,
        response_headers=[("content-type", "application/json")],
        response_body=json.dumps({"access_token": "abc.def", "author_id": 7}).encode(),
        started=STARTED,
        elapsed_ms=3.5,
    )
    fields.update(changes)
    return har.Exchange(**fields)


def test_a_written_recording_is_har_1_2_and_holds_no_credential(tmp_path):
    path = tmp_path / "run.har"
    secret_value = "registered-secret-value"
    sent = exchange(
        request_headers=[
            ("Authorization", "Bearer abc.def"),
            ("X-Access-Token", "tok-1"),
            ("X-Note", f"has {secret_value} inside"),
        ]
    )
    har.write(path, [har.entry(sent, lambda text: text.replace(secret_value, har.REDACTED))])
    text = path.read_text()
    for secret in ("s3cr3t", "hunter2", "abc.def", "tok-1", secret_value):
        assert secret not in text
    log = json.loads(text)["log"]
    assert log["version"] == "1.2" and log["creator"]["name"] == "apitwin"
    (entry,) = log["entries"]
    for key in ("startedDateTime", "time", "request", "response", "cache", "timings"):
        assert key in entry
    headers = {h["name"]: h["value"] for h in entry["request"]["headers"]}
    assert headers["Authorization"] == f"Bearer {har.REDACTED}"
    assert headers["X-Access-Token"] == har.REDACTED
    query = {q["name"]: q["value"] for q in entry["request"]["queryString"]}
    assert query == {"grant_type": "client_credentials", "client_secret": har.REDACTED}
    answer = json.loads(entry["response"]["content"]["text"])
    assert answer == {"access_token": har.REDACTED, "author_id": 7}  # author_id is no secret
    assert json.loads(entry["request"]["postData"]["text"])["name"] == "kept"
    assert entry["response"]["statusText"] == "OK"


def test_a_recording_reads_back_as_the_exchanges_written(tmp_path):
    path = tmp_path / "run.har"
    plain = exchange(url="http://127.0.0.1:9/meiro/workspaces?limit=2", request_headers=[])
    binary = exchange(
        method="GET",
        request_body=b"",
        response_headers=[("content-type", "application/octet-stream")],
        response_body=bytes(range(256)),
    )
    har.write(path, [har.entry(plain), har.entry(binary)])
    first, second = har.exchanges(path)
    assert (first.method, first.url, first.status) == ("POST", plain.url, 200)
    assert json.loads(first.request_body) == {"name": "kept", "password": har.REDACTED}
    assert first.started == STARTED and first.elapsed_ms == 3.5
    assert second.response_body == bytes(range(256))
    assert second.request_body == b""


def test_a_browser_export_is_read_without_its_pseudo_headers(tmp_path):
    path = tmp_path / "browser.har"
    body = base64.b64encode(b'{"ok":true}').decode()
    path.write_text(
        json.dumps(
            {
                "log": {
                    "version": "1.2",
                    "creator": {"name": "WebInspector", "version": "537.36"},
                    "entries": [
                        {
                            "startedDateTime": "2026-11-01T12:00:00.000Z",
                            "time": 12.1,
                            "request": {
                                "method": "get",
                                "url": "https://staging.example/api/workflows",
                                "headers": [
                                    {"name": ":authority", "value": "staging.example"},
                                    {"name": "accept", "value": "application/json"},
                                ],
                            },
                            "response": {
                                "status": 200,
                                "headers": [{"name": "content-type", "value": "application/json"}],
                                "content": {"text": body, "encoding": "base64"},
                            },
                        }
                    ],
                }
            }
        )
    )
    (read,) = har.exchanges(path)
    assert read.method == "GET" and read.request_headers == [("accept", "application/json")]
    assert read.response_body == b'{"ok":true}'


@pytest.mark.parametrize(
    "content, message",
    [
        ("not json", "not a HAR file"),
        ('{"log": {}}', "not a HAR file"),
        ('{"log": {"entries": {}}}', "not a list"),
        ('{"log": {"entries": [{"request": {}}]}}', "entry 1"),
        (
            '{"log": {"entries": [{"request": {"method": "GET", "url": "/x"}, "response": {}}]}}',
            "not absolute",
        ),
    ],
)
def test_a_file_that_is_no_recording_is_a_har_error(tmp_path, content, message):
    path = tmp_path / "bad.har"
    path.write_text(content)
    with pytest.raises(har.HarError, match=message):
        har.exchanges(path)


def test_a_missing_file_is_a_har_error(tmp_path):
    with pytest.raises(har.HarError, match="no such file"):
        har.exchanges(tmp_path / "absent.har")
