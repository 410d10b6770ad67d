"""Director with basic auth on (`--director-basic-auth`), served alone at its root: every
operation but the ping answers Director's 401 with a Basic challenge unless the credential is
right."""

from __future__ import annotations

import base64

import httpx
import pytest

from apitwin.serve.process import TwinProcess

USER, PASSWORD = "ops", "s3cret:with-colon"
UNAUTHORIZED = {
    "error": "unauthorized",
    "message": "Please authenticate to access this API.",
    "status": 401,
}
ID = "29e7ef80-fa1b-4b91-8ccb-ef01a91601db"
OPERATIONS = [
    ("GET", "/api/workflows", None),
    ("POST", "/api/workflows", {"project": "example", "name": "ETL", "payload": {}}),
    ("GET", f"/api/workflows/{ID}", None),
    ("POST", f"/api/workflows/{ID}/relaunch", None),
]


@pytest.fixture(scope="module")
def guarded():
    credential = f"{USER}:{PASSWORD}"
    args = ("--api", "director", "--seed", "1337", "--epoch", "2026-11-01", "--validate-responses")
    server = TwinProcess(*args, "--director-basic-auth", credential)
    with server, httpx.Client(base_url=server.url, timeout=10.0) as client:
        yield client


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


WRONG = [
    pytest.param({}, id="none"),
    pytest.param(basic(USER, "wrong"), id="wrong-password"),
    pytest.param(basic("root", PASSWORD), id="wrong-user"),
    pytest.param(basic(USER, PASSWORD.upper()), id="wrong-case"),
    pytest.param({"Authorization": "Basic !!!not-base64"}, id="not-base64"),
    pytest.param(
        {"Authorization": "Basic " + base64.b64encode(b"nocolon").decode()}, id="no-colon"
    ),
    pytest.param({"Authorization": f"Bearer {PASSWORD}"}, id="bearer"),
]


@pytest.mark.parametrize("headers", WRONG)
@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS)
def test_a_missing_or_wrong_credential_is_directors_401(guarded, method, path, body, headers):
    before = len(guarded.get("/api/workflows", headers=basic(USER, PASSWORD)).json())
    response = guarded.request(method, path, json=body, headers=headers)
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert response.headers["content-type"] == "application/problem+json"
    assert UNAUTHORIZED.items() <= response.json().items()
    assert len(guarded.get("/api/workflows", headers=basic(USER, PASSWORD)).json()) == before


@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS)
def test_the_right_credential_is_served(guarded, method, path, body):
    response = guarded.request(method, path, json=body, headers=basic(USER, PASSWORD))
    assert response.status_code in (200, 201), response.text


def test_the_ping_stays_open(guarded):
    response = guarded.get("/api/ping")
    assert response.status_code == 200 and response.json() == {"message": "pong"}
