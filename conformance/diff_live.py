"""Live mode: the same generated requests to the deployment (side A) and to a twin (side B).

Per operation, in the spec's order: every documented example, then `max_examples` valid
requests drawn by schemathesis (deterministic in the seed); after each 2xx answer, the spec's
links from it (create -> read, change, delete -> restore...), two levels deep, with the
parameters taken from A's answer and A's request. B gets each request with A's ids mapped to
its own.
"""

from __future__ import annotations

import urllib.parse

import httpx
import hypothesis
from hypothesis import HealthCheck, Phase
from schemathesis import GenerationMode

from .diff_compare import Answer
from .diff_run import DiffResult, Run
from .diff_send import Request, Side, SpecIndex

# Links followed from a link's answer too (create -> delete -> restore), this deep at most.
MAX_DEPTH = 2
# Builds requests (the transport's serialisation), never sends: no certificate store to load.
_client = httpx.Client(verify=False)


def _draw(strategy, count: int, seed: int) -> list:
    drawn: list = []

    @hypothesis.settings(
        max_examples=count,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @hypothesis.seed(seed)
    @hypothesis.given(strategy)
    def collect(case):
        drawn.append(case)

    collect()
    return drawn[:count]


def _request(case, operation_id: str, origin: str) -> Request:
    kwargs = case.as_transport_kwargs(base_url="http://diff.invalid")
    built = _client.build_request(
        kwargs["method"],
        kwargs["url"],
        params=kwargs.get("params"),
        headers={k: str(v) for k, v in (kwargs.get("headers") or {}).items()},
        json=kwargs.get("json"),
        content=kwargs.get("data") if isinstance(kwargs.get("data"), bytes | str) else None,
    )
    url = urllib.parse.urlsplit(str(built.url))
    return Request(
        method=built.method,
        path=url.path,
        query=urllib.parse.parse_qsl(url.query, keep_blank_values=True),
        headers=[
            (k, v)
            for k, v in built.headers.items()
            if k.lower() not in ("host", "x-schemathesis-testcaseid")
        ],
        body=built.content,
        operation=operation_id,
        origin=origin,
    )


def _pointer(document, pointer: str):
    for step in pointer.lstrip("/").split("/") if pointer.strip("/") else []:
        step = step.replace("~1", "/").replace("~0", "~")
        if isinstance(document, dict) and step in document:
            document = document[step]
        elif isinstance(document, list) and step.isdigit() and int(step) < len(document):
            document = document[int(step)]
        else:
            return None
    return document


def _link_value(expression, request: Request, answer: Answer, path_parameters: dict):
    if not isinstance(expression, str) or not expression.startswith("$"):
        return expression
    if expression.startswith("$response.body#"):
        return _pointer(answer.json(), expression.split("#", 1)[1])
    if expression.startswith("$request.path."):
        return path_parameters.get(expression.removeprefix("$request.path."))
    if expression.startswith("$request.query."):
        return dict(request.query).get(expression.removeprefix("$request.query."))
    return None


def _links(spec: dict, operation: dict, status: int) -> dict:
    response = (operation.get("responses") or {}).get(str(status)) or {}
    while "$ref" in response:  # #/components/responses/Name
        name = response["$ref"].rsplit("/", 1)[-1]
        response = spec.get("components", {}).get("responses", {}).get(name, {})
    return response.get("links") or {}


class Live:
    def __init__(self, schema, index: SpecIndex, side_a: Side, run: Run, seed: int, count: int):
        self.schema, self.index, self.side_a, self.run = schema, index, side_a, run
        self.seed, self.count = seed, count
        self.operations = {}
        for result in schema.get_all_operations():
            operation = result.ok()
            operation_id = operation.definition.raw.get("operationId", operation.label)
            self.operations[operation_id] = operation

    def cases(self, operation_id: str):
        operation = self.operations[operation_id]
        for strategy in self.schema.get_strategies_from_examples(operation, fill_missing=True):
            for case in _draw(strategy, 1, self.seed):
                yield case, "example"
        strategy = operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
        for case in _draw(strategy, self.count, self.seed):
            yield case, "generated"

    def both(self, case, operation_id: str, origin: str, result: DiffResult):
        request = _request(case, operation_id, origin)
        _, a = self.side_a.send(request)
        self.run.against_b(request, a, result)
        return request, a, dict(case.path_parameters or {})

    def follow(self, request, answer, path_parameters, result: DiffResult, depth: int = 1) -> None:
        if not 200 <= answer.status < 300 or depth > MAX_DEPTH:
            return
        operation = self.index.operation(request.operation)
        for name, link in _links(self.index.spec, operation, answer.status).items():
            target = link.get("operationId")
            if target not in self.operations:
                continue
            values = {
                key: _link_value(expression, request, answer, path_parameters)
                for key, expression in (link.get("parameters") or {}).items()
            }
            if any(value is None for value in values.values()):
                continue
            follow_up = self.operations[target]
            path_names = {p.name for p in follow_up.path_parameters}
            strategy = follow_up.as_strategy(
                generation_mode=GenerationMode.POSITIVE,
                path_parameters={k: v for k, v in values.items() if k in path_names} or None,
                query={k: v for k, v in values.items() if k not in path_names} or None,
            )
            for case in _draw(strategy, 1, self.seed):
                sent, got, parameters = self.both(case, target, f"link {name}", result)
                self.follow(sent, got, parameters, result, depth + 1)

    def run_all(self) -> DiffResult:
        result = DiffResult(self.run.api, "live", self.side_a.base_url, self.run.side_b.base_url)
        for operation_id in self.operations:
            for case, origin in self.cases(operation_id):
                request, answer, path_parameters = self.both(case, operation_id, origin, result)
                self.follow(request, answer, path_parameters, result)
        return self.run.finish(result)
