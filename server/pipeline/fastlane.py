"""The fast lane: a valid request to an operation, served without Connexion's per-request cost.

Connexion routes, authenticates, validates and calls a handler through a dozen layers, building
request objects, URI parsers and jsonschema validators anew for every request; measured here, that
cost more than the twin's own work (bench/, README "Performance"). The lane takes the same steps
with what Connexion's own parts prepare once per operation: its operation object (parameters,
security, body schema, produced media types), its URI parser, its security checks, its argument
builder, jsonschema validators built at start-up with the options Connexion uses, the same bound
handler and the same JSON encoder.

The lane answers only requests it has checked as Connexion would and found valid; everything
else goes on to Connexion untouched, which answers it exactly as before: a missing or refused
credential, a parameter or body that does not validate, an unknown query parameter, a body that is
not `application/json`, any `Prefer` header, active fault rules, a path it does not route to
exactly one operation. Errors a handler raises are rendered by the app's error handlers, as the
lane sits inside Connexion's exception middleware, behind the journal, CORS and `Prefer: delay`.

It is off with --validate-responses (every answer then passes Connexion's response checks) and
--no-fast-lane, and for Director, whose handlers read Connexion's request context. A middleware
added after routing must be applied here too, or make the lane step aside.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import json
import re

from connexion.decorators.parameter import (
    _get_query_defaults,
    _get_val_from_param,
    sanitized,
)
from connexion.json_schema import Draft4RequestValidator
from connexion.lifecycle import ConnexionRequest
from connexion.middleware import MiddlewarePosition
from connexion.middleware.security import SecurityOperation
from connexion.operations import OpenAPIOperation
from connexion.resolver import Resolver
from connexion.security import SecurityHandlerFactory
from connexion.utils import (
    deep_merge,
    inspect_function_arguments,
    is_json_mimetype,
    is_null,
    is_nullable,
)
from jsonschema import Draft4Validator
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from apitwin.pipeline.faults import COLLECTION as FAULT_RULES
from apitwin.pipeline.jsonbody import dumps_bytes

# APIs whose handlers take everything as arguments (Director's read connexion.request).
SERVED = ("meiro", "ylem")
# The path segment each OpenAPI type matches: Connexion's Starlette convertors.
_SEGMENT = {"integer": r"[+-]?[0-9]+", "number": r"[+-]?[0-9]*(?:\.[0-9]*)?", "path": r".*"}
_CONVERT = {"integer": int, "number": float}
_TEMPLATE = re.compile(r"\{([^}]*)\}")
_FORMATS = Draft4Validator.FORMAT_CHECKER
# Connexion's name mangling (three regular expressions), for the few names a spec has.
_sanitized = functools.lru_cache(maxsize=1024)(sanitized)
_REMEMBERED = 512  # verdicts a parameter keeps, per distinct value


class StepAside(Exception):
    """This request is Connexion's to answer."""


@dataclasses.dataclass
class _Parameter:
    name: str
    where: str  # query, path or header
    required: bool
    nullable: bool
    validator: Draft4Validator
    # Verdicts on values seen: the same schema says the same of the same value.
    verdicts: dict = dataclasses.field(default_factory=dict)

    def check(self, value) -> None:
        """ParameterValidator.validate_parameter, with a validator built once."""
        if self.nullable and is_null(value):
            return
        if value is None:
            if self.required:
                raise StepAside
            return
        if not isinstance(value, str | int | float):  # arrays: not remembered
            valid = self.validator.is_valid(value)
        else:
            key = (type(value), value)
            valid = self.verdicts.get(key)
            if valid is None:
                valid = self.validator.is_valid(value)
                if len(self.verdicts) < _REMEMBERED:
                    self.verdicts[key] = valid
        if not valid:
            raise StepAside


class _Operation:
    """One operation, with everything Connexion would build per request built once."""

    def __init__(self, api, base_path, spec, path, method, handlers, security_map) -> None:
        self.api = api
        self.base_path = base_path
        # A private copy: Connexion's operation appends path-level parameters to the list it gets.
        raw = copy.deepcopy(spec.get_operation(path, method))
        resolver = Resolver(function_resolver=lambda operation_id: getattr(handlers, operation_id))
        self.operation = OpenAPIOperation(
            method,
            path,
            raw,
            resolver=resolver,
            path_parameters=copy.deepcopy(spec.get_path_params(path)),
            app_security=spec.security,
            security_schemes=spec.security_schemes,
            components=spec.components,
        )
        op = self.operation
        self.operation_id = op.operation_id
        self.handler = op.function
        self.arguments, self.has_kwargs = inspect_function_arguments(self.handler)
        self.uri_parser = op._uri_parser_class(op.parameters, op.body_definition())
        self.parameters = []
        for definition in op.parameters:
            if definition["in"] == "cookie":
                raise StepAside  # no operation here has one; Connexion keeps them
            schema = definition.get("schema", definition)
            self.parameters.append(
                _Parameter(
                    definition["name"],
                    definition["in"],
                    bool(definition.get("required")),
                    bool(is_nullable(definition)),
                    Draft4Validator(schema, format_checker=_FORMATS),
                )
            )
        self.query_names = {p.name for p in self.parameters if p.where == "query"}
        # What connexion.decorators.parameter.get_arguments works out per request.
        self.path_definitions = {d["name"]: d for d in op.parameters if d["in"] == "path"}
        self.query_definitions = {d["name"]: d for d in op.parameters if d["in"] == "query"}
        self.query_defaults = _get_query_defaults(self.query_definitions)
        self.mutable_defaults = any(
            isinstance(v, dict | list) for v in self.query_defaults.values()
        )
        self.body_name = None
        if op.request_body and (self.arguments or self.has_kwargs):
            name = _sanitized(op.body_name("application/json"))
            self.body_name = name if self.has_kwargs or name in self.arguments else None
        for requirement in op.security or ():
            for scheme in requirement:
                definition = op.security_schemes[scheme]
                if definition["type"] == "apiKey" and definition["in"] == "query":
                    self.query_names.add(definition["name"])
        self.security = None
        if op.security:
            factory = SecurityHandlerFactory(security_map)
            self.security = SecurityOperation.from_operation(
                op, next_app=None, security_handler_factory=factory
            ).verification_fn
        self.body = None
        if op.request_body:
            if "application/json" not in op.consumes:
                raise StepAside
            schema = op.body_schema("application/json")
            self.body = Draft4RequestValidator(schema, format_checker=_FORMATS)
        self.produces = set(op.produces)
        # The path as a regular expression, its parameters as named groups.
        types = op.get_path_parameter_types()
        pattern, names = "", {}
        for literal, name in _split_template(path):
            pattern += re.escape(literal)
            if name is not None:
                group = name.replace("-", "_")
                if not group.isidentifier():
                    raise StepAside
                names[group] = types.get(name)
                pattern += f"(?P<{group}>{_SEGMENT.get(types.get(name), '[^/]+')})"
        self.pattern = re.compile(re.escape(base_path) + pattern)
        self.path_types = names

    def match(self, path: str) -> dict | None:
        found = self.pattern.fullmatch(path)
        if found is None:
            return None
        params = found.groupdict()
        for name, value in params.items():
            convert = _CONVERT.get(self.path_types[name])
            if convert is not None:
                params[name] = convert(value)  # what Starlette's convertor hands Connexion
        return params

    def wants(self, name: str) -> bool:
        return self.has_kwargs or name in self.arguments

    async def arguments_for(self, scope: Scope, path_params: dict, headers: Headers, body):
        """The handler's keyword arguments, as Connexion would build them; StepAside if Connexion
        would refuse the request."""
        # A copy of the scope, so nothing noted while checking stays if the lane steps aside.
        probe = {**scope, "path_params": path_params, "extensions": {}}
        request = ConnexionRequest(probe, uri_parser=self.uri_parser)
        if self.security is not None:
            try:
                await self.security(request)
            except Exception:
                raise StepAside from None
        query = request.query_params if scope["query_string"] else {}
        if not query.keys() <= self.query_names:
            raise StepAside  # strict validation: an unknown query parameter is a 400
        path_values = self.uri_parser.resolve_path(path_params)
        for parameter in self.parameters:
            if parameter.where == "query":
                parameter.check(query.get(parameter.name))
            elif parameter.where == "path":
                parameter.check(path_values.get(parameter.name.replace("-", "_")))
            else:
                parameter.check(headers.get(parameter.name))
        # No body, or JSON null: Connexion decides (a 400, or a default body).
        if self.body is not None and (body is None or not self.body.is_valid(body)):
            raise StepAside
        return self._arguments(path_values, query, body, request.context)

    def _arguments(self, path_values: dict, query: dict, body, context: dict) -> dict:
        """connexion.decorators.parameter.get_arguments and prep_kwargs, with what they work
        out from the spec on every request worked out once."""
        kwargs = {}
        for name, value in path_values.items():
            definition = self.path_definitions.get(name)
            kwargs[_sanitized(name)] = (
                value if definition is None else _get_val_from_param(value, definition)
            )
        merged = (
            copy.deepcopy(self.query_defaults) if self.mutable_defaults else {**self.query_defaults}
        )
        for name, value in deep_merge(merged, query).items():
            key = _sanitized(name)
            if self.wants(key) and name in self.query_definitions:
                kwargs[key] = _get_val_from_param(value, self.query_definitions[name])
        if self.body_name is not None:
            kwargs[self.body_name] = body
        for key, value in context.items():  # user, token_info from security
            if self.wants(key):
                kwargs[key] = value
        return kwargs

    def response(self, result) -> Response:
        """BaseResponseDecorator.build_framework_response for what the twin's handlers return."""
        data, status, headers = _unpack(result)
        content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
        if content_type is None:
            if len(self.produces) != 1:
                raise RuntimeError(f"{self.operation_id} returned no content type")
            content_type = next(iter(self.produces))
            headers = {**headers, "Content-Type": content_type}
        elif content_type not in self.produces:
            raise RuntimeError(f"{self.operation_id} returned {content_type}, not in its spec")
        if data is not None and is_json_mimetype(content_type.split(";")[0]):
            data = dumps_bytes(data)
        status = status or (204 if data is None else 200)
        return Response(data, status_code=status, headers=headers, media_type=content_type)


def _split_template(path: str):
    """'/a/{b}/c' -> ('/a/', 'b'), ('/c', None)."""
    at = 0
    for found in _TEMPLATE.finditer(path):
        yield path[at : found.start()], found.group(1)
        at = found.end()
    yield path[at:], None


def _unpack(result) -> tuple:
    if not isinstance(result, tuple):
        return result, None, {}
    if len(result) == 1:
        return result[0], None, {}
    if len(result) == 2:
        data, second = result
        return (data, int(second), {}) if isinstance(second, int) else (data, None, second)
    data, status, headers = result
    return data, status, dict(headers or {})


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the already-read body to the next app first."""
    sent = False

    async def replayed():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


class FastLane:
    """Collects each served API's operations while create_app adds them, then installs."""

    def __init__(self, twin) -> None:
        self.twin = twin
        self.apis: list[tuple[str, str, object, object]] = []

    def add(self, api: str, base_path: str, handlers, security_map: dict) -> None:
        if api in SERVED:
            self.apis.append((api, base_path, handlers, security_map))

    def install(self, app) -> None:
        options = self.twin.options
        if options.validate_responses or not options.fast_lane or not self.apis:
            return
        specs = {a.base_path: a.specification for a in app.middleware.apis}
        routes = _Routes(self.apis, specs)
        app.add_middleware(
            FastLaneMiddleware,
            position=MiddlewarePosition.BEFORE_SWAGGER,
            twin=self.twin,
            routes=routes,
        )


class _Routes:
    def __init__(self, apis, specs) -> None:
        # (method, slashes in the path) -> the operations whose paths have that many; a path
        # must match exactly one of them. Under key (method, None): those with a `path`-typed
        # parameter, which may span segments and are tried for every path.
        self.by_shape: dict[tuple[str, int | None], list[_Operation]] = {}
        for api, base_path, handlers, security_map in apis:
            spec = specs[base_path]
            for path, item in spec["paths"].items():
                for method in item:
                    if method not in ("get", "put", "post", "delete", "patch"):
                        continue
                    try:
                        operation = _Operation(
                            api, base_path, spec, path, method, handlers, security_map
                        )
                    except StepAside:
                        continue
                    spans = "path" in operation.path_types.values()
                    shape = None if spans else (base_path + path).count("/")
                    self.by_shape.setdefault((method.upper(), shape), []).append(operation)

    def find(self, method: str, path: str) -> tuple[_Operation, dict] | None:
        found = None
        candidates = self.by_shape.get((method, path.count("/")), [])
        for operation in candidates + self.by_shape.get((method, None), []):
            params = operation.match(path)
            if params is not None:
                if found is not None:
                    return None  # two templates match: Connexion's router decides
                found = (operation, params)
        return found


class FastLaneMiddleware:
    def __init__(self, app: ASGIApp, twin, routes: _Routes) -> None:
        self.app = app
        self.twin = twin
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("root_path"):
            await self.app(scope, receive, send)
            return
        found = self.routes.find(scope["method"], scope["path"])
        if found is None:
            await self.app(scope, receive, send)
            return
        operation, path_params = found
        headers = Headers(scope=scope)
        if "prefer" in headers or self.twin.world().store.count(FAULT_RULES):
            await self.app(scope, receive, send)
            return
        raw, body = None, None
        if operation.body is not None:
            if headers.get("content-type") != "application/json":  # exactly; else Connexion's
                await self.app(scope, receive, send)
                return
            raw = await _read_body(receive)
            receive = _replay(raw, receive)
            try:
                body = json.loads(raw.decode("utf-8")) if raw else None
            except (ValueError, RecursionError):
                await self.app(scope, receive, send)
                return
        try:
            kwargs = await operation.arguments_for(scope, path_params, headers, body)
        except StepAside:
            await self.app(scope, receive, send)
            return
        routing = scope.setdefault("extensions", {}).setdefault("connexion_routing", {})
        routing.update(api_base_path=operation.base_path, operation_id=operation.operation_id)
        response = operation.response(await operation.handler(**kwargs))
        await response(scope, receive, send)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)
