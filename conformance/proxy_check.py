"""One live exchange checked against the spec: the request with the twin's own validation, the
answer with the suite's own schemathesis checks.

`apitwin proxy` sees real traffic, not generated cases. The request the client sent goes through
the checks every request to the twin takes (route_table.CompiledOperation.refusal: Connexion's
parameter, media type and body validation, without the credentials, which are the upstream's):
what the twin would refuse is a `request_conformance` violation. Then a schemathesis Case is
built from that request (its operation found by method and path) and a schemathesis Response
from the upstream's answer, and those checks of `apitwin conform` run that judge one answer on
its own. The others need a case schemathesis generated (valid or invalid on purpose), send
requests of their own, or follow a stateful scenario; a passive proxy has none of these.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import urllib.parse

import requests
from requests.structures import CaseInsensitiveDict
from schemathesis.checks import CHECKS as SCHEMATHESIS_CHECKS
from schemathesis.checks import load_all_checks
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.utils import compile_path_template

from . import har
from .credentials import Redactor
from .diff_send import curl
from .known import Deviation, KnownDeviations
from .proxy import Seen
from .results import Violation, make_violation
from .settings import CHECKS as SUITE_CHECKS

ANSWER_CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
)
assert set(ANSWER_CHECKS) <= set(SUITE_CHECKS)
UNDOCUMENTED = "undocumented_operation"
REQUEST = "request_conformance"
CHECKS = (REQUEST, *ANSWER_CHECKS, UNDOCUMENTED)  # every check the proxy runs
PHASE = "proxy"  # what reports show as the phase of every violation


class UndocumentedOperation(Failure):
    """A request the spec has no operation for: a client relying on something undocumented."""

    checks = (UNDOCUMENTED,)
    kind_title = "Undocumented operation"


class NonConformingRequest(Failure):
    """A request the spec does not allow: one the twin's own request validation refuses."""

    checks = (REQUEST,)
    kind_title = "Request does not conform to the spec"


@dataclasses.dataclass
class Finding:
    """What one check found: a violation, or a failure a known deviation covers."""

    violation: Violation
    deviation: Deviation | None = None


def request_checks(api: str) -> dict:
    """The API's operations as the twin compiles them, by operationId, to check requests only."""
    from apitwin.apis import APIS
    from apitwin.apis.spec_index import load_spec
    from apitwin.pipeline.route_table import RouteTable

    table = RouteTable()
    table.add_api(api, "", load_spec(APIS[api].spec), None)
    return {operation.operation_id: operation for operation in table.operations}


class Checker:
    def __init__(
        self, api: str, schema, known: KnownDeviations, redactor: Redactor, requests=None
    ) -> None:
        load_all_checks()
        self.api, self.schema, self.known, self.redact = api, schema, known, redactor
        self.sanitization = schema.config.output.sanitization
        self.checks = [SCHEMATHESIS_CHECKS.get_one(name) for name in ANSWER_CHECKS]
        # operationId -> CompiledOperation (request_checks(api) unless given)
        self.requests = request_checks(api) if requests is None else requests

    def operation(self, method: str, api_path: str | None):
        """The spec's operation for a request, or None. The method must be the operation's own:
        werkzeug's router would let HEAD stand for a documented GET."""
        if api_path is None:
            return None
        found = self.schema.find_operation_by_path(method, api_path)
        if found is None or found.method.upper() != method.upper():
            return None
        return found

    def check(self, seen: Seen) -> tuple[str, str | None, list[Finding]]:
        """(operation label, operationId, findings) for one exchange."""
        exchange = seen.exchange
        response = _response(exchange, seen.client_url)
        operation = self.operation(exchange.method, seen.api_path)
        code = curl(seen.forwarded, self.redact)
        if operation is None:
            label = f"{exchange.method} {urllib.parse.urlsplit(seen.client_url).path}"
            failure = UndocumentedOperation(
                operation=label,
                message=f"the spec has no operation {exchange.method} for this path",
            )
            return label, None, [self._finding(label, None, UNDOCUMENTED, failure, response, code)]
        operation_id = operation.definition.raw.get("operationId")
        case = _case(operation, seen.api_path, exchange)
        findings = []
        failure = self.request_failure(operation, operation_id, seen, case.path_parameters)
        if failure is not None:
            findings.append(
                self._finding(operation.label, operation_id, REQUEST, failure, response, code)
            )
        for check in self.checks:
            try:
                case.validate_response(response, checks=[check])
            except FailureGroup as group:
                for failure in group.exceptions:
                    findings.append(
                        self._finding(
                            operation.label, operation_id, check.__name__, failure, response, code
                        )
                    )
        return operation.label, operation_id, findings

    def request_failure(
        self, operation, operation_id, seen: Seen, path_parameters: dict
    ) -> NonConformingRequest | None:
        """What the twin's validation refuses in the request as the upstream got it (the client's
        request but for the connection's own headers), or None."""
        compiled = self.requests.get(operation_id)
        if compiled is None:
            return None
        forwarded = seen.forwarded
        scope = {
            "type": "http",
            "method": forwarded.method,
            "scheme": "http",
            "path": seen.api_path,
            "raw_path": seen.api_path.encode(),
            "root_path": "",
            "query_string": forwarded.url.query,
            "headers": [(name.lower(), value) for name, value in forwarded.headers.raw],
            "path_params": dict(path_parameters),
            "server": None,
        }
        refusal = compiled.refusal(scope, seen.exchange.request_body)
        if refusal is None:
            return None
        return NonConformingRequest(
            operation=operation.label,
            title=f"{NonConformingRequest.kind_title} in {refusal.part}",
            message=f"{refusal.detail}\n\nA server that keeps to the spec may refuse this "
            f"request: the twin's request validation answers it {refusal.status}.",
        )

    def _finding(self, label, operation_id, check, failure, response, code) -> Finding:
        violation = make_violation(
            label,
            check,
            failure,
            response,
            phase=PHASE,
            curl=code,
            redact=self.redact,
            sanitization=self.sanitization,
        )
        deviation = self.known.record(label, operation_id, failure, response)
        return Finding(violation, deviation)


def _response(exchange: har.Exchange, client_url: str) -> Response:
    # Assigned rather than prepared: requests would refuse some header values a client sent.
    request = requests.PreparedRequest()
    request.method, request.url = exchange.method, client_url
    request.headers, request.body = CaseInsensitiveDict(), exchange.request_body or None
    headers: dict[str, list[str]] = {}
    for name, value in exchange.response_headers:
        headers.setdefault(name.lower(), []).append(value)
    return Response(
        status_code=exchange.status,
        headers=headers,
        content=exchange.response_body,
        request=request,
        elapsed=exchange.elapsed_ms / 1000,
        verify=True,
    )


def _case(operation, api_path: str, exchange: har.Exchange):
    template = compile_path_template(operation.path)
    match = template.pattern.fullmatch(api_path)
    path_parameters = dict(zip(template.names, match.groups(), strict=True)) if match else {}
    values: dict[str, list[str]] = {}
    for name, value in urllib.parse.parse_qsl(
        urllib.parse.urlsplit(exchange.url).query, keep_blank_values=True
    ):
        values.setdefault(name, []).append(value)
    query = {name: found[0] if len(found) == 1 else found for name, found in values.items()}
    media_type = exchange.request_header("content-type")
    body = exchange.request_body
    if body and media_type and "json" in media_type:
        with contextlib.suppress(ValueError):
            body = json.loads(body)
    return operation.Case(
        path_parameters=path_parameters,
        headers=dict(exchange.request_headers),
        query=query,
        **({"body": body, "media_type": media_type} if body else {}),
    )
