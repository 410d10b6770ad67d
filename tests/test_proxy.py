"""`apitwin proxy`: traffic through it is the upstream's, byte for byte; a contract-breaking
upstream is reported field by field; a client's request the spec does not allow is reported
with what the twin's own validation says of it; recordings are HAR with no credential in them;
SIGTERM and Ctrl-C write the reports; an unreachable upstream is a 502 and an error, not a
traceback.

The fast tests drive the ASGI app in-process against a mock upstream; the slow ones run
`apitwin proxy` as a user does, in front of twins served on uvicorn in this process (and of a
twin behind tests/breaker.py's contract-breaking proxy), every server on a free 127.0.0.1 port
and always stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime
import gzip
import json
import signal
import socket
import time
import types
import urllib.parse
import xml.etree.ElementTree as ET

import httpx
import pytest
from breaker import BrokenDeployment, DropField, RetypeField
from proxying import ProxyProcess
from support import PIPELINE, TEST_EPOCH, in_process, read_yaml, served_in_thread

from apitwin.apis import SPECS_DIR
from apitwin.app import create_app
from apitwin.conformance import har, proxy_cli
from apitwin.conformance.profiles import PROFILES
from apitwin.conformance.proxy import HOP_BY_HOP, ProxyApp, Route, Seen
from apitwin.options import TwinOptions, admin_headers
from apitwin.serve.process import free_port

MEIRO = {"X-Access-Token": "twin-token"}
YLEM_CLIENT = {
    "grant_type": "client_credentials",
    "client_id": "twin-client",
    "client_secret": "twin-secret",
}
COOKIE = "session=cookie-value-never-written"
MEIRO_SPEC = read_yaml(SPECS_DIR / "meiro.yaml")


# --- in-process: the app against a mock upstream ---------------------------------------------


class Recorder:
    """An observer that keeps what the app hands it."""

    def __init__(self) -> None:
        self.seen, self.failures = [], []

    def observe(self, seen) -> None:
        self.seen.append(seen)

    def failed(self, method, client_url, api_path, status, detail) -> None:
        self.failures.append((method, client_url, api_path, status, detail))


def _answer(status: int, headers, body: bytes) -> httpx.Response:
    # A stream, as a network answer is: the app reads it raw (content= would be read already).
    return httpx.Response(status, headers=headers, stream=httpx.ByteStream(body))


def _through(route: Route, upstream, request: httpx.Request):
    """Sends `request` through a ProxyApp whose upstream is the mock handler `upstream`."""
    observer = Recorder()
    app = ProxyApp(route, observer)
    app.client = httpx.AsyncClient(transport=httpx.MockTransport(upstream))

    async def send():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://proxy") as client:
            return await client.send(request)

    return asyncio.run(send()), observer


def test_the_request_goes_upstream_unchanged_but_for_the_connection_headers():
    sent = []

    def upstream(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return _answer(200, [("Content-Type", "application/json")], b'{"ok": true}')

    route = Route("/v1", httpx.URL("http://gateway.test/ylem/v1"))
    request = httpx.Request(
        "POST",
        "http://proxy/v1/oauth/token?client_secret=s%20x&grant_type=client_credentials",
        headers=[
            ("Authorization", "Bearer abc"),
            ("Cookie", COOKIE),
            ("X-Custom", "1"),
            ("X-Custom", "2"),
            ("Connection", "keep-alive, X-Hop"),
            ("X-Hop", "connection-only"),
            ("Keep-Alive", "timeout=5"),
        ],
        content=b'{"a": 1}',
    )
    answer, observer = _through(route, upstream, request)
    assert answer.status_code == 200
    (forwarded,) = sent
    assert forwarded.method == "POST"
    assert forwarded.url.raw_path == (
        b"/ylem/v1/oauth/token?client_secret=s%20x&grant_type=client_credentials"
    )
    assert forwarded.url.host == "gateway.test" and forwarded.headers["host"] == "gateway.test"
    assert forwarded.headers["authorization"] == "Bearer abc"  # credentials untouched
    assert forwarded.headers["cookie"] == COOKIE
    assert forwarded.headers.get_list("x-custom") == ["1", "2"]
    for hop in ("connection", "keep-alive", "x-hop"):
        assert hop not in forwarded.headers
    assert forwarded.content == b'{"a": 1}'
    (seen,) = observer.seen
    assert seen.api_path == "/oauth/token"
    assert seen.client_url.endswith(
        "/v1/oauth/token?client_secret=s%20x&grant_type=client_credentials"
    )


def test_the_answer_comes_back_unchanged_and_is_checked_decoded():
    body = json.dumps({"workspaces": []}).encode()

    def upstream(request: httpx.Request) -> httpx.Response:
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Encoding", "gzip"),
            ("Set-Cookie", "a=1; Path=/"),
            ("Set-Cookie", "b=2; Path=/"),
            ("Server", "upstream/1.0"),
            ("Transfer-Encoding", "chunked"),
        ]
        return _answer(207, headers, gzip.compress(body))

    route = Route("", httpx.URL("http://meiro.test"))
    answer, observer = _through(route, upstream, httpx.Request("GET", "http://proxy/workspaces"))
    assert answer.status_code == 207
    assert answer.headers.get_list("set-cookie") == ["a=1; Path=/", "b=2; Path=/"]
    assert answer.headers["server"] == "upstream/1.0"
    assert answer.headers["content-encoding"] == "gzip" and answer.content == body
    assert "transfer-encoding" not in answer.headers
    (seen,) = observer.seen
    assert seen.exchange.response_body == body  # decoded for the checks and the recording


def test_an_upstream_that_cannot_be_reached_is_a_502_problem():
    def upstream(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    route = Route("", httpx.URL("http://meiro.test"))
    answer, observer = _through(route, upstream, httpx.Request("GET", "http://proxy/workspaces"))
    assert answer.status_code == 502
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["status"] == 502 and "http://meiro.test" in problem["detail"]
    assert "Connection refused" in problem["detail"]
    assert observer.seen == [] and observer.failures[0][3] == 502


@pytest.mark.parametrize(
    ("root", "upstream", "path", "expected", "api_path"),
    [
        ("/v1", "http://h/ylem/v1", "/v1/oauth/token", "/ylem/v1/oauth/token", "/oauth/token"),
        ("/v1", "http://h/ylem/v1/", "/v1", "/ylem/v1", "/"),
        ("/v1", "http://h/ylem/v1", "/favicon.ico", "/ylem/favicon.ico", None),
        ("/v1", "https://api.datamin.io/v1", "/v1/x", "/v1/x", "/x"),
        ("", "http://h:8000", "/api/workflows", "/api/workflows", "/api/workflows"),
        ("", "http://h/meiro", "/workspaces", "/meiro/workspaces", "/workspaces"),
        ("", "http://h", "/", "/", "/"),
    ],
)
def test_the_proxy_root_stands_for_the_upstream_root(root, upstream, path, expected, api_path):
    route = Route(root, httpx.URL(upstream))
    assert route.upstream_raw_path(path.encode()) == expected.encode()
    assert route.api_path(path) == api_path


def test_credentials_are_learnt_from_every_place_an_exchange_carries_them():
    exchange = har.Exchange(
        method="POST",
        url="http://h/v1/oauth/token?client_id=twin-client&client_secret=query-secret",
        request_headers=[
            ("Authorization", "Basic " + "b3BzOmJhc2ljLXBhc3N3b3Jk"),  # ops:basic-password
            ("X-Access-Token", "header-token"),
            ("Cookie", "a=cookie-one; b=cookie-two"),
            ("Content-Type", "application/json"),
        ],
        request_body=b'{"password": "body-password", "name": "not secret"}',
        status=200,
        response_headers=[
            ("Content-Type", "application/json"),
            ("Set-Cookie", "sid=answered-cookie; Path=/; HttpOnly"),
        ],
        response_body=b'{"access_token": "answered-token", "token_type": "Bearer"}',
        started=None,
    )
    learnt = set(har.secrets_of(exchange))
    for secret in (
        "basic-password",
        "header-token",
        "cookie-one",
        "cookie-two",
        "query-secret",
        "body-password",
        "answered-cookie",
        "answered-token",
    ):
        assert secret in learnt, secret
    assert not {"Bearer", "not secret", "twin-client", "/"} & learnt


# --- the checks: schemathesis' own, on a Case built from the live request ----------------------


def _checker(deviations=()):
    from apitwin.conformance.credentials import Redactor
    from apitwin.conformance.known import KnownDeviations
    from apitwin.conformance.proxy_check import Checker
    from apitwin.conformance.runner import load_schema
    from apitwin.conformance.settings import RunSettings

    schema = load_schema(PROFILES["meiro"], RunSettings(base_url="http://meiro.test"))
    return Checker("meiro", schema, KnownDeviations("meiro", list(deviations)), Redactor())


def _seen(method: str, path: str, status: int, body, started=None) -> Seen:
    url = "http://meiro.test" + path
    exchange = har.Exchange(
        method=method,
        url=url,
        request_headers=[("X-Access-Token", "twin-token")],
        request_body=b"",
        status=status,
        response_headers=[("Content-Type", "application/json")],
        response_body=json.dumps(body).encode(),
        started=started,
    )
    forwarded = httpx.Request(method, url, headers=exchange.request_headers)
    return Seen(exchange, "http://127.0.0.1:1" + path, path, forwarded)


def test_an_answer_is_checked_to_the_last_nested_field_and_its_format():
    listed = copy.deepcopy(MEIRO_SPEC["components"]["examples"]["ListWorkspaces"]["value"])
    checker = _checker()
    label, operation_id, findings = checker.check(_seen("GET", "/workspaces", 200, listed))
    assert (label, operation_id, findings) == ("GET /workspaces", "list_workspaces", [])
    listed["workspaces"][0]["settings"]["notification_emails"] = ["not an address"]
    _, _, findings = checker.check(_seen("GET", "/workspaces", 200, listed))
    (finding,) = findings
    violation = finding.violation
    assert violation.check == "response_schema_conformance" and finding.deviation is None
    assert violation.location == "/workspaces/0/settings/notification_emails/0"
    assert '"not an address" is not a "email"' in violation.message
    assert "[REDACTED]" in violation.curl and "twin-token" not in violation.curl


def test_a_status_the_operation_does_not_document_and_an_undocumented_operation():
    checker = _checker()
    _, _, findings = checker.check(_seen("GET", "/workspaces", 418, {}))
    assert {f.violation.check for f in findings} >= {"status_code_conformance"}
    # HEAD is not GET: werkzeug's router would match it to the GET operation.
    for method, path in (("HEAD", "/workspaces"), ("GET", "/no/such/path")):
        label, operation_id, (finding,) = checker.check(_seen(method, path, 404, {}))
        assert label == f"{method} {path}" and operation_id is None
        assert finding.violation.check == "undocumented_operation"


def test_a_failure_a_known_deviation_covers_is_marked_with_it():
    from apitwin.conformance.known import Deviation

    listed = copy.deepcopy(MEIRO_SPEC["components"]["examples"]["ListWorkspaces"]["value"])
    del listed["workspaces"][0]["user_id"]
    deviation = Deviation(
        "meiro", "list_workspaces", "response_schema_conformance", "a test", 200, "user_id"
    )
    checker = _checker([deviation])
    _, _, (finding,) = checker.check(_seen("GET", "/workspaces", 200, listed))
    assert finding.deviation == deviation
    (hit,) = checker.known.hits.values()
    assert hit.operation == "GET /workspaces" and hit.count == 1


def test_a_check_that_breaks_is_an_error_and_the_proxying_goes_on(capsys):
    from apitwin.conformance.credentials import Redactor
    from apitwin.conformance.known import KnownDeviations
    from apitwin.conformance.proxy_run import ProxyRun

    class Broken:
        def operation(self, method, api_path):
            return None

        def check(self, seen):
            raise RuntimeError("a bug in a check")

    run = ProxyRun("meiro", "http://meiro.test", Broken(), KnownDeviations("meiro", []), Redactor())
    run.observe(_seen("GET", "/workspaces", 200, {}))
    run.observe(_seen("GET", "/workspaces", 200, {}))
    assert run.exchanges == 2
    assert "ERROR checking GET /workspaces: RuntimeError('a bug in a check')" in (
        capsys.readouterr().err
    )
    assert run.finish() == 1


def test_the_recording_lists_exchanges_in_the_order_they_started(tmp_path, capsys):
    """A client that has its answer sends the next request while the proxy still observes the
    last one: the recording must keep the order the requests were sent in."""
    from apitwin.conformance.credentials import Redactor
    from apitwin.conformance.known import KnownDeviations
    from apitwin.conformance.proxy_run import ProxyRun

    recording = tmp_path / "proxy.har"
    run = ProxyRun("meiro", "http://meiro.test", _checker(), KnownDeviations("meiro", []),
                   Redactor(), record=str(recording))  # fmt: skip
    run.start()
    first = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    paths = [f"/workspaces/{n}" for n in range(1, 5)]
    # Observed in the order 2, 1, 4, 3.
    for n in (1, 0, 3, 2):
        started = first + datetime.timedelta(milliseconds=n)
        run.observe(_seen("GET", paths[n], 404, {}, started=started))
    run.finish()
    assert [urllib.parse.urlsplit(e.url).path for e in har.exchanges(recording)] == paths


# --- requests: the twin's own validation, without the credentials -------------------------------


class TwinUpstream(httpx.AsyncBaseTransport):
    """A twin in this process as the upstream, keeping each request as it arrived."""

    def __init__(self, api: str) -> None:
        self.twin = httpx.ASGITransport(app=create_app(TwinOptions(api=api, epoch=TEST_EPOCH)))
        self.received: list[tuple[str, bytes, list, bytes]] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        self.received.append((request.method, request.url.raw_path, request.headers.raw, body))
        return await self.twin.handle_async_request(request)


@contextlib.contextmanager
def _proxied(api: str, tmp_path, deviations=()):
    """`apitwin proxy --api API` as its command line builds it, in this process, in front of an
    in-process twin: (a client of the proxy, the run, the upstream)."""
    args = types.SimpleNamespace(
        record=None, report=str(tmp_path / "report.json"), junit=str(tmp_path / "junit.xml")
    )
    profile = PROFILES[api]
    app, run, _ = proxy_cli._build(profile, "http://upstream.test" + profile.twin_root,
                                   list(deviations), args)  # fmt: skip
    upstream = TwinUpstream(api)
    app.client = httpx.AsyncClient(transport=upstream)
    run.start()
    with in_process(app) as client:
        yield client, run, upstream


def _stopped(run, tmp_path) -> tuple[int, dict, ET.Element]:
    code = run.finish()
    report = json.loads((tmp_path / "report.json").read_text())
    return code, report, ET.parse(tmp_path / "junit.xml").getroot()


@pytest.mark.parametrize("api", ["meiro", "director", "ylem"])
def test_a_valid_session_of_each_api_passes_the_request_checks(api, tmp_path, capsys):
    with _proxied(api, tmp_path) as (client, run, upstream):
        answers = _session(api, client)
        if api == "meiro":  # a media type is case-insensitive: the twin takes this one too
            headers = {"Content-Type": "Application/JSON; charset=utf-8"}
            answers.append(client.post("/workspaces", content=b'{"name": "x"}', headers=headers))
        code, report, junit = _stopped(run, tmp_path)
    assert all(answer.status_code < 300 or answer.status_code == 404 for answer in answers)
    err = capsys.readouterr().err
    assert code == 0, err
    assert "VIOLATION" not in err and "ERROR" not in err
    assert report["exchanges"] == len(answers) == len(upstream.received)
    assert "request_conformance" in report["settings"]["checks"]
    assert junit.get("failures") == "0"


DIRECTOR_AUTH = "Basic " + "b3BzOmRpcmVjdG9yLXBhc3N3b3Jk"  # ops:director-password
STARTED = {"project": "example", "name": "ETL", "payload": {}}


def test_requests_the_spec_does_not_allow_are_flagged_and_still_forwarded(tmp_path, capsys):
    calls = [
        ("GET", "/api/workflows?with_payload=false", {}),
        ("POST", "/api/workflows", {"json": {"project": "example", "name": "ETL"}}),
        ("GET", "/api/workflows?per_page=many&page=1", {}),
        (
            "POST",
            "/api/workflows",
            {"content": json.dumps(STARTED), "headers": {"Content-Type": "text/plain"}},
        ),  # fmt: skip
        ("GET", "/api/workflows/not-a-uuid", {}),
        ("GET", "/api/workflows?per_page=5", {}),  # allowed
    ]
    with _proxied("director", tmp_path) as (client, run, upstream):
        client.headers["Authorization"] = DIRECTOR_AUTH
        sent = [client.build_request(method, url, **kwargs) for method, url, kwargs in calls]
        answers = [client.send(request) for request in sent]
        code, report, junit = _stopped(run, tmp_path)
    # The proxy observes: each request reached the upstream as sent, and its answer came back.
    assert [answer.status_code for answer in answers] == [400, 400, 400, 415, 400, 200]
    for request, (method, raw_path, headers, body) in zip(sent, upstream.received, strict=True):
        assert (method, raw_path, body) == (request.method, request.url.raw_path, request.content)
        # Every header as sent, but for the connection's own ones and Host (the upstream's).
        own = HOP_BY_HOP | {"host"}
        assert [(k.lower(), v) for k, v in headers if k.decode().lower() != "host"] == [
            (k.lower(), v) for k, v in request.headers.raw if k.decode().lower() not in own
        ]
    assert code == 1
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "VIOLATION" in line]
    assert len(lines) == 5, err
    expected = [
        "GET /api/workflows?with_payload=false -> 400 · Request does not conform to the spec in "
        "the query string: Extra query parameter(s) with_payload not in spec",
        "POST /api/workflows -> 400 · Request does not conform to the spec in the body: "
        "'payload' is a required property",
        "GET /api/workflows?per_page=many&page=1 -> 400 · Request does not conform to the spec in "
        "query parameter 'per_page': 'many' is not of type 'integer'",
        "POST /api/workflows -> 415 · Request does not conform to the spec in the Content-Type "
        "header: Invalid Content-type (text/plain), expected ['application/json']",
        "GET /api/workflows/not-a-uuid -> 400 · Request does not conform to the spec in path "
        "parameter 'workflow_id': 'not-a-uuid' does not match",
    ]
    for line, wanted in zip(lines, expected, strict=True):
        assert f"apitwin proxy: VIOLATION request_conformance · {wanted}" in line, line
    violations = {
        violation["title"]: violation
        for operation in report["operations"]
        for violation in operation["violations"]
    }
    assert {v["check"] for v in violations.values()} == {"request_conformance"}
    in_ = "Request does not conform to the spec in "
    assert {title: v["operation"] for title, v in violations.items()} == {
        in_ + "the query string": "GET /api/workflows",
        in_ + "the body": "POST /api/workflows",
        in_ + "query parameter 'per_page'": "GET /api/workflows",
        in_ + "the Content-Type header": "POST /api/workflows",
        in_ + "path parameter 'workflow_id'": "GET /api/workflows/{workflow_id}",
    }
    assert (
        "request validation answers it 415"
        in violations[in_ + "the Content-Type header"]["message"]
    )
    failures = junit.findall(".//failure")
    assert junit.get("failures") == "3" and len(failures) == 5  # operations, violations
    assert {f.get("message") for f in failures} == {f"request_conformance: {t}" for t in violations}
    outputs = err + json.dumps(report) + ET.tostring(junit, encoding="unicode")
    assert "director-password" not in outputs and "b3BzOmRpcmVjdG9yLXBhc3N3b3Jk" not in outputs
    assert "authorization: [REDACTED]" in json.dumps(report)  # the curl commands


def test_a_path_value_of_the_wrong_type_is_named_though_the_twin_finds_no_route(tmp_path, capsys):
    with _proxied("meiro", tmp_path) as (client, run, _):
        client.headers.update(MEIRO)
        assert client.get("/workspaces/seven").status_code == 404  # the twin's router: no route
        assert client.get("/workspaces/7").status_code == 404  # an id that does not exist
        code, report, _ = _stopped(run, tmp_path)
    assert code == 1
    (line,) = [line for line in capsys.readouterr().err.splitlines() if "VIOLATION" in line]
    assert "request_conformance · GET /workspaces/seven -> 404" in line
    assert "in path parameter 'workspace_id': 'seven' is not of type 'integer'" in line
    (operation,) = [op for op in report["operations"] if op["violations"]]
    assert operation["label"] == "GET /workspaces/{workspace_id}"


def test_the_web_uis_with_payload_is_the_one_known_request_deviation(tmp_path, capsys):
    from apitwin.conformance import known

    with _proxied("director", tmp_path, known.load()) as (client, run, _):
        client.get("/api/workflows", params={"with_payload": "false"})  # D3: Director's web UI
        client.get("/api/workflows", params={"with_payload": "false", "status": "x"})
        code, report, _ = _stopped(run, tmp_path)
    assert code == 1
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2, err
    assert err[0].startswith("apitwin proxy: known request_conformance · GET /api/workflows?with")
    assert "(D3: the same with_payload=false, a query parameter the contract" in err[0]
    assert err[1].startswith("apitwin proxy: VIOLATION request_conformance")
    assert "Extra query parameter(s) " in err[1] and "with_payload" in err[1]
    (hit,) = [hit for operation in report["operations"] for hit in operation["known"]]
    assert hit["deviation"]["reason"].startswith("D3:") and hit["count"] == 1


def test_the_proxy_refuses_a_request_as_the_twin_does(tmp_path):
    """One request validation: what the proxy reports of a request is what the twin answers it."""
    from apitwin.conformance.proxy_check import request_checks

    operations = request_checks("director")
    requests = [
        ("list_workflows", "GET", "/api/workflows", b"with_payload=0&per_page=2", {}, None),
        ("list_workflows", "GET", "/api/workflows", b"page=0", {}, None),
        ("list_workflows", "GET", "/api/workflows", b"per_page=2147483648", {}, None),
        ("start_workflow", "POST", "/api/workflows", b"", {}, b'{"project": 1}'),
        ("start_workflow", "POST", "/api/workflows", b"", {}, b"[]"),
        ("start_workflow", "POST", "/api/workflows", b"", {}, b'{"project": '),
        ("start_workflow", "POST", "/api/workflows", b"", {}, b'{"payload": "\xff"}'),
        ("start_workflow", "POST", "/api/workflows", b"", {}, json.dumps(STARTED).encode()),
        ("start_workflow", "POST", "/api/workflows", b"", {}, b""),
        ("get_workflow", "GET", "/api/workflows/x", b"", {"workflow_id": "x"}, None),
    ]
    twin = create_app(TwinOptions(api="director", epoch=TEST_EPOCH))
    refused = []
    with in_process(twin) as client:
        for operation_id, method, path, query, params, body in requests:
            headers = [(b"content-type", b"application/json")] if body is not None else []
            if body:
                headers.append((b"content-length", b"%d" % len(body)))
            answer = client.request(
                method, path + ("?" + query.decode() if query else ""), content=body,
                headers=[(k.decode(), v.decode()) for k, v in headers],
            )  # fmt: skip
            scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(),
                     "query_string": query, "headers": headers, "path_params": params}  # fmt: skip
            refusal = operations[operation_id].refusal(scope, body or b"")
            refused.append(refusal and refusal.part)
            if refusal is None:
                assert answer.status_code < 300, (path, query, body, answer.text)
            else:
                twin_said = (answer.status_code, answer.json()["detail"])
                assert (refusal.status, refusal.detail) == twin_said, (path, query, body)
    query, body = "query parameter", "the body"
    assert refused == ["the query string", f"{query} 'page'", f"{query} 'per_page'", body, body,
                       body, body, None, body, "path parameter 'workflow_id'"]  # fmt: skip


# --- usage errors: one line, exit 2 -----------------------------------------------------------


def _usage(*args: str, capsys) -> str:
    assert proxy_cli.main(list(args)) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("apitwin proxy: error: "), err
    return err


def test_usage_errors_are_one_line(tmp_path, capsys):
    assert "--api is required" in _usage("--upstream", "http://x", capsys=capsys)
    assert "--upstream URL is required" in _usage("--api", "meiro", capsys=capsys)
    assert "not an http(s) URL" in _usage("--api", "meiro", "--upstream", "x", capsys=capsys)
    assert "no user:password@" in _usage(
        "--api", "meiro", "--upstream", "http://u:p@x", capsys=capsys
    )
    bad = tmp_path / "known.yaml"
    bad.write_text("deviations: [{api: meiro}]\n")
    assert "needs api, operation" in _usage(
        "--api", "meiro", "--upstream", "http://x", "--known", str(bad), capsys=capsys
    )
    missing = tmp_path / "missing"
    for option, name in (("--report", "r.json"), ("--record", "r.har"), ("--junit", "r.xml")):
        where = str(missing / name)
        assert f"cannot write {where}" in _usage(
            "--api", "meiro", "--upstream", "http://x", "--port", "0", option, where, capsys=capsys
        )
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = str(busy.getsockname()[1])
        assert "cannot listen on 127.0.0.1:" in _usage(
            "--api", "meiro", "--upstream", "http://x", "--port", port, capsys=capsys
        )


# --- end to end -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def twins():
    """`twins(api)`: the URL of the module's one twin of that API, at each call reset to its
    seeded world (state, counters) with its clock frozen at the test epoch: the same requests
    get the same answers after each reset. The twin's app is served in this process (these
    tests are about the proxy's process), started when first asked for: a start costs more
    than all of a test's requests."""
    started: dict[str, str] = {}
    with contextlib.ExitStack() as stack:
        admin = stack.enter_context(httpx.Client(headers=admin_headers(), timeout=10))

        def twin(api: str) -> str:
            if api not in started:
                options = TwinOptions(api=api, epoch=TEST_EPOCH)
                started[api] = stack.enter_context(served_in_thread(options))
            frozen = {"freeze": True, "set": f"{TEST_EPOCH}T00:00:00Z"}
            for path, body in (("reset", {}), ("clock", frozen)):
                admin.post(f"{started[api]}/_twin/{path}", json=body).raise_for_status()
            return started[api]

        yield twin


def _session(api: str, client: httpx.Client) -> list[httpx.Response]:
    """A client's session with one API: reads, writes, and the reads of what it wrote."""
    answers = []

    def call(method, url, **kwargs):
        answers.append(client.request(method, url, **kwargs))
        return answers[-1]

    if api == "meiro":
        client.headers.update(MEIRO)
        call("GET", "/workspaces", params={"order_dir": "DESC"})
        created = call("POST", "/workspaces", json={"name": "Q3 report"}).json()["workspace"]
        call("GET", f"/workspaces/{created['id']}")
        call("PATCH", f"/workspaces/{created['id']}", json={"description": "changed"})
        call("POST", f"/workspaces/{created['id']}/jobs")
        call("GET", f"/workspaces/{created['id']}/jobs")
        call("GET", "/workspaces/999999")  # a documented 404
    elif api == "director":
        call("GET", "/api/ping")
        call("GET", "/api/workflows", params={"per_page": 5})
        body = {"project": "example", "name": "ETL", "payload": {}}
        workflow = call("POST", "/api/workflows", json=body).json()
        call("GET", f"/api/workflows/{workflow['id']}")
    else:
        token = call("POST", "/v1/oauth/token", params=YLEM_CLIENT).json()["access_token"]
        client.headers["Authorization"] = f"Bearer {token}"
        call("POST", f"/v1/pipelines/{PIPELINE}/runs/")
        call("GET", f"/v1/stats/pipelines/{PIPELINE}/last-run/stats")
    return answers


def _same(proxied: httpx.Response, direct: httpx.Response) -> None:
    assert proxied.status_code == direct.status_code, proxied.request.url
    assert proxied.content == direct.content, proxied.request.url
    # The Date header is the second it was answered in; everything else is the upstream's.
    headers = [(k, v) for k, v in proxied.headers.multi_items() if k != "date"]
    assert headers == [(k, v) for k, v in direct.headers.multi_items() if k != "date"]


@pytest.mark.slow
@pytest.mark.parametrize("api", ["meiro", "director", "ylem"])
def test_traffic_to_a_clean_twin_passes_unchanged_and_clean(api, tmp_path, twins):
    twin = twins(api)
    upstream = twin + PROFILES[api].twin_root  # the twin serves the API at its documented root
    with ProxyProcess(tmp_path, "--api", api, "--upstream", upstream) as proxy:
        # The proxy's URL is the documented root; the session's paths carry Ylem's /v1.
        origin = proxy.url.removesuffix("/v1")
        with httpx.Client(base_url=origin, timeout=10) as client:
            through = _session(api, client)
        stopped = proxy.stop()
    # The same session straight to the same twin, reset to the world and clock it started from.
    with httpx.Client(base_url=twins(api), timeout=10) as client:
        straight = _session(api, client)
    for proxied, answered in zip(through, straight, strict=True):
        _same(proxied, answered)
    assert stopped.code == 0, stopped.stderr
    assert "VIOLATION" not in stopped.stderr and "Traceback" not in stopped.stderr
    report = stopped.report
    assert report["exchanges"] == len(through) and report["running"] is False
    assert report["exit_code"] == 0 and report["passed"] is True
    assert not [v for op in report["operations"] for v in op["violations"]]
    assert sum(op["cases"]["proxy"] for op in report["operations"]) == len(through)
    assert len(har.exchanges(proxy.recording)) == len(through)
    assert ET.parse(proxy.junit).getroot().get("failures") == "0"  # written at the SIGTERM


@pytest.mark.slow
def test_a_contract_breaking_upstream_is_reported_by_field_and_ctrl_c_writes_the_reports(
    tmp_path, twins
):
    faults = [
        RetypeField("GET", r"/workspaces/\d+", pointer="/workspace/name", value=3),
        DropField("GET", "/workspaces", pointer="/workspaces/*/user_id"),
    ]
    with (
        BrokenDeployment(twins("meiro"), faults) as broken,
        ProxyProcess(tmp_path, "--api", "meiro", "--upstream", broken.url) as proxy,
    ):
        with httpx.Client(base_url=proxy.url, headers=MEIRO, timeout=10) as client:
            listed = client.get("/workspaces")
            assert listed.status_code == 200
            assert "user_id" not in listed.json()["workspaces"][0]  # the upstream's answer
            workspace = listed.json()["workspaces"][0]["id"]
            assert client.get(f"/workspaces/{workspace}").json()["workspace"]["name"] == 3
            client.get("/workspaces")  # the same violation again: counted, not repeated
        # The report is kept current while the proxy runs; JUnit is written at the stop.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            running = json.loads(proxy.report.read_text())
            if running["exchanges"] == 3:
                break
            time.sleep(0.05)
        assert running["running"] is True and running["exit_code"] == 1, running
        assert not proxy.junit.exists()
        stopped = proxy.stop(signal.SIGINT)  # Ctrl-C
    assert stopped.code == 1 and "Traceback" not in stopped.stderr
    assert stopped.report["running"] is False and stopped.report["exit_code"] == 1
    assert "FAILED: 2 violation(s)" in stopped.stdout
    lines = [line for line in stopped.stderr.splitlines() if "VIOLATION" in line]
    assert len(lines) == 3, stopped.stderr
    # Each answer is checked once the client has it, so lines of answers close in time may
    # come in either order.
    dropped = [line for line in lines if "GET /workspaces -> 200" in line]
    assert len(dropped) == 2 and all("at /workspaces/0" in line for line in dropped)
    assert all('"user_id" is a required property' in line for line in dropped)
    assert sum("(seen 2 times)" in line for line in dropped) == 1
    (retyped,) = set(lines) - set(dropped)
    assert 'at /workspace/name: 3 is not of type "string"' in retyped, retyped
    violations = {
        violation["location"]: violation
        for operation in stopped.report["operations"]
        for violation in operation["violations"]
    }
    assert violations["/workspaces/0"]["occurrences"] == 2
    assert '"user_id" is a required property' in violations["/workspaces/0"]["message"]
    assert violations["/workspace/name"]["operation"] == "GET /workspaces/{workspace_id}"
    assert violations["/workspace/name"]["check"] == "response_schema_conformance"
    assert "twin-token" not in json.dumps(stopped.report)
    junit = ET.parse(proxy.junit).getroot()
    assert junit.get("failures") == "2" and junit.get("name") == "apitwin proxy meiro"


@pytest.mark.slow
def test_a_client_request_the_spec_does_not_allow_fails_the_run(tmp_path, twins):
    upstream = twins("meiro")
    with ProxyProcess(tmp_path, "--api", "meiro", "--upstream", upstream) as proxy:
        with httpx.Client(base_url=proxy.url, headers=MEIRO, timeout=10) as client:
            assert client.get("/workspaces", params={"order_dir": "DESC"}).status_code == 200
            assert client.get("/workspaces", params={"sort": "name"}).status_code == 400
            plain = {"Content-Type": "text/plain"}
            answer = client.post("/workspaces", content=b'{"name": "x"}', headers=plain)
            assert answer.status_code == 415
        stopped = proxy.stop()
    assert stopped.code == 1
    # Each request is checked once the client has its answer: the lines may come in any order.
    lines = sorted(line for line in stopped.stderr.splitlines() if "VIOLATION" in line)
    assert len(lines) == 2, stopped.stderr
    assert (
        "request_conformance · GET /workspaces?sort=name -> 400 · Request does not conform to "
        "the spec in the query string: Extra query parameter(s) sort not in spec" in lines[0]
    )
    assert (
        "request_conformance · POST /workspaces -> 415 · Request does not conform to the "
        "spec in the Content-Type header: Invalid Content-type (text/plain)" in lines[1]
    )
    assert ET.parse(proxy.junit).getroot().get("failures") == "2"  # written at the SIGTERM
    assert len(har.exchanges(proxy.recording)) == 3
    assert "twin-token" not in stopped.stderr + proxy.report.read_text()


@pytest.mark.slow
def test_a_known_deviation_does_not_fail_the_run(tmp_path, twins):
    known = tmp_path / "known.yaml"
    known.write_text(
        "deviations:\n"
        "  - api: meiro\n"
        "    operation: get_workspace\n"
        "    check: response_schema_conformance\n"
        "    message: 'is not of type'\n"
        "    reason: the name is a number on this staging (a test)\n"
        "  - api: meiro\n"
        "    operation: GET /favicon.ico\n"
        "    check: undocumented_operation\n"
        "    reason: browsers ask for it\n"
    )
    faults = [RetypeField("GET", r"/workspaces/\d+", pointer="/workspace/name", value=3)]
    with BrokenDeployment(twins("meiro"), faults) as broken:
        args = ("--api", "meiro", "--upstream", broken.url, "--known", str(known))
        with ProxyProcess(tmp_path, *args) as proxy:
            with httpx.Client(base_url=proxy.url, headers=MEIRO, timeout=10) as client:
                workspace = client.get("/workspaces").json()["workspaces"][0]["id"]
                client.get(f"/workspaces/{workspace}")
                client.get("/favicon.ico")
            stopped = proxy.stop()
    assert stopped.code == 0, stopped.stderr
    assert stopped.stderr.count("apitwin proxy: known ") == 2
    hits = {hit["deviation"]["check"] for op in stopped.report["operations"] for hit in op["known"]}
    assert hits == {"response_schema_conformance", "undocumented_operation"}
    assert "2 known deviation(s)" in stopped.stdout


@pytest.mark.slow
def test_the_recording_is_har_without_a_credential(tmp_path, twins):
    twin = twins("ylem")
    with ProxyProcess(tmp_path, "--api", "ylem", "--upstream", twin + "/v1") as proxy:
        with httpx.Client(base_url=proxy.url, timeout=10) as client:
            issued = client.post("/oauth/token", params=YLEM_CLIENT).json()
            secrets = ["twin-secret", issued["access_token"], issued["refresh_token"]]
            bearer = {"Authorization": f"Bearer {issued['access_token']}", "Cookie": COOKIE}
            assert client.post(f"/pipelines/{PIPELINE}/runs/", headers=bearer).is_success
            # Undocumented: its violation's curl command shows the request's headers.
            client.get("/no-such-operation", headers=bearer, params={"client_secret": "x" * 9})
            # Kept current while the proxy runs: complete, as a reader (or a kill) finds it.
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                with contextlib.suppress(har.HarError):
                    if len(har.exchanges(proxy.recording)) == 3:
                        break
                time.sleep(0.05)
            assert len(har.exchanges(proxy.recording)) == 3
        stopped = proxy.stop()
    assert stopped.code == 1  # the undocumented operation
    recorded = har.exchanges(proxy.recording)
    assert [e.method for e in recorded] == ["POST", "POST", "GET"]
    assert recorded[0].url.startswith(twin + "/v1/oauth/token?")
    assert recorded[1].status == 201 and recorded[1].request_header("authorization") == (
        "Bearer [REDACTED]"
    )
    assert json.loads(recorded[0].response_body)["access_token"] == "[REDACTED]"
    secrets += ["cookie-value-never-written", "x" * 9]
    outputs = {
        "recording": proxy.recording.read_text(),
        "report": proxy.report.read_text(),
        "junit": proxy.junit.read_text(),
        "stdout": stopped.stdout,
        "stderr": stopped.stderr,
    }
    assert "no-such-operation" in outputs["report"] and "curl" in outputs["report"]
    for name, text in outputs.items():
        for secret in secrets:
            assert secret not in text, (name, secret)


@pytest.mark.slow
def test_an_unreachable_upstream_is_a_502_and_an_error(tmp_path):
    upstream = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    with ProxyProcess(tmp_path, "--api", "director", "--upstream", upstream) as proxy:
        answer = httpx.get(proxy.url + "/api/workflows", timeout=10)
        stopped = proxy.stop()
    assert answer.status_code == 502
    assert answer.headers["content-type"] == "application/problem+json"
    assert upstream in answer.json()["detail"]
    assert stopped.code == 1 and "Traceback" not in stopped.stderr
    (line,) = [line for line in stopped.stderr.splitlines() if "ERROR" in line]
    assert line.startswith("apitwin proxy: ERROR GET /api/workflows -> 502: ")
    (operation,) = stopped.report["operations"]
    assert operation["label"] == "GET /api/workflows" and operation["status"] == "error"
    assert har.exchanges(proxy.recording) == []  # no answer, nothing to replay


@pytest.mark.slow
def test_a_killed_proxy_leaves_a_valid_recording(tmp_path, twins):
    upstream = twins("meiro")
    with ProxyProcess(tmp_path, "--api", "meiro", "--upstream", upstream) as proxy:
        with httpx.Client(base_url=proxy.url, headers=MEIRO, timeout=10) as client:
            for number in range(20):
                client.post("/workspaces", json={"name": f"workspace {number}"})
        # The files are rewritten at most every quarter second: wait (bounded) for the last one.
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError, ValueError):
                report = json.loads(proxy.report.read_text())
                if report["exchanges"] == len(har.exchanges(proxy.recording)) == 20:
                    break
            time.sleep(0.05)
        stopped = proxy.stop(signal.SIGKILL)
    assert stopped.code == -signal.SIGKILL
    assert len(har.exchanges(proxy.recording)) == 20
    assert json.loads(proxy.report.read_text())["exchanges"] == 20
