"""The conformance suite against a Ylem that answers as the real one was seen answering.

No real Ylem runs in CI (its statistics need ClickHouse 24 and Kafka), but its API gateway and
OAuth server were built from source (ylem-co/ylem) and their answers captured. Each fault below
turns the twin's answer into the captured one, in front of a Ylem twin (tests/breaker.py). The
run must pass with each difference listed in conformance/known_deviations.yaml (and explained in
specs/DECISIONS.md), and every Ylem entry there must be hit, so the list stays true to what
production does: an entry nothing triggers, or a captured answer no entry covers, fails here.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from breaker import BrokenDeployment, Exchange, Fault, conform
from support import TEST_EPOCH, served_in_thread

from apitwin.conformance import known
from apitwin.options import TwinOptions

pytestmark = pytest.mark.slow  # a conformance run, case by case over HTTP

CLIENT, SECRET = "twin-client", "twin-secret"
RUNS = r"/v1/(pipelines|workflows)/[^/]*/runs/"
TOKEN = "/v1/oauth/token"
UUID = re.compile(r"[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")


@dataclasses.dataclass
class EmptyAuthErrors(Fault):
    """Y9: the gateway's 401 (no or unknown Bearer) and 403 (scope) have no body and no type."""

    def after(self, exchange: Exchange) -> None:
        if exchange.status in (401, 403):
            exchange.response_body = b""
            exchange.response_headers.pop("content-type", None)


@dataclasses.dataclass
class RunAnswersItsUuidOnly(Fault):
    """Y11: a started run is 201 {"pipeline_run_uuid": ...}, not the documented task runs."""

    def after(self, exchange: Exchange) -> None:
        if exchange.status == 201:
            rows = exchange.json()
            exchange.set_json({"pipeline_run_uuid": rows[0]["workflow_run_uuid"]})


@dataclasses.dataclass
class EmptyNotFound(Fault):
    """Y13: an unknown or non-UUID pipeline is a 404 with an empty body typed as JSON."""

    def after(self, exchange: Exchange) -> None:
        uuid = exchange.path.split("/")[3]
        if exchange.status == 404 or (exchange.status == 400 and not UUID.fullmatch(uuid)):
            exchange.status = 404
            exchange.response_body = b""
            exchange.response_headers["content-type"] = "application/json; charset=utf-8"


@dataclasses.dataclass
class UnknownClientIsServerError(Fault):
    """Y4: a client id nobody registered is a 500 server_error (RFC 6749 says 401)."""

    def after(self, exchange: Exchange) -> None:
        client = exchange.query.get("client_id")
        if exchange.status == 401 and client is not None and client != CLIENT:
            exchange.status = 500
            exchange.response_headers["content-type"] = "application/json;charset=UTF-8"
            exchange.set_json(
                {
                    "error": "server_error",
                    "error_description": "The authorization server encountered an unexpected "
                    "condition that prevented it from fulfilling the request",
                }
            )


GATEWAY = [
    EmptyAuthErrors(method, r"/v1/(pipelines|workflows|stats)/.*")
    for method in ("GET", "POST", "PUT", "PATCH", "DELETE")
]
GATEWAY += [
    RunAnswersItsUuidOnly("POST", RUNS),
    EmptyNotFound("POST", RUNS),
    UnknownClientIsServerError("GET", TOKEN),
    UnknownClientIsServerError("POST", TOKEN),
]


@pytest.fixture(scope="module")
def outcome(tmp_path_factory):
    ylem = TwinOptions(api="ylem", seed=7, epoch=TEST_EPOCH)
    with served_in_thread(ylem) as twin, BrokenDeployment(twin, GATEWAY) as gateway:
        return conform(
            tmp_path_factory.mktemp("ylem-live"),
            *("--api", "ylem", "--base-url", gateway.url + "/v1"),
            *("--client-id", CLIENT, "--client-secret", SECRET),
            *("--seed", "3", "--max-examples", "8"),
        )


def _hit(report: dict) -> set[known.Deviation]:
    return {
        known.Deviation(**hit["deviation"])
        for operation in report["operations"]
        for hit in operation["known"]
    }


def test_every_captured_difference_is_a_known_deviation(outcome):
    assert outcome.report is not None, outcome.summary
    assert outcome.exit_code == 0, outcome.summary
    assert SECRET not in outcome.summary + str(outcome.report)


def test_every_listed_ylem_deviation_is_observed(outcome):
    listed = {d for d in known.load() if d.api == "ylem"}
    assert listed, "the Ylem deviations are listed in conformance/known_deviations.yaml"
    stale = [f"{d.operation} {d.check}: {d.reason}" for d in listed - _hit(outcome.report)]
    assert not stale, "known deviations not observed:\n" + "\n".join(stale)
