"""The admin API answers the twin's own pages and tools, never another web page; the three APIs
keep their CORS for frontends."""

from __future__ import annotations

import httpx
import pytest
from support import TEST_EPOCH, TWIN_URL, in_process

from apitwin.app import create_app
from apitwin.cli import exposure_warning
from apitwin.options import TwinOptions

EVIL = "https://evil.example"
MEIRO = {"X-Access-Token": "twin-token"}


def _refused(answer: httpx.Response, status: int = 403) -> None:
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["status"] == status
    assert "access-control-allow-origin" not in answer.headers


def test_a_page_on_another_origin_cannot_drive_the_admin_api(twin):
    created = twin.post("/meiro/workspaces", headers=MEIRO, json={"name": "kept"})
    assert created.status_code == 201
    preflight = twin.options(
        "/_twin/state",
        headers={
            "Origin": EVIL,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Private-Network": "true",
        },
    )
    _refused(preflight)
    assert "access-control-allow-private-network" not in preflight.headers
    _refused(twin.post("/_twin/reset", headers={"Origin": EVIL}))
    _refused(twin.get("/_twin/state", headers={"Origin": EVIL}))
    _refused(twin.get("/_twin/catalog", headers={"Sec-Fetch-Site": "cross-site"}))
    listed = twin.get("/meiro/workspaces", params={"name_filter": "kept"}, headers=MEIRO).json()
    assert [w["name"] for w in listed["workspaces"]] == ["kept"]  # the refused reset did nothing


def test_a_rebound_host_is_refused(twin):
    _refused(twin.get("/_twin/state", headers={"Host": "attacker.example:8000"}))
    assert twin.get("/_twin/clock", headers={"Host": "localhost:8000"}).status_code == 200
    assert twin.get("/_twin/clock", headers={"Host": "[::1]:8000"}).status_code == 200


def test_the_twins_own_pages_and_tools_are_served(twin):
    assert twin.get("/_twin/clock").status_code == 200  # curl, scripts, tests: no Origin
    own = twin.post("/_twin/clock", json={"freeze": True}, headers={"Origin": TWIN_URL})
    assert own.status_code == 200  # the Swagger UI page of the twin itself


def test_the_apis_keep_their_cors(twin):
    preflight = twin.options(
        "/meiro/workspaces",
        headers={"Origin": EVIL, "Access-Control-Request-Method": "GET"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    listed = twin.get("/meiro/workspaces", headers={**MEIRO, "Origin": EVIL})
    assert listed.status_code == 200 and listed.headers["access-control-allow-origin"] == "*"


@pytest.fixture
def guarded():
    """A twin with an admin token and one configured frontend origin."""
    options = TwinOptions(
        epoch=TEST_EPOCH, admin_token="s3cret-admin", cors_origins=["http://localhost:3000"]
    )
    with in_process(create_app(options)) as client:
        yield client


def test_with_a_token_every_admin_call_needs_it(guarded):
    missing = guarded.get("/_twin/clock")
    _refused(missing, 401)
    assert missing.headers["www-authenticate"] == "Bearer"
    _refused(guarded.get("/_twin/clock", headers={"X-Twin-Admin-Token": "wrong"}), 401)
    assert guarded.get("/_twin/clock", headers={"X-Twin-Admin-Token": "s3cret-admin"}).is_success
    bearer = {"Authorization": "Bearer s3cret-admin"}
    assert guarded.get("/_twin/clock", headers=bearer).is_success
    # The token stands in for the Host check: a public address is reached by any name.
    public = {**bearer, "Host": "twin.internal.example:8000"}
    assert guarded.get("/_twin/clock", headers=public).is_success
    # A configured origin may drive it, with the token; a foreign one may not, even with it.
    configured = {**bearer, "Origin": "http://localhost:3000"}
    assert guarded.get("/_twin/clock", headers=configured).is_success
    _refused(guarded.get("/_twin/clock", headers={**bearer, "Origin": EVIL}))
    assert "s3cret-admin" not in str(guarded.get("/_twin/requests", headers=bearer).json())
    assert guarded.get("/meiro/workspaces", headers=MEIRO).status_code == 200  # APIs: no token


def test_binding_other_machines_without_a_token_warns():
    assert exposure_warning(TwinOptions(host="0.0.0.0")) is not None
    assert "--admin-token" in exposure_warning(TwinOptions(host="192.0.2.10"))
    assert exposure_warning(TwinOptions(host="0.0.0.0", admin_token="t")) is None
    assert exposure_warning(TwinOptions(host="127.0.0.1")) is None
    assert exposure_warning(TwinOptions(host="localhost")) is None
