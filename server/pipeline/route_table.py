"""The one request path: every operation of the served APIs and the admin API, compiled once.

At start-up each operation is compiled with Connexion's own parts: its OpenAPIOperation (the
parameters, body schema and media types of the spec), its URI parser, SecurityOperation's check,
ParameterValidator and the JSON body validator (with each jsonschema validator built once), the
bound handler and the response rules of Connexion's response decorator. Every request to an API
path then takes the same layers, valid or not, so a refusal carries Connexion's own message:

    route -> fault rules -> security and validation -> [response validation] -> Prefer -> handler

app.py lists those layers. Routing follows Connexion's (Starlette's router over one mount per
API, in the same order): a request that matches a route is found through a table by method;
any other (a method the path does not allow, a slash added or dropped, no route at all) is left to
Starlette's router over the same routes, which answers it exactly as Connexion's routing did.
What a layer needs to know about a request (its API, operation, arguments) is the one `Resolved`
object the router puts in the scope's extensions.

Compiled without handlers, an operation only checks requests, with the same validation and no
credentials: `apitwin proxy` checks its clients' requests so (CompiledOperation.refusal).
"""

from __future__ import annotations

import contextvars
import copy
import dataclasses
import inspect
import json
import re

import orjson
from connexion import NoContent
from connexion.exceptions import (
    BadRequestProblem,
    NonConformingResponseHeaders,
    ProblemException,
)
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.middleware.request_validation import RequestValidationOperation
from connexion.middleware.response_validation import ResponseValidationOperation
from connexion.middleware.security import SecurityOperation
from connexion.operations import OpenAPIOperation
from connexion.resolver import Resolver
from connexion.security import SecurityHandlerFactory
from connexion.spec import Specification
from connexion.utils import (
    deep_merge,
    inspect_function_arguments,
    is_json_mimetype,
    is_null,
    is_nullable,
    split_content_type,
)
from connexion.validators import VALIDATOR_MAP, JSONRequestBodyValidator, ParameterValidator
from jsonschema import Draft4Validator
from python_multipart.multipart import parse_options_header  # ConnexionRequest.mimetype's
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.routing import Mount, Route, Router
from starlette.types import ASGIApp, Receive, Scope, Send

from apitwin.apis.spec_index import operation_index
from apitwin.core.memo import remember
from apitwin.pipeline import connexion_adapter as adapter
from apitwin.pipeline import security
from apitwin.pipeline.http import header, lowercase_media_type
from apitwin.pipeline.jsonbody import dumps_bytes
from apitwin.pipeline.rust_check import plainly_valid, response_validators

RESOLVED = "apitwin.resolved"  # scope["extensions"] key of a request's Resolved
ADMIN = "_twin"  # the admin API's name in spec_index
_FORMATS = Draft4Validator.FORMAT_CHECKER
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_REMEMBERED = 512  # verdicts a parameter keeps, per distinct value
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
# The app's words for two bodies Connexion's validator cannot read (app.py's error handlers).
UNDECODABLE = "Request body is not valid UTF-8"
TOO_DEEP = "Request body nests too deeply"
# The scope a request arrived with, for routes reached through Starlette's router (which hands
# them a scope with the mount's root_path); Connexion's routing keeps it the same way.
_ARRIVED: contextvars.ContextVar[tuple] = contextvars.ContextVar("apitwin_arrived")


@dataclasses.dataclass
class Resolved:
    """What the pipeline has found out about one request."""

    operation: CompiledOperation
    kwargs: dict | None = None  # the handler's arguments, once security and validation passed


@dataclasses.dataclass(frozen=True)
class Refusal:
    """Why the twin's validation refuses a request: the status and message it answers with."""

    status: int  # 400, or 415 for a media type the operation does not take
    detail: str  # Connexion's message
    part: str  # what it is about: "query parameter 'page'", "the query string", "the body"...


def resolved(scope: Scope) -> Resolved | None:
    return scope.get("extensions", {}).get(RESOLVED)


class _Parameters(ParameterValidator):
    """Connexion's ParameterValidator (strict: an unknown query parameter is a 400) with each
    parameter's jsonschema validator built once; a value it refuses gets Connexion's message."""

    def __init__(self, parameters, uri_parser, security_query_params) -> None:
        super().__init__(
            parameters,
            uri_parser=uri_parser,
            strict_validation=True,
            security_query_params=security_query_params,
        )
        # Verdicts on values seen: the same schema says the same of the same value.
        # With what validate_parameter asks of the definition first: required, nullable.
        self._checks = {
            id(p): (
                Draft4Validator(p.get("schema", p), format_checker=_FORMATS),
                {},
                bool(p.get("required")),
                bool(is_nullable(p)),
            )
            for p in parameters
        }

        # What validate_request works out per request, worked out once.
        self._query = self.parameters.get("query", [])
        self._known_query = {p["name"] for p in self._query} | self.security_query_params
        self._path = [(p, p["name"].replace("-", "_")) for p in self.parameters.get("path", [])]
        self._header = self.parameters.get("header", [])
        self._cookie = self.parameters.get("cookie", [])

    def validate_request(self, request):
        """Connexion's validate_request, the same checks of the same values in the same order;
        on the first refusal Connexion's own runs, to raise its problem for it."""
        if self.refused(request) is not None:
            super().validate_request(request)

    def refused(self, request) -> tuple[str, str | None] | None:
        """The first parameter Connexion's validate_request refuses, as (where, name): ("query",
        None) for a query parameter the operation does not have; None if it refuses none."""
        query = request.query_params
        if not query.keys() <= self._known_query:
            return "query", None
        check = self.validate_parameter
        for p in self._query:
            if check("query", query.get(p["name"]), p):
                return "query", p["name"]
        if self._path:
            path = request.path_params
            for p, key in self._path:
                if check("path", path.get(key), p):
                    return "path", p["name"]
        if self._header:
            headers = request.headers
            for p in self._header:
                if check("header", headers.get(p["name"]), p):
                    return "header", p["name"]
        if self._cookie:
            cookies = request.cookies
            for p in self._cookie:
                if check("cookie", cookies.get(p["name"]), p):
                    return "cookie", p["name"]
        return None

    def validate_parameter(self, parameter_type, value, param, param_name=None):
        validator, verdicts, required, nullable = self._checks[id(param)]
        if value is None and not required:
            return None  # Connexion's answer for a value not sent, whatever the schema
        if value is not None and not (nullable and is_null(value)):
            if not isinstance(value, str | int | float):  # arrays: not remembered
                valid = validator.is_valid(value)
            else:
                key = (type(value), value)
                valid = verdicts.get(key)
                if valid is None:
                    valid = validator.is_valid(value)
                    if len(verdicts) < _REMEMBERED:
                        verdicts[key] = valid
            if valid:
                return None
        return ParameterValidator.validate_parameter(parameter_type, value, param, param_name)


class CompiledOperation:
    """One operation, with everything Connexion would build per request built once."""

    def __init__(self, api: str, base_path: str, spec: Specification, path, method, handlers,
                 security_map) -> None:  # fmt: skip
        self.api = api
        self.base_path = base_path
        self.path = path
        resolver = Resolver(function_resolver=lambda operation_id: _handler(handlers, operation_id))
        # Private copies: Connexion's operation appends path-level parameters to the list it gets.
        op = OpenAPIOperation(
            method,
            path,
            copy.deepcopy(spec.get_operation(path, method)),
            resolver=resolver,
            path_parameters=copy.deepcopy(spec.get_path_params(path)),
            app_security=spec.security,
            security_schemes=spec.security_schemes,
            components=spec.components,
        )
        self.operation = op
        self.operation_id = op.operation_id
        self.index = operation_index(api).get(op.operation_id)  # spec_index's, for Prefer/faults
        self.handler = op.function
        self.is_async = inspect.iscoroutinefunction(self.handler)
        self.arguments, self.has_kwargs = inspect_function_arguments(self.handler)
        self.uri_parser = adapter.uri_parser(op)
        # Security, media type and parameter checks: Connexion's, prepared once (security not
        # for an operation that only checks requests: their credentials are not the twin's).
        self.verify = self.verified = None
        if handlers is not None:
            factory = SecurityHandlerFactory(security_map or {})
            self.verify = SecurityOperation.from_operation(
                op, next_app=None, security_handler_factory=factory
            ).verification_fn
            self.verified = security.shortcut(
                op.security, op.security_schemes, factory.security_handlers
            )
        self.media = RequestValidationOperation(None, operation=op, strict_validation=True)
        self.parameters = _Parameters(
            op.parameters, self.uri_parser, self.media.security_query_params
        )
        if any(c.split(";")[0].strip().lower() in _FORMS for c in op.consumes):
            raise RuntimeError(f"{self.operation_id}: form bodies are not supported")
        # Body validators by request media type (a media type Connexion has none for: None).
        self._bodies: dict[str, tuple | None] = {}
        # Worked out once per value a request sends (a few values; at most _KEPT_VALUES kept).
        self._media_types: dict[bytes, tuple[str, str, bool]] = {}
        self._nullables: dict[str, bool] = {}
        self._body_shapes: dict[str, tuple[bool, dict]] = {}
        self._json_answers: dict[str, bool] = {}
        self._heads: dict[tuple, tuple] = {}  # a handler's headers, as sent (_head)
        self._typed_values: dict[tuple, object] = {}
        self.body_name = None
        if op.is_request_body_defined and (self.arguments or self.has_kwargs):
            name = adapter.sanitize(op.body_name(None))
            self.body_name = name if self.has_kwargs or name in self.arguments else None
        # What connexion.decorators.parameter.get_arguments works out per request.
        self.path_definitions = {d["name"]: d for d in op.parameters if d["in"] == "path"}
        self.query_definitions = {d["name"]: d for d in op.parameters if d["in"] == "query"}
        self.query_defaults = adapter.query_defaults(self.query_definitions)
        self.mutable_defaults = any(
            isinstance(v, dict | list) for v in self.query_defaults.values()
        )
        # Director's handlers check its optional basic credential themselves.
        self.wants_authorization = "authorization" in self.arguments and not any(
            d["name"].lower() == "authorization" for d in op.parameters
        )
        self.guessed_media_type = op.consumes[0] if op.consumes else "application/octet-stream"
        self.produces = list(set(op.produces))
        self.response_check = None  # ResponseValidationOperation, with --validate-responses

    def route(self) -> Route:
        types = self.operation.get_path_parameter_types()
        if "path" in types.values():
            raise RuntimeError(f"{self.operation_id}: path-typed parameters are not supported")
        return Route(
            adapter.route_path(self.path, types), _Entry(self), methods=[self.operation.method]
        )

    # --- security and validation --------------------------------------------------------------

    def _body_validator(self, mime_type: str):
        """(validator class, schema) for a request media type, or None: what Connexion's
        request validation picks."""
        if mime_type not in self._bodies:
            schema = self.operation.body_schema(mime_type)
            found = None
            if schema and mime_type in VALIDATOR_MAP["body"]:
                found = (VALIDATOR_MAP["body"][mime_type], schema)
            if found and found[0] is JSONRequestBodyValidator:
                found = (*found, plainly_valid(schema))
            self._bodies[mime_type] = found
        return self._bodies[mime_type]

    async def arguments_for(self, scope: Scope, receive: Receive) -> dict:
        """The handler's keyword arguments; raises Connexion's problem for a request it refuses,
        in Connexion's order: credentials (none for an operation compiled without handlers),
        parameters, media type, body. The one request validation: `refusal` runs it too."""
        request = adapter.request(scope, self.uri_parser)
        if self.verify is not None and not (
            self.verified is not None and self.verified(scope, request.context)
        ):
            await self.verify(request)
        self.parameters.validate_request(request)
        content_type = header(scope, b"content-type")
        if content_type is not None:
            mime_type, encoding, accepted = self._media(content_type)
            if not accepted:
                self.media.validate_mime_type(mime_type)  # raises Connexion's problem
        else:  # what Connexion guesses (and accepts) for a request without one
            mime_type, encoding = self.guessed_media_type, "utf-8"
        raw, parsed = None, _UNPARSED
        check = self._body_validator(mime_type)
        if check is not None:
            raw = await _read_body(receive)
            parsed = _fast_body(check, raw, encoding, scope, self._nullable(mime_type))
            if parsed is _UNPARSED:  # not shown valid: Connexion's validator has the last word
                raw = await self._validate_body(check, raw, encoding, mime_type, scope, receive)
        body = None
        if self.body_name is not None:
            if raw is None:
                raw = await _read_body(receive)
            parsed = parsed if encoding == "utf-8" else _UNPARSED
            body = self._body_argument(mime_type, raw, parsed)
        return self._arguments(request, body, scope)

    def refusal(self, scope: Scope, body: bytes) -> Refusal | None:
        """What the twin's validation refuses in a request that is not the twin's (`apitwin
        proxy` checks a client's requests with it): `arguments_for`, the checks every request
        to the twin takes, run on an operation compiled without handlers, so without the
        credentials (they are the upstream's) and no handler called. `scope` is an ASGI HTTP
        scope whose path_params are the path's values (as strings, or as the route's convertors
        give them); `body` is the whole body.

        Runs to its end at once, from any thread: the body is at hand, so nothing it awaits
        ever waits."""
        if self.verify is not None:
            raise RuntimeError(f"{self.operation_id} was compiled with handlers (and credentials)")
        scope = {**scope, "headers": lowercase_media_type(scope["headers"])}  # as the twin's
        checked = self.arguments_for(scope, _replay(body, _disconnected))
        try:
            checked.send(None)
        except StopIteration:
            return None
        except ProblemException as problem:
            part = self._part(adapter.request(scope, self.uri_parser), problem)
            return Refusal(problem.status, problem.detail or problem.title, part)
        except UnicodeDecodeError:
            return Refusal(400, UNDECODABLE, "the body")
        except RecursionError:
            return Refusal(400, TOO_DEEP, "the body")
        checked.close()
        raise RuntimeError(f"{self.operation_id}: request validation waited for more input")

    def _part(self, request: ConnexionRequest, problem: ProblemException) -> str:
        """Which part of a request a refusal is about, as a reader would name it."""
        refused = self.parameters.refused(request)  # parameters are checked first
        if refused is not None:
            where, name = refused
            if name is None:
                return "the query string"
            return f"{where} parameter {name!r}" if where != "header" else f"header {name!r}"
        return "the Content-Type header" if problem.status == 415 else "the body"

    def _media(self, value: bytes) -> tuple[str, str, bool]:
        """Connexion's mime type, encoding and verdict (validate_mime_type) for a Content-Type
        value (ASGI header names are lower case: it is the header Connexion reads)."""
        found = self._media_types.get(value)
        if found is None:
            mime_type, encoding = self.media.extract_content_type([(b"content-type", value)])
            try:
                self.media.validate_mime_type(mime_type)
                accepted = True
            except Exception:  # noqa: BLE001 - raised again, by Connexion, for the request
                accepted = False
            found = (mime_type, encoding, accepted)
            _keep(self._media_types, value, found)
        return found

    def _nullable(self, mime_type: str) -> bool:
        found = self._nullables.get(mime_type)
        if found is None:
            found = bool(is_nullable(self.operation.body_definition(mime_type)))
            _keep(self._nullables, mime_type, found)
        return found

    def _body_shape(self, content_type: str) -> tuple[bool, dict]:
        """Whether a request's Content-Type is JSON (ConnexionRequest.get_body) and the body schema
        for its mime type."""
        found = self._body_shapes.get(content_type)
        if found is None:
            mime_type = parse_options_header(content_type)[0].decode()
            found = (is_json_mimetype(content_type), self.operation.body_schema(mime_type))
            _keep(self._body_shapes, content_type, found)
        return found

    async def _validate_body(self, check, raw, encoding, mime_type, scope, receive) -> bytes:
        validator_class, schema = check[0], check[1]
        validator = validator_class(
            schema=schema,
            required=self.operation.request_body.get("required", False),
            nullable=self._nullable(mime_type),
            encoding=encoding,
            strict_validation=True,
            uri_parser=self.uri_parser,
        )
        try:
            receive, _ = await validator.wrap_receive(_replay(raw, receive), scope=scope)
        except UnicodeDecodeError:
            raise  # the app's handler words it
        except ValueError as exc:  # json.loads past Python's integer digits limit (not a
            # JSONDecodeError, which Connexion's validator words itself)
            raise BadRequestProblem(detail=f"Request body is not valid JSON: {exc}") from None
        return await _read_body(receive)  # what it lets through (a default body, if any)

    def _body_argument(self, mime_type: str, raw: bytes, parsed):
        """ConnexionRequest.get_body and _get_body_argument_json: JSON for a JSON media type
        (None if it does not parse), the bytes otherwise; the schema's default for no body.
        The media type is the one validation used: without a Content-Type, the operation's
        (Connexion handed such a body to the handler as bytes, which no handler reads)."""
        is_json, schema = self._body_shape(mime_type)
        if is_json:
            if parsed is _UNPARSED:
                try:
                    parsed = json.loads(raw)
                except ValueError:
                    parsed = None
            body = parsed
        else:
            body = raw or None
        if is_nullable(schema) and is_null(body):
            return None
        if body is None:
            return copy.deepcopy(schema.get("default", {}))
        return body

    def _typed(self, name: str, value, definition: dict):
        """adapter.value_from_param, kept per scalar value (the same value types the same)."""
        if not isinstance(value, _SCALARS):
            return adapter.value_from_param(value, definition)
        key = (name, type(value), value)
        found = self._typed_values.get(key, _UNPARSED)
        if found is _UNPARSED:
            found = adapter.value_from_param(value, definition)
            if isinstance(found, _SCALARS):
                text = len(value) if isinstance(value, str) else 0
                remember(self._typed_values, key, found, _TYPED_KEPT, text)
        return found

    def _wants(self, name: str) -> bool:
        return self.has_kwargs or name in self.arguments

    def _arguments(self, request: ConnexionRequest, body, scope: Scope) -> dict:
        """connexion.decorators.parameter.get_arguments and prep_kwargs, with what they work
        out from the spec on every request worked out once."""
        kwargs = {}
        for name, value in request.path_params.items():
            definition = self.path_definitions.get(name)
            kwargs[adapter.sanitize(name)] = (
                value if definition is None else self._typed(name, value, definition)
            )
        if self.query_definitions:  # else no query value becomes an argument
            query = request.query_params
            merged = (
                copy.deepcopy(self.query_defaults)
                if self.mutable_defaults
                else {**self.query_defaults}
            )
            for name, value in deep_merge(merged, query).items():
                key = adapter.sanitize(name)
                if self._wants(key) and name in self.query_definitions:
                    kwargs[key] = self._typed(name, value, self.query_definitions[name])
        if self.body_name is not None:
            kwargs[self.body_name] = body
        for key, value in request.context.items():  # user, token_info from security
            if self._wants(key):
                kwargs[key] = value
        if self.wants_authorization:  # request.headers.get, without building Headers
            kwargs["authorization"] = security.header(scope, b"authorization")
        return kwargs

    # --- the answer --------------------------------------------------------------------------

    async def call(self, kwargs: dict):
        if self.is_async:
            return await self.handler(**kwargs)
        return await run_in_threadpool(self.handler, **kwargs)  # as Connexion runs sync handlers

    def response(self, result) -> ASGIApp:
        """Connexion's response decorator (build_framework_response) for what a handler returns."""
        if isinstance(result, Response):
            return result
        if isinstance(result, ConnexionResponse):
            return adapter.framework_response(result)
        data, status, headers = _unpack(result)
        named, raw, has_type, has_length = self._head(headers)
        content_type = self._content_type(data, named)
        if data is NoContent:
            data = None
        elif data is not None and self._json_answer(content_type):
            data = dumps_bytes(data)
        status = status or (204 if data is None else 200)
        if data is not None and not isinstance(data, bytes | str):  # Starlette's to render
            if content_type and not has_type:
                headers = {**headers, "Content-Type": content_type}
            return Response(data, status_code=status, headers=headers, media_type=content_type)
        if content_type and not has_type:
            raw = (*raw, (b"content-type", content_type.encode("latin-1")))
        return _Answer(status, raw, has_length, data)

    def _head(self, headers: dict) -> tuple[str | None, tuple, bool, bool]:
        """A handler's headers as Starlette's Response sends them, the Content-Type they name,
        and whether they have one and a Content-Length: worked out once per set of headers (an
        operation's handler sends one or two)."""
        try:
            key = tuple(headers.items())
            found = self._heads.get(key)
        except TypeError:  # a value that cannot be a key: worked out for this answer alone
            key = found = None
        if found is None:
            names = [k.lower() for k in headers]
            raw = tuple(
                (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()
            )
            named = next((v for k, v in headers.items() if k.lower() == "content-type"), None)
            found = (named, raw, "content-type" in names, "content-length" in names)
            if key is not None:
                _keep(self._heads, key, found)
        return found

    def _json_answer(self, content_type: str | None) -> bool:
        found = self._json_answers.get(content_type)
        if found is None:
            found = bool(is_json_mimetype(split_content_type(content_type)[0]))
            _keep(self._json_answers, content_type, found)
        return found

    def _content_type(self, data, named: str | None) -> str | None:
        # connexion.utils.extract_content_type, which builds a typing alias on every call;
        # `named` is the handler's Content-Type header.
        content_type = named
        produces = self.produces or (["application/json"] if data is not None else [])
        if content_type:
            if content_type not in produces:
                raise NonConformingResponseHeaders(
                    f"Returned content type ({content_type}) is not defined in operation spec "
                    f"({self.operation.produces})."
                )
            return content_type
        if len(produces) <= 1:
            return produces[0] if produces else None
        wanted = "text/plain" if isinstance(data, str) else None
        wanted = "application/octet-stream" if isinstance(data, bytes) else wanted
        for produced in produces:
            if wanted and wanted in produced:
                return produced
        raise NonConformingResponseHeaders(
            "Multiple response content types are defined in the operation spec, but the "
            "handler response did not specify which one to return."
        )


class _Answer:
    """The two messages Starlette's Response sends for a handler's answer (None, bytes or text)
    with the Content-Type among its headers, without building the Response: `raw` is the
    headers Starlette encodes; it adds the Content-Length where the headers have none."""

    __slots__ = ("status", "raw_headers", "body")

    def __init__(self, status: int, raw: tuple, has_length: bool, data) -> None:
        body = b"" if data is None else data.encode() if isinstance(data, str) else data
        headers = list(raw)  # the answer's own: outer layers add to it (CORS, sessions)
        if not has_length and not (status < 200 or status in (204, 304)):
            headers.append((b"content-length", str(len(body)).encode("latin-1")))
        self.status, self.raw_headers, self.body = status, headers, body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self.status, "headers": self.raw_headers}
        )
        await send({"type": "http.response.body", "body": self.body})


_UNPARSED = object()
_KEPT_VALUES = 64
_FOUND_KEPT = 4096  # request paths RouteLayer keeps the operation of (then it starts afresh)
_TYPED_KEPT = 4096  # typed parameter values an operation keeps (then it starts afresh)
_SCALARS = (str, int, float, bool, type(None))
_LONG_DIGITS = re.compile(rb"\d{19}")  # an integer that may not fit 64 bits (orjson: a float)


def _keep(table: dict, key, value) -> None:
    if len(table) < _KEPT_VALUES:
        table[key] = value


def _fast_body(check, raw: bytes, encoding: str, scope: Scope, nullable: bool):
    """The parsed body if it is plainly valid JSON for the schema, else _UNPARSED (then
    Connexion's validator decides, and words the refusal)."""
    if len(check) < 3 or not raw or not _has_length(scope):
        return _UNPARSED
    try:
        # orjson reads what it reads as json.loads does: it refuses NaN, lone surrogates and
        # numbers past a double, which json.loads takes (then json.loads decides). An integer
        # past 64 bits it reads as a float, json.loads as an int: a body with a run of 19 digits
        # or more (also inside a string, harmlessly) is read by json.loads.
        plain = encoding == "utf-8" and _LONG_DIGITS.search(raw) is None
        body = orjson.loads(raw) if plain else _UNPARSED
    except orjson.JSONDecodeError:
        body = _UNPARSED
    try:
        body = json.loads(raw.decode(encoding)) if body is _UNPARSED else body
    except (ValueError, RecursionError, LookupError):
        return _UNPARSED
    if body is None:
        return None if nullable else _UNPARSED
    return body if check[2].is_valid(body) else _UNPARSED


def _has_length(scope: Scope) -> bool:
    # Connexion reads a body only when Content-Length says there is one.
    length = header(scope, b"content-length")
    return length is not None and length.strip() not in (b"", b"0")


def _handler(handlers, operation_id: str):
    if handlers is None:  # an operation compiled to check requests only (`refusal`)
        return _no_handler
    try:
        return getattr(handlers, operation_id)
    except AttributeError:
        raise RuntimeError(
            f"{type(handlers).__module__} has no handler for operationId {operation_id!r}"
        ) from None


def _no_handler(**kwargs):
    raise RuntimeError("this operation was compiled to check requests, with no handler")


async def _disconnected() -> dict:
    return {"type": "http.disconnect"}


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
    """A receive that hands the already-read body on first."""
    sent = False

    async def replayed():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


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


# --- the route table -------------------------------------------------------------------------


class RouteTable:
    """Every compiled operation, by mount (one per API, admin first) and method."""

    def __init__(self) -> None:
        adapter.register_convertors()
        self.operations: list[CompiledOperation] = []
        # (base path, mount pattern, {(method, slashes): [(route, operation)]}) in mount order.
        self._mounts: list[tuple[str, object, dict]] = []
        self._starlette_mounts: list[Mount] = []

    def add_api(self, api: str, base_path: str, spec: dict, handlers, security_map=None) -> None:
        """Compiles every operation of one API. With `handlers` None the operations only check
        requests (CompiledOperation.refusal, for `apitwin proxy`) and are never called."""
        specification = adapter.specification(spec)
        routes, by_method = [], {}
        for path, item in specification["paths"].items():
            for method in item:
                if method not in _METHODS:
                    continue
                operation = CompiledOperation(
                    api, base_path, specification, path, method, handlers, security_map
                )
                self.operations.append(operation)
                route = operation.route()
                routes.append(route)
                # A template's segments cannot span a "/" (no parameter here is `path`-typed, which
                # `route` refuses), so a path is only tried on templates with as many slashes.
                slashes = path.count("/")
                for allowed in route.methods:  # GET routes take HEAD too, as in Starlette
                    by_method.setdefault((allowed, slashes), []).append((route, operation))
        # No route in this API: on past the pipeline (Connexion's routing did the same).
        # No redirect for a slash added or dropped: the real routers (gorilla/mux, Flask) answer
        # 404 there, and a client that works against the twin must work against them (G7).
        router = Router(routes=routes, default=_Miss(), redirect_slashes=False)
        mount = Mount(base_path, app=router)
        self._starlette_mounts.append(mount)
        self._mounts.append((base_path, mount.path_regex, by_method))

    def router(self) -> Router:
        """Starlette's router over the same routes, for the requests `find` does not place."""
        return Router(routes=list(self._starlette_mounts), default=_Miss(), redirect_slashes=False)

    def find(self, method: str, path: str) -> tuple[CompiledOperation, dict] | None:
        """The operation a request goes to and its path parameters, if a route takes it."""
        for base_path, mount_regex, by_method in self._mounts:
            if not mount_regex.match(path):
                continue
            inner = path[len(base_path) :]
            for route, operation in by_method.get((method, inner.count("/")), ()):
                found = route.path_regex.match(inner)
                if found is not None:
                    params = found.groupdict()
                    for key, value in params.items():
                        params[key] = route.param_convertors[key].convert(value)
                    return operation, params
            return None  # the first mount that takes the path decides, as in Starlette
        return None


# --- the layers ------------------------------------------------------------------------------


class _Entry:
    """A Starlette route's endpoint: the request, found by Starlette's router, enters the pipeline
    with the scope it arrived with."""

    def __init__(self, operation: CompiledOperation) -> None:
        self.operation = operation

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        arrived, layer = _ARRIVED.get()
        await layer.enter(self.operation, scope.get("path_params", {}), arrived, receive, send)


class _Miss:
    """No operation: on to the rest of the app (docs, landing page, Connexion's 404)."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        arrived, layer = _ARRIVED.get()
        await layer.app(arrived, receive, send)


class RouteLayer:
    """Finds each request's operation and sends it down the pipeline's inner layers."""

    def __init__(self, app: ASGIApp, table: RouteTable, inner: ASGIApp) -> None:
        self.app = app  # what follows the pipeline: requests with no operation
        self.table = table
        self.inner = inner
        self.router = table.router()
        # find's answers by (method, path): a pure function of both, and clients ask the same
        # paths again and again (a few regular expressions and convertors each time otherwise).
        self._found: dict[tuple[str, str], tuple | None] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        found = None if scope.get("root_path") else self._find(scope["method"], scope["path"])
        if found is not None:
            operation, params = found
            await self.enter(operation, params, scope, receive, send)  # copied into the scope
            return
        # 405, a slash to add or drop, no route: Starlette's router, as Connexion's routing.
        # Starlette's router rewrites the scope it is given (root_path...): it gets a copy.
        token = _ARRIVED.set((scope, self))
        try:
            await self.router(dict(scope), receive, send)
        finally:
            _ARRIVED.reset(token)

    def _find(self, method: str, path: str) -> tuple | None:
        key = (method, path)
        found = self._found.get(key, _UNPARSED)
        if found is _UNPARSED:
            found = self.table.find(method, path)
            remember(self._found, key, found, _FOUND_KEPT, len(path))
        return found

    async def enter(self, operation, path_params, scope, receive, send) -> None:
        scope.setdefault("path_params", {}).update(path_params)
        scope.setdefault("extensions", {})[RESOLVED] = Resolved(operation)
        await self.inner(scope, receive, send)


class GuardLayer:
    """Security, then parameter, media type and body validation: the handler's arguments."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = scope["extensions"][RESOLVED]  # RouteLayer put it there
        found.kwargs = await found.operation.arguments_for(scope, receive)
        await self.app(scope, receive, send)


class ResponseCheckLayer:
    """--validate-responses: Connexion's response validation of every answer sent from inside
    (the handler's and Prefer's), against the operation's documented responses."""

    def __init__(self, app: ASGIApp, table: RouteTable) -> None:
        self.app = app
        validators = response_validators()
        for operation in table.operations:
            operation.response_check = ResponseValidationOperation(
                app, operation=operation.operation, validator_map=validators
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await resolved(scope).operation.response_check(scope, receive, send)


class HandlerLayer:
    """Innermost: calls the handler with the checked arguments and sends its answer."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = scope["extensions"][RESOLVED]
        operation = found.operation
        if operation.is_async:  # operation.call, one coroutine less
            result = await operation.handler(**found.kwargs)
        else:
            result = await operation.call(found.kwargs)
        await operation.response(result)(scope, receive, send)
