"""Every operation of the four specs, sent the same classes of bad input: none answers 5xx.

The classes: integers too large for 64 bits or for Python's int parsing (4,301+ digits) in every
integer parameter, a JSON body sent without Content-Type, a body holding NaN or a 4,301-digit
integer, and a preflight whose requested method is not latin-1 text. They run on the memory
store and the file store (SQLite's integers are 64-bit)."""

from __future__ import annotations

import pytest
from support import TEST_EPOCH, TEST_SEED, in_process, token

from apitwin.apis.spec_index import operations, resolve
from apitwin.app import create_app
from apitwin.options import TwinOptions

HUGE = [str(2**63), str(10**30), "9" * 4301]
BODIES = [b'{"name": NaN}', b'{"name": "x", "id": ' + b"9" * 4301 + b"}", b"[" * 50 + b"]" * 50]
PREFIX = {"ylem": "/ylem/v1", "director": "/director", "meiro": "/meiro", "_twin": "/_twin"}
# Values that pass each parameter's schema, so one bad value at a time reaches the twin.
SAMPLES = {"uuid": "5c0b8a3e-7f4d-4e9a-8c21-1d6f3b2a9e40", "date": "2026-01-01"}


def _sample(schema: dict):
    if schema.get("enum"):
        return str(schema["enum"][0])
    if schema.get("type") == "integer":
        return str(max(schema.get("minimum", 1), 1))
    if schema.get("format") == "date-time":
        return "2026-01-01 00:00:00"
    return SAMPLES.get(schema.get("format"), "1")


def _cases():
    for api in PREFIX:
        for op in operations(api):
            params = [resolve(op.spec, p) for p in op.op.get("parameters", [])]
            path_params = {
                p["name"]: resolve(op.spec, p["schema"]) for p in params if p["in"] == "path"
            }
            yield api, op, params, path_params


def _url(api, op, path_params, override=None) -> str:
    path = op.path
    for name, schema in path_params.items():
        value = (override or {}).get(name, _sample(schema))
        path = path.replace("{" + name + "}", value)
    return PREFIX[api] + path


@pytest.fixture(scope="module", params=["memory", "file"])
def client(request, tmp_path_factory):
    store = "memory" if request.param == "memory" else f"file:{tmp_path_factory.mktemp('s')}/t.db"
    app = create_app(
        TwinOptions(seed=TEST_SEED, epoch=TEST_EPOCH, store=store, validate_responses=True)
    )
    with in_process(app) as client:
        bearer = token(client)
        client.headers.update({"X-Access-Token": "twin-token", "Authorization": f"Bearer {bearer}"})
        yield client


def test_no_bad_input_answers_5xx(client):
    failures = []

    def send(method, url, **kwargs):
        answer = client.request(method, url, **kwargs)
        if answer.status_code >= 500:
            failures.append(f"{method} {url[:120]} {kwargs.get('content', b'')[:40]!r}")
        return answer

    for api, op, params, path_params in _cases():
        for name, schema in path_params.items():
            if schema.get("type") == "integer":
                for value in HUGE:
                    send(op.method, _url(api, op, path_params, {name: value}))
        for param in params:
            schema = resolve(op.spec, param.get("schema", {}))
            if param["in"] == "query" and schema.get("type") in ("integer", "number"):
                for value in HUGE:
                    send(op.method, _url(api, op, path_params), params={param["name"]: value})
        if "requestBody" in op.op:
            url = _url(api, op, path_params)
            send(op.method, url, content=b'{"name": "x"}')  # no Content-Type at all
            for body in BODIES:
                send(op.method, url, content=body, headers={"Content-Type": "application/json"})
        method = "G\u00e9T\u2603".encode()  # UTF-8 bytes, not latin-1 text
        preflight = {"Origin": "http://localhost:3000", "Access-Control-Request-Method": method}
        send("OPTIONS", _url(api, op, path_params), headers=preflight)
    assert not failures, f"{len(failures)} answers were 5xx:\n" + "\n".join(failures[:40])
