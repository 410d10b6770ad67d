"""The specs as plain data, for the features that answer from what an operation documents: the
rendered docs, the `Prefer` header and fault rules.

Specs are read without YAML's timestamp conversion, so a documented example like
`created: 2020-02-06T13:56:51` stays the string the document shows.
"""

from __future__ import annotations

import copy
import dataclasses
import functools

import yaml

from apitwin.apis import ADMIN_SPEC, APIS, SPECS_DIR

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


# libyaml's parser when PyYAML has it: the pure-Python one takes seconds over the four specs.
class _TextDates(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """SafeLoader that leaves ISO dates and times as strings."""


_TextDates.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@functools.cache
def _load(file_name: str) -> dict:
    with open(SPECS_DIR / file_name, encoding="utf-8") as handle:
        return yaml.load(handle, Loader=_TextDates)  # noqa: S506 - a SafeLoader subclass


def load_spec(file_name: str) -> dict:
    """A private copy of a spec file, as data (each file is parsed once per process)."""
    return copy.deepcopy(_load(file_name))


def spec_file(name: str) -> str:
    """The spec file of an API name, or of the admin API ("_twin")."""
    return ADMIN_SPEC if name == "_twin" else APIS[name].spec


def resolve(spec: dict, node):
    """Follows `$ref`s (local ones only, as every spec here is one self-contained file)."""
    seen = 0
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/") or seen > 32:
            raise ValueError(f"cannot resolve $ref {ref!r}")
        node = spec
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
        seen += 1
    return node


@dataclasses.dataclass(frozen=True)
class Operation:
    api: str
    operation_id: str
    method: str
    path: str
    spec: dict = dataclasses.field(repr=False, compare=False)
    op: dict = dataclasses.field(repr=False, compare=False)

    def responses(self) -> dict[str, dict]:
        """Status (as written in the spec: "200", "4XX", "default") -> resolved response."""
        return {str(code): resolve(self.spec, r) for code, r in self.op["responses"].items()}


def operations(name: str) -> list[Operation]:
    """Every operation of an API (or of the admin API, "_twin"), in spec order."""
    spec = _load(spec_file(name))
    found = []
    for path, item in spec.get("paths", {}).items():
        for method in HTTP_METHODS:
            op = item.get(method)
            if op is not None:
                found.append(Operation(name, op["operationId"], method.upper(), path, spec, op))
    return found


@functools.cache
def operation_index(name: str) -> dict[str, Operation]:
    return {op.operation_id: op for op in operations(name)}
