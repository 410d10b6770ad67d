"""Schema-valid bodies generated from a response schema (`Prefer: dynamic=true`).

The values come from schemathesis' JSON Schema engine (Hypothesis strategies built from a
canonicalised schema), the generator the conformance suite already trusts; hypothesis-jsonschema
does not run on the Hypothesis release schemathesis needs. Its entry point is internal, so it is
used here and nowhere else, and schemathesis is pinned. The OpenAPI 3.0 schema is turned into a
draft 4 JSON Schema first (`$ref`s inlined, `nullable` as a null alternative, OpenAPI-only
keywords dropped). Draws are seeded: the same seed gives the same body.
"""

from __future__ import annotations

import functools
import json
import threading

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st
from schemathesis.generation.jsonschema.builder import build
from schemathesis.generation.jsonschema.context import Alphabet
from schemathesis.specs.openapi.formats import get_default_format_strategies

from apitwin.apis.spec_index import resolve


@functools.cache
def _formats() -> dict:
    # JSON bodies only: "binary" would otherwise draw file objects.
    return {**get_default_format_strategies(), "binary": st.text(max_size=64)}


_OPENAPI_ONLY = {"example", "examples", "xml", "externalDocs", "discriminator", "deprecated"}
_MAX_REF_DEPTH = 16
# Hypothesis' first examples are the simplest ones (empty strings, zeros); a few more give a body
# that looks generated, at a cost of a few milliseconds each.
_EXAMPLES_PER_DRAW = 8


def to_json_schema(spec: dict, schema, depth: int = 0):
    """An OpenAPI 3.0 schema object as a self-contained JSON Schema."""
    if depth > _MAX_REF_DEPTH:
        raise ValueError("schema nests $refs too deeply to generate from")
    if isinstance(schema, list):
        return [to_json_schema(spec, item, depth) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if "$ref" in schema:
        return to_json_schema(spec, resolve(spec, schema), depth + 1)
    out = {}
    for key, value in schema.items():
        if key in _OPENAPI_ONLY or key in ("readOnly", "writeOnly", "nullable"):
            continue
        if key in ("properties", "patternProperties"):
            out[key] = {name: to_json_schema(spec, sub, depth) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "not", "allOf", "anyOf", "oneOf"):
            out[key] = to_json_schema(spec, value, depth)
        elif key == "format":
            # Formats constrain strings only (int32, double are annotations).
            if schema.get("type") == "string":
                out[key] = value
        else:
            out[key] = value
    # readOnly/writeOnly say nothing about a response body's validity; nullable adds null.
    if schema.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


# Any Unicode a UI must cope with, but no control characters: they only make bodies unreadable.
_READABLE = Alphabet(
    allow_x00=False, exclude_characters="".join(map(chr, [*range(32), 127])), codec="utf-8"
)


@functools.lru_cache(maxsize=256)
def _strategy(schema_json: str):
    return build(json.loads(schema_json), draft=4, formats=_formats(), alphabet=_READABLE)


_lock = threading.Lock()


def generate(spec: dict, schema, seed: int):
    """One value valid against `schema` (OpenAPI 3.0), the same for the same seed."""
    json_schema = to_json_schema(spec, schema)
    strategy = _strategy(json.dumps(json_schema, sort_keys=True))
    drawn = []

    @hypothesis_seed(seed)
    @settings(
        max_examples=_EXAMPLES_PER_DRAW,
        phases=[Phase.generate],
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def draw(value) -> None:
        drawn.append(value)

    # Hypothesis' engine is not meant to run twice at once in one process.
    with _lock:
        draw()
    if not drawn:
        raise ValueError("no value satisfies the schema")
    return drawn[-1]
