"""Finds every example in an OpenAPI 3.0 spec and makes deliberately wrong variants of it.

The spec tests use this to prove two things about each example: it validates against its schema
with formats enforced, and its schema is strict enough to reject a copy with a required field
removed or a leaf of the wrong type. The variant generator is conservative: it only produces a
variant the schema must reject (see `allowed_types` and `surely_required`), so a variant that
validates is a real weakness of the schema, never a false alarm.
"""

from __future__ import annotations

import binascii
import copy
import math
from base64 import b64decode
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
from openapi_schema_validator import OAS30ReadValidator, OAS30Validator, OAS30WriteValidator

REPO_ROOT = Path(__file__).resolve().parents[1]
SPEC_DIR = REPO_ROOT / "specs"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")

# Which way an example travels decides how readOnly/writeOnly properties are treated, exactly
# as openapi-schema-validator's read and write validators do.
REQUEST, RESPONSE, PLAIN = "request", "response", "plain"
VALIDATOR_BY_DIRECTION = {
    REQUEST: OAS30WriteValidator,
    RESPONSE: OAS30ReadValidator,
    PLAIN: OAS30Validator,
}

JsonPath = tuple[str | int, ...]


def spec_paths() -> list[Path]:
    return sorted(SPEC_DIR.glob("*.yaml"))


# --- formats -----------------------------------------------------------------------------------


def _is_int32(value: object) -> bool:
    return not _is_plain_int(value) or -(2**31) <= value < 2**31


def _is_int64(value: object) -> bool:
    return not _is_plain_int(value) or -(2**63) <= value < 2**63


def _is_plain_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_finite_number(value: object) -> bool:
    return not isinstance(value, float) or math.isfinite(value)


def _is_base64(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        b64decode(value.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return False
    return True


def _is_absolute_uri(value: object) -> bool:
    # jsonschema checks "uri" only with an optional package; a scheme and something after it
    # is what every URI in these specs must have.
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)
    return bool(parts.scheme) and bool(parts.netloc or parts.path) and " " not in value


def make_format_checker() -> jsonschema.FormatChecker:
    """jsonschema's checkers (date-time, date, uuid, email, ...) plus the OpenAPI 3.0 formats."""
    checker = jsonschema.FormatChecker()
    checker.checks("int32")(_is_int32)
    checker.checks("int64")(_is_int64)
    checker.checks("float")(_is_finite_number)
    checker.checks("double")(_is_finite_number)
    checker.checks("byte")(_is_base64)
    checker.checks("uri")(_is_absolute_uri)
    return checker


FORMAT_CHECKER = make_format_checker()
# Formats that only annotate (OpenAPI 3.0 says so); every other format must be checked.
ANNOTATION_ONLY_FORMATS = frozenset({"password", "binary"})


def unchecked_formats(spec: dict[str, Any]) -> set[str]:
    """Formats the spec uses that FORMAT_CHECKER would silently let through."""
    used = {schema["format"] for schema, _ in iter_schema_nodes(spec) if "format" in schema}
    return {
        name
        for name in used
        if isinstance(name, str)
        and name not in FORMAT_CHECKER.checkers
        and name not in ANNOTATION_ONLY_FORMATS
    }


# --- references and schema nodes ---------------------------------------------------------------


def resolve(node: Any, spec: dict[str, Any]) -> Any:
    """Follows local `$ref`s (possibly chained) to the object they name."""
    seen: set[str] = set()
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/") or ref in seen:
            raise ValueError(f"cannot resolve $ref {ref!r}")
        seen.add(ref)
        node = spec
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def subschemas(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The schemas nested directly in a schema, with a short label for each."""
    for name, child in (schema.get("properties") or {}).items():
        yield f"properties.{name}", child
    for key in ("items", "additionalProperties", "not"):
        if isinstance(schema.get(key), dict):
            yield key, schema[key]
    for key in ("allOf", "oneOf", "anyOf"):
        for index, child in enumerate(schema.get(key) or []):
            yield f"{key}.{index}", child


def iter_schema_tree(schema: Any, label: str) -> Iterator[tuple[dict[str, Any], str]]:
    """Every schema object written inside `schema` (not following `$ref`), with its label."""
    if not isinstance(schema, dict) or "$ref" in schema:
        return
    yield schema, label
    for child_label, child in subschemas(schema):
        yield from iter_schema_tree(child, f"{label}.{child_label}")


def iter_schema_nodes(spec: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str]]:
    """Every schema object written anywhere in the spec, found by walking the whole document."""

    def walk(node: Any, label: str) -> Iterator[tuple[dict[str, Any], str]]:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "schema":
                    yield from iter_schema_tree(value, f"{label}.schema")
                elif key == "schemas" and label == "components":
                    for name, schema in value.items():
                        yield from iter_schema_tree(schema, f"schema.{name}")
                elif key not in ("example", "examples", "default", "enum"):
                    yield from walk(value, f"{label}.{key}" if label else str(key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                yield from walk(value, f"{label}.{index}")

    yield from walk(spec, "")


# --- finding examples --------------------------------------------------------------------------


@dataclass
class Example:
    """One example value together with the schema it must satisfy."""

    case_id: str
    value: Any
    schema: Any
    direction: str
    spec: dict[str, Any] = field(repr=False)


def _short_media(media_type: str) -> str:
    return media_type.split("/", 1)[-1].split(";", 1)[0]


def _named_examples(holder: dict[str, Any], spec: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """`example` and every `examples` entry with a value (externalValue cannot be checked)."""
    if "example" in holder:
        yield "example", holder["example"]
    for name, entry in (holder.get("examples") or {}).items():
        entry = resolve(entry, spec)
        if "value" in entry:
            yield str(name), entry["value"]


def _content_examples(
    content: dict[str, Any], spec: dict[str, Any], prefix: str, direction: str
) -> Iterator[Example]:
    for media_type, media in (content or {}).items():
        schema = media.get("schema")
        where = f"{prefix}:{_short_media(media_type)}"
        if schema is None:
            continue
        for name, value in _named_examples(media, spec):
            yield Example(f"{where}:{name}", value, schema, direction, spec)
        yield from _inline_schema_examples(schema, spec, where, direction)


def _parameter_like_examples(
    holder: dict[str, Any], spec: dict[str, Any], prefix: str, direction: str
) -> Iterator[Example]:
    """Examples of a parameter or a header: beside its schema, or in its content."""
    schema = holder.get("schema")
    if schema is not None:
        for name, value in _named_examples(holder, spec):
            yield Example(f"{prefix}:{name}", value, schema, direction, spec)
        yield from _inline_schema_examples(schema, spec, prefix, direction)
    yield from _content_examples(holder.get("content"), spec, prefix, direction)


def _inline_schema_examples(
    schema: Any, spec: dict[str, Any], prefix: str, direction: str
) -> Iterator[Example]:
    for node, label in iter_schema_tree(schema, "schema"):
        if "example" in node:
            yield Example(f"{prefix}:{label}:example", node["example"], node, direction, spec)


def _operation_examples(
    spec: dict[str, Any], operation: dict[str, Any], path_parameters: list[Any], prefix: str
) -> Iterator[Example]:
    for parameter in [*path_parameters, *(operation.get("parameters") or [])]:
        parameter = resolve(parameter, spec)
        where = f"{prefix}:param-{parameter.get('name')}"
        yield from _parameter_like_examples(parameter, spec, where, REQUEST)
    if "requestBody" in operation:
        body = resolve(operation["requestBody"], spec)
        yield from _content_examples(body.get("content"), spec, f"{prefix}:request", REQUEST)
    for status, response in (operation.get("responses") or {}).items():
        response = resolve(response, spec)
        where = f"{prefix}:{status}"
        yield from _content_examples(response.get("content"), spec, where, RESPONSE)
        for header_name, header in (response.get("headers") or {}).items():
            header = resolve(header, spec)
            header_where = f"{where}:header-{header_name}"
            yield from _parameter_like_examples(header, spec, header_where, RESPONSE)


def collect_examples(spec_name: str, spec: dict[str, Any]) -> list[Example]:
    """Every example of the spec: per operation (parameters, request, responses, headers) and
    in the component schemas; case ids name spec, operation, status/place and example."""
    found: list[Example] = []
    for path, path_item in (spec.get("paths") or {}).items():
        path_parameters = path_item.get("parameters") or []
        for method in HTTP_METHODS:
            if method in path_item:
                operation = path_item[method]
                name = operation.get("operationId") or f"{method.upper()} {path}"
                prefix = f"{spec_name}:{name}"
                found.extend(_operation_examples(spec, operation, path_parameters, prefix))
    for name, schema in ((spec.get("components") or {}).get("schemas") or {}).items():
        found.extend(_inline_schema_examples(schema, spec, f"{spec_name}:schema-{name}", PLAIN))
    return _with_unique_ids(found)


def _with_unique_ids(examples: list[Example]) -> list[Example]:
    counts: dict[str, int] = {}
    for example in examples:
        counts[example.case_id] = counts.get(example.case_id, 0) + 1
        if counts[example.case_id] > 1:
            example.case_id = f"{example.case_id}#{counts[example.case_id]}"
    return examples


# --- validation --------------------------------------------------------------------------------


def validator_for(schema: Any, spec: dict[str, Any], direction: str) -> Any:
    """An OpenAPI 3.0 validator (nullable, readOnly/writeOnly) with formats enforced, whose
    local `$ref`s resolve into the spec's components."""
    root = {**schema, "components": spec.get("components") or {}}
    return VALIDATOR_BY_DIRECTION[direction](root, format_checker=FORMAT_CHECKER)


def validation_errors(validator: Any, value: Any) -> list[str]:
    return [
        f"at {'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
        for error in validator.iter_errors(value)
    ]


# --- what a schema surely demands --------------------------------------------------------------

JSON_TYPES = frozenset({"string", "integer", "number", "boolean", "array", "object", "null"})


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise TypeError(f"not JSON data: {value!r} ({type(value).__name__})")


def type_allowed(type_name: str, allowed: frozenset[str]) -> bool:
    return type_name in allowed or (type_name == "integer" and "number" in allowed)


def _child_schema(schema: dict[str, Any], step: str | int) -> Any:
    """The schema a child value is held to by this schema object's own keywords, if any."""
    if isinstance(step, int):
        return schema.get("items")
    properties = schema.get("properties") or {}
    if step in properties:
        return properties[step]
    extra = schema.get("additionalProperties")
    return extra if isinstance(extra, dict) else None


def _own_types(schema: dict[str, Any]) -> frozenset[str]:
    allowed = JSON_TYPES
    if "type" in schema:
        allowed = frozenset({schema["type"]})
        if schema.get("nullable") is True:
            allowed |= {"null"}
    if "enum" in schema:
        allowed &= frozenset(json_type(item) for item in schema["enum"])
    return allowed


def allowed_types(schema: Any, path: JsonPath, spec: dict[str, Any]) -> frozenset[str]:
    """Every JSON type the value at `path` could have and still pass; JSON_TYPES means any.

    Sound by construction: allOf intersects, oneOf/anyOf unite over all branches, so a value
    of a type outside the result is rejected whichever branch it is tried against.
    """
    schema = resolve(schema, spec)
    if not isinstance(schema, dict):
        return JSON_TYPES
    if path:
        child = _child_schema(schema, path[0])
        allowed = JSON_TYPES if child is None else allowed_types(child, path[1:], spec)
    else:
        allowed = _own_types(schema)
    for member in schema.get("allOf") or []:
        allowed &= allowed_types(member, path, spec)
    for key in ("oneOf", "anyOf"):
        if schema.get(key):
            united = frozenset().union(*(allowed_types(b, path, spec) for b in schema[key]))
            allowed &= united
    return allowed


def _required_counts(prop_schema: Any, direction: str) -> bool:
    """Mirrors openapi-schema-validator: a required readOnly property may be missing from a
    request, a required writeOnly one from a response (flags read from the unresolved node)."""
    if not isinstance(prop_schema, dict):
        return True
    read_only = prop_schema.get("readOnly", False)
    write_only = prop_schema.get("writeOnly", False)
    if direction == REQUEST:
        return not read_only
    if direction == RESPONSE:
        return not write_only
    return not (read_only or write_only)


def required_names(
    schema: Any, path: JsonPath, spec: dict[str, Any], direction: str, *, surely: bool
) -> set[str]:
    """Property names required of the object at `path`.

    surely=True: required whichever oneOf/anyOf branch applies (intersection over branches), so
    removing one is always rejected. surely=False: required anywhere, branches united.
    """
    schema = resolve(schema, spec)
    if not isinstance(schema, dict):
        return set()
    names: set[str] = set()
    if path:
        child = _child_schema(schema, path[0])
        if child is not None:
            names |= required_names(child, path[1:], spec, direction, surely=surely)
    else:
        properties = schema.get("properties") or {}
        names |= {
            name
            for name in schema.get("required") or []
            if _required_counts(properties.get(name), direction)
        }
    for member in schema.get("allOf") or []:
        names |= required_names(member, path, spec, direction, surely=surely)
    for key in ("oneOf", "anyOf"):
        branches = [
            required_names(b, path, spec, direction, surely=surely) for b in schema.get(key) or []
        ]
        if branches:
            names |= set.intersection(*branches) if surely else set.union(*branches)
    return names


# --- wrong variants ----------------------------------------------------------------------------

# Replacement values tried in order for a leaf, by the leaf's own JSON type: the first whose
# type the schema does not allow is used (a string becomes a number, a number a string, ...).
REPLACEMENTS_BY_TYPE: dict[str, tuple[Any, ...]] = {
    "string": (12345, True, None, ["12345"]),
    "integer": ("12345", True, None, [12345]),
    "number": ("12.5", True, None, [12.5]),
    "boolean": ("true", 1, None, [True]),
    "null": (12345, "null", True, []),
    "array": ("not-an-array", 12345, None, {}),
    "object": ("not-an-object", 12345, None, []),
}

REMOVAL, TYPE_CHANGE = "removal", "type change"


@dataclass
class Variant:
    kind: str
    description: str
    value: Any


def _path_text(path: JsonPath) -> str:
    return "/" + "/".join(map(str, path))


def _replaced(document: Any, path: JsonPath, new_value: Any) -> Any:
    if not path:
        return new_value
    result = copy.deepcopy(document)
    parent = result
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = new_value
    return result


def _without(document: Any, path: JsonPath, name: str) -> Any:
    result = copy.deepcopy(document)
    target = result
    for step in path:
        target = target[step]
    del target[name]
    return result


def iter_nodes(value: Any, path: JsonPath = ()) -> Iterator[tuple[JsonPath, Any]]:
    """Every node of a JSON value with its path, parents before children."""
    yield path, value
    if isinstance(value, dict):
        for key, child in value.items():
            yield from iter_nodes(child, (*path, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from iter_nodes(child, (*path, index))


def is_leaf(value: Any) -> bool:
    return not isinstance(value, dict | list) or not value


def wrong_variants(
    value: Any, schema: Any, spec: dict[str, Any], direction: str = PLAIN
) -> list[Variant]:
    """Copies of `value` that `schema` must reject: each surely-required property removed, and
    each leaf whose type the schema constrains set to a value of a type it does not allow."""
    variants: list[Variant] = []
    for path, node in iter_nodes(value):
        if isinstance(node, dict):
            required = required_names(schema, path, spec, direction, surely=True)
            for name in sorted(required & node.keys()):
                description = f"required {_path_text((*path, name))} removed"
                variants.append(Variant(REMOVAL, description, _without(value, path, name)))
        if is_leaf(node):
            allowed = allowed_types(schema, path, spec)
            replacement = _first_disallowed(REPLACEMENTS_BY_TYPE[json_type(node)], allowed)
            if replacement is not _NONE:
                description = (
                    f"{_path_text(path)} {json_type(node)} {node!r} -> "
                    f"{json_type(replacement)} {replacement!r}"
                )
                variants.append(
                    Variant(TYPE_CHANGE, description, _replaced(value, path, replacement))
                )
    return variants


_NONE = object()


def _first_disallowed(candidates: tuple[Any, ...], allowed: frozenset[str]) -> Any:
    for candidate in candidates:
        if not type_allowed(json_type(candidate), allowed):
            return candidate
    return _NONE


def declares_required(value: Any, schema: Any, spec: dict[str, Any], direction: str) -> bool:
    """Whether any object in the example is held to a `required` list (in any branch)."""
    return any(
        required_names(schema, path, spec, direction, surely=False) & node.keys()
        for path, node in iter_nodes(value)
        if isinstance(node, dict)
    )
