"""Every private Connexion internal the request pipeline (route_table.py) relies on, in one place.

The pipeline compiles each operation once with Connexion's public parts (OpenAPIOperation, its
validators, SecurityOperation, the problem exceptions); what is left below has no public name.
tests/test_connexion_adapter.py checks each of these still behaves as assumed, so a Connexion
upgrade that changes one fails there, loudly, rather than in some answer.
"""

from __future__ import annotations

import functools

import starlette.convertors
from connexion.decorators.parameter import (
    _get_query_defaults,
    _get_val_from_param,
    sanitized,
)
from connexion.frameworks import starlette as starlette_framework
from connexion.lifecycle import ConnexionRequest
from connexion.spec import OpenAPISpecification
from starlette.requests import Request as StarletteRequest

from apitwin.core.memo import remember

__all__ = [
    "framework_response",
    "query_defaults",
    "register_convertors",
    "request",
    "route_path",
    "sanitize",
    "specification",
    "uri_parser",
    "value_from_param",
]

# Connexion's name mangling (three regular expressions), for the few names a spec has.
sanitize = functools.lru_cache(maxsize=1024)(sanitized)


class _Shipped(OpenAPISpecification):
    """A spec that ships with apitwin: tests/test_specs.py checks each against OpenAPI's schema
    (and through Connexion's own validation), so a start does not again (most of the build)."""

    @classmethod
    def _validate_spec(cls, spec) -> None:
        pass


def specification(spec: dict) -> OpenAPISpecification:
    """Connexion's Specification of a shipped OpenAPI 3 spec, as `Specification.load` builds it
    but without checking it against OpenAPI's schema again."""
    if not str(spec.get("openapi", "")).startswith("3."):
        raise ValueError(f"not an OpenAPI 3 spec: openapi {spec.get('openapi')!r}")
    return _Shipped(_string_keys(spec))


def _string_keys(node):
    # As Connexion's from_dict: YAML reads `200:` as an int, JSON Schema wants strings.
    if isinstance(node, dict):
        return {str(key): _string_keys(value) for key, value in node.items()}
    return node


def register_convertors() -> None:
    """Connexion's `int` and `float` path convertors (its routing registers them when its
    middleware stack is built; routes compiled before that must see them too)."""
    starlette.convertors.register_url_convertor("float", starlette_framework.FloatConverter())
    starlette.convertors.register_url_convertor("int", starlette_framework.IntegerConverter())


def route_path(path: str, types: dict) -> str:
    """An OpenAPI path template as Connexion hands it to Starlette ('{id}' -> '{id:int}')."""
    return starlette_framework.starlettify_path(path, types)


def uri_parser(operation):
    """The URI parser Connexion builds per request for an operation (query/path resolution),
    built once: its `param_schemas` (a dict it rebuilds on every read, read for every path and
    query value) is kept after the first read, and so are the path parameters it resolved."""
    parser_class = _kept(operation._uri_parser_class)
    return parser_class(operation.parameters, operation.body_definition())


_SCALARS = (str, int, float, bool, type(None))
_PATHS_KEPT = 4096  # resolved path parameters a parser keeps (then it starts afresh)
_QUERIES_KEPT = 1024  # resolved query strings a parser keeps (then it starts afresh)


@functools.cache
def _kept(parser_class: type) -> type:
    # The parser's parameter definitions are set in its __init__ and never change after, and
    # resolve_path is a function of them and of the values: the same values resolve the same.
    def resolve_path(self, path_data):
        key = tuple((name, type(value), value) for name, value in path_data.items())
        kept = self.__dict__.setdefault("_kept_paths", {})
        found = kept.get(key)
        if found is None:
            found = parser_class.resolve_path(self, path_data)
            if all(isinstance(value, _SCALARS) for value in found.values()):
                text = sum(len(value) for value in path_data.values() if isinstance(value, str))
                remember(kept, key, found, _PATHS_KEPT, text)
            else:
                return found
        return dict(found)  # the caller's own dict

    namespace = {
        "param_schemas": functools.cached_property(parser_class.param_schemas.fget),
        "resolve_path": resolve_path,
    }
    return type(parser_class.__name__, (parser_class,), namespace)


def request(scope, parser) -> ConnexionRequest:
    """ConnexionRequest(scope, uri_parser=parser), which parses the query string on the first read
    of its query_params; with no query string there is nothing to parse: they are {} (what
    Connexion resolves an empty query to)."""
    # from_starlette_request: the same object, without __init__'s hasattr through __getattr__.
    found = ConnexionRequest.from_starlette_request(StarletteRequest(scope), uri_parser=parser)
    # What its `context` and `path_params` would work out on first read, without the lookups
    # through __getattr__ and the parser (which resolves no path parameters to {}).
    found._context = scope.setdefault("extensions", {}).setdefault("connexion_context", {})
    if not scope.get("path_params"):
        found._path_params = {}
    query = scope["query_string"]
    if not query:
        found._query_params = {}
        return found
    # The query Connexion resolves is a function of the query string (and the parser's
    # definitions): one resolved before is handed over again, as a fresh dict.
    kept = parser.__dict__.setdefault("_kept_queries", {})
    resolved = kept.get(query)
    if resolved is not None:
        found._query_params = dict(resolved)
        return found
    resolved = found.query_params
    if all(isinstance(value, _SCALARS) for value in resolved.values()):
        remember(kept, query, dict(resolved), _QUERIES_KEPT, len(query))
    return found


def query_defaults(definitions: dict) -> dict:
    """The documented defaults of an operation's query parameters, as Connexion fills them in."""
    return _get_query_defaults(definitions)


def value_from_param(value, definition: dict):
    """A parameter's value typed as Connexion hands it to a handler."""
    return _get_val_from_param(value, definition)


def framework_response(response):
    """A ConnexionResponse (what problem_response builds) as the Starlette response Connexion
    would send."""
    return starlette_framework.Starlette.connexion_to_framework_response(response)
