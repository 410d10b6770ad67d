"""The Connexion internals the request pipeline leans on (pipeline/connexion_adapter.py, and the
methods of Connexion's public classes that route_table.py calls) still behave as assumed.

A Connexion upgrade that renames or changes one of them fails here, by name, instead of as a
wrong answer somewhere in the suite.
"""

from __future__ import annotations

import asyncio

import pytest
from connexion.exceptions import BadRequestProblem, UnsupportedMediaTypeProblem
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.middleware.request_validation import RequestValidationOperation
from connexion.operations import OpenAPIOperation
from connexion.resolver import Resolver
from connexion.validators import JSONRequestBodyValidator, ParameterValidator
from starlette.routing import compile_path

from apitwin.pipeline import connexion_adapter as adapter

LIMIT = {"name": "limit", "in": "query", "schema": {"type": "integer", "default": 20}}
KEY = {"name": "key", "in": "query", "schema": {"type": "string"}}
BODY = {"content": {"application/json": {"schema": {"type": "object", "required": ["name"]}}}}
SECURITY = {"key": {"type": "apiKey", "in": "query", "name": "api_key"}}


def _operation(**extra) -> OpenAPIOperation:
    spec = {"operationId": "op", "parameters": [LIMIT, KEY], "responses": {"200": {}}, **extra}
    return OpenAPIOperation(
        "post",
        "/things/{thing_id}",
        spec,
        path_parameters=[
            {"name": "thing_id", "in": "path", "required": True, "schema": {"type": "integer"}}
        ],  # fmt: skip
        app_security=[{"key": []}],
        security_schemes=SECURITY,
        components={"securitySchemes": SECURITY},
        resolver=Resolver(function_resolver=lambda operation_id: _handler),
    )


async def _handler(**kwargs):
    return kwargs


def _scope(query: bytes = b"", headers=()) -> dict:
    return {
        "type": "http",
        "method": "POST",
        "path": "/things/7",
        "query_string": query,
        "headers": list(headers),
        "path_params": {"thing_id": 7},
    }


def test_integer_paths_route_as_connexion_routes_them():
    adapter.register_convertors()
    path = adapter.route_path("/things/{thing_id}", {"thing_id": "integer"})
    assert path == "/things/{thing_id:int}"
    regex, _, convertors = compile_path(path)
    assert regex.match("/things/abc") is None  # a 404, as Connexion answers
    assert convertors["thing_id"].convert(regex.match("/things/-7")["thing_id"]) == -7


def test_uri_parser_types_query_and_path_values():
    parser = adapter.uri_parser(_operation())
    assert parser.resolve_query({"limit": ["5"]}) == {"limit": 5}
    assert parser.resolve_path({"thing_id": "7"}) == {"thing_id": 7}


def test_the_kept_parser_resolves_as_connexions_own():
    op = _operation()
    kept, own = adapter.uri_parser(op), op._uri_parser_class(op.parameters, op.body_definition())
    assert isinstance(kept, op._uri_parser_class)
    assert kept.param_schemas == own.param_schemas  # read twice: the kept one is the same
    assert kept.param_schemas == own.param_schemas
    for query in ({"limit": ["5"]}, {"limit": ["x"], "key": ["a", "b"]}, {"other": ["1"]}, {}):
        assert kept.resolve_query(dict(query)) == own.resolve_query(dict(query))
    assert kept.resolve_path({"thing_id": "7"}) == own.resolve_path({"thing_id": "7"})


def test_a_request_without_a_query_string_has_the_query_connexion_resolves():
    parser = adapter.uri_parser(_operation())
    for query in (b"", b"limit=3&key=a"):
        own = ConnexionRequest(_scope(query), uri_parser=parser)
        assert adapter.request(_scope(query), parser).query_params == own.query_params
    assert ConnexionRequest(_scope(b""), uri_parser=parser).query_params == {}
    # A query string resolved before is handed over again: equal, and the caller's own dict.
    first = adapter.request(_scope(b"limit=4&key=b"), parser).query_params
    first["limit"] = 99
    again = adapter.request(_scope(b"limit=4&key=b"), parser).query_params
    assert again == ConnexionRequest(_scope(b"limit=4&key=b"), uri_parser=parser).query_params
    assert again == {"limit": 4, "key": "b"}


def test_a_requests_context_and_path_parameters_are_connexions_own():
    parser = adapter.uri_parser(_operation())
    for path_params in ({"thing_id": 7}, {}):
        scope, own_scope = {**_scope(), "path_params": path_params}, _scope()
        own_scope["path_params"] = dict(path_params)
        found = adapter.request(scope, parser)
        own = ConnexionRequest(own_scope, uri_parser=parser)
        assert found.path_params == own.path_params
        found.context["user"] = own.context["user"] = "someone"
        assert scope["extensions"] == own_scope["extensions"]


def test_kept_path_parameters_are_the_callers_own():
    parser = adapter.uri_parser(_operation())
    first = parser.resolve_path({"thing_id": "7"})
    first["thing_id"] = 8
    assert parser.resolve_path({"thing_id": "7"}) == {"thing_id": 7}
    assert parser.resolve_path({"thing_id": 7}) == {"thing_id": 7}


def test_query_defaults_and_values_as_handlers_get_them():
    assert adapter.query_defaults({"limit": LIMIT, "key": KEY}) == {"limit": 20}
    assert adapter.value_from_param(5, LIMIT) == 5
    assert adapter.sanitize("thing-id") == "thingid"  # names as Connexion hands them over
    assert adapter.sanitize("per_page") == "per_page"


def test_a_connexion_response_becomes_the_starlette_response_sent():
    response = adapter.framework_response(
        ConnexionResponse(status_code=418, content_type="text/plain", body="tea", headers={})
    )
    assert (response.status_code, response.body, response.media_type) == (418, b"tea", "text/plain")


def test_parameter_validator_checks_each_value_through_validate_parameter():
    seen = []

    class Counting(ParameterValidator):
        def validate_parameter(self, parameter_type, value, param, param_name=None):
            seen.append(param["name"])
            return ParameterValidator.validate_parameter(parameter_type, value, param, param_name)

    op = _operation()
    validator = Counting(op.parameters, adapter.uri_parser(op), strict_validation=True,
                         security_query_params=["api_key"])  # fmt: skip
    parser = adapter.uri_parser(op)
    validator.validate_request(ConnexionRequest(_scope(b"limit=3&api_key=k"), uri_parser=parser))
    assert set(seen) == {"limit", "key", "thing_id"}
    with pytest.raises(BadRequestProblem):  # strict: an unknown query parameter
        validator.validate_request(ConnexionRequest(_scope(b"other=1"), uri_parser=parser))


def test_request_validation_operation_offers_its_media_type_checks():
    media = RequestValidationOperation(None, operation=_operation(requestBody=BODY))
    assert media.security_query_params == ["api_key"]
    header = (b"content-type", b"application/json; charset=latin-1")
    assert media.extract_content_type([header])[0] == "application/json"
    assert media.extract_content_type([]) == ("application/json", "utf-8")  # the guess
    with pytest.raises(UnsupportedMediaTypeProblem):
        media.validate_mime_type("text/plain")


def test_json_body_validator_words_a_refusal_through_wrap_receive():
    validator = JSONRequestBodyValidator(
        schema=BODY["content"]["application/json"]["schema"],
        required=True,
        encoding="utf-8",
        strict_validation=True,
    )

    async def receive():
        return {"type": "http.request", "body": b"{}", "more_body": False}

    scope = _scope(headers=[(b"content-length", b"2")])
    with pytest.raises(BadRequestProblem, match="'name' is a required property"):
        asyncio.run(validator.wrap_receive(receive, scope=scope))


def test_a_shipped_spec_is_built_as_connexion_builds_it_without_the_schema_check():
    from connexion.exceptions import InvalidSpecification
    from connexion.spec import Specification

    from apitwin.apis import ADMIN_SPEC, APIS
    from apitwin.apis.spec_index import load_spec

    for file_name in [ADMIN_SPEC, *(api.spec for api in APIS.values())]:
        built = adapter.specification(load_spec(file_name))
        assert built.spec == Specification.load(load_spec(file_name)).spec, file_name
    # The check it leaves out (tests/test_specs.py runs it on every shipped spec) is the one
    # Connexion runs: a spec it refuses is still built here.
    broken = {"openapi": "3.0.3", "info": {"title": "t"}, "paths": {"/x": {"get": {}}}}
    with pytest.raises(InvalidSpecification):
        Specification.load(broken)
    assert adapter.specification(broken).spec["paths"] == {"/x": {"get": {}}}
    with pytest.raises(ValueError, match="not an OpenAPI 3 spec"):
        adapter.specification({"swagger": "2.0", "info": {}, "paths": {}})
