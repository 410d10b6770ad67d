"""JSON bodies shown valid in Rust (jsonschema-rs) before Python's jsonschema is asked.

Python's validator is most of the cost of checking a large body (a request's, or with
--validate-responses an answer's: a state export takes it ~0.4 s). Only Rust's "valid" is
taken: where it refuses, or its reading of a keyword differs (OpenAPI's `nullable`, formats
Python's checker lacks), Connexion's validator decides and words the refusal, so a body passes
only where both pass it or Connexion does. tests/test_hot_paths.py draws bodies for every
documented request and response schema and checks Rust never passes what Connexion refuses.
"""

from __future__ import annotations

import jsonschema_rs
from connexion.datastructures import MediaTypeDict
from connexion.validators import VALIDATOR_MAP, JSONResponseBodyValidator


def plainly_valid(schema: dict):
    """A Rust validator of `schema` read as Connexion reads it (Draft 4, formats checked)."""
    return jsonschema_rs.Draft4Validator(schema, validate_formats=True)


def response_validators() -> dict:
    """Connexion's response body validators (its `validator_map`), with JSON ones shown valid
    in Rust first; each schema is compiled once, on its first answer."""
    compiled: dict[int, tuple[dict, object]] = {}  # id(schema) -> (schema, its Rust validator)

    class PlainlyValidJSON(JSONResponseBodyValidator):
        def _validate(self, body) -> None:
            kept = compiled.get(id(self._schema))
            if kept is None or kept[0] is not self._schema:
                kept = compiled[id(self._schema)] = (self._schema, plainly_valid(self._schema))
            if not kept[1].is_valid(body):
                super()._validate(body)

    return {"response": MediaTypeDict({**VALIDATOR_MAP["response"], "*/*json": PlainlyValidJSON})}
