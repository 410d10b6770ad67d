"""The contracts themselves: every spec in specs/ is valid OpenAPI 3.0.3, its examples validate
against their schemas (formats enforced) while wrong variants of them are rejected, the three API
specs cover exactly the documented operations, and Spectral's OpenAPI ruleset finds nothing."""

from __future__ import annotations

import json
import os
import pathlib
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from openapi_spec_validator import OpenAPIV30SpecValidator
from spec_examples import (
    HTTP_METHODS,
    PLAIN,
    REMOVAL,
    REPO_ROOT,
    SPEC_DIR,
    TYPE_CHANGE,
    collect_examples,
    declares_required,
    spec_paths,
    unchecked_formats,
    validation_errors,
    validator_for,
    wrong_variants,
)
from support import read_yaml

# The checklist of the 46 documented operations, kept with the tests.
OPERATIONS_FILE = pathlib.Path(__file__).with_name("documented_operations.yaml")
# The twin's own admin API: a spec like the others, but outside the documented operations.
ADMIN_SPEC = "admin"

SPECS = {path.stem: path for path in spec_paths()}


def _spec_ids() -> list[str]:
    return sorted(SPECS)


def _load_all_specs() -> dict[str, dict]:
    loaded = {}
    for name, path in SPECS.items():
        try:
            loaded[name] = read_yaml(path)
        except yaml.YAMLError:
            continue  # test_spec_is_valid_openapi_303 reports it
    return loaded


SPEC_DOCUMENTS = _load_all_specs()


def _all_examples() -> tuple[list, dict[str, str]]:
    """Every example of every spec; a spec whose examples cannot be found (a broken `$ref`,
    say) is recorded instead of breaking the collection of the whole module."""
    examples, errors = [], {}
    for name, spec in sorted(SPEC_DOCUMENTS.items()):
        try:
            examples.extend(collect_examples(name, spec))
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            errors[name] = f"{type(error).__name__}: {error}"
    return examples, errors


EXAMPLES, EXAMPLE_COLLECTION_ERRORS = _all_examples()


# --- validity ----------------------------------------------------------------------------------


def test_there_are_specs_to_test():
    assert SPECS, f"no specs found in {SPEC_DIR}"


@pytest.mark.parametrize("spec_name", _spec_ids())
def test_spec_is_valid_openapi_303(spec_name):
    spec = read_yaml(SPECS[spec_name])
    assert spec.get("openapi") == "3.0.3", f"openapi is {spec.get('openapi')!r}, not '3.0.3'"
    errors = [
        f"{'/'.join(map(str, error.absolute_path)) or '(root)'}: {error.message}"
        for error in OpenAPIV30SpecValidator(spec).iter_errors()
    ]
    assert not errors, "\n".join(errors)


@pytest.mark.parametrize("spec_name", _spec_ids())
def test_connexion_accepts_the_spec_with_its_own_checks(spec_name):
    # The twin builds its shipped specs without Connexion's schema and defaults checks
    # (connexion_adapter.specification): they run here instead.
    from connexion.spec import Specification

    Specification.load(SPEC_DOCUMENTS[spec_name])


@pytest.mark.parametrize("spec_name", _spec_ids())
def test_spec_uses_only_formats_that_are_checked(spec_name):
    # A format no checker knows passes anything, so the example tests would enforce nothing.
    unknown = unchecked_formats(SPEC_DOCUMENTS[spec_name])
    assert not unknown, f"formats nothing checks: {sorted(unknown)}"


# --- examples ----------------------------------------------------------------------------------


@pytest.mark.parametrize("spec_name", _spec_ids())
def test_examples_can_be_collected(spec_name):
    assert spec_name not in EXAMPLE_COLLECTION_ERRORS, EXAMPLE_COLLECTION_ERRORS.get(spec_name)


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.case_id for e in EXAMPLES])
def test_example_matches_its_schema_and_wrong_variants_do_not(example):
    try:
        json.dumps(example.value, allow_nan=False)
    except (TypeError, ValueError) as error:
        pytest.fail(f"example is not JSON data (an unquoted YAML date?): {error}")

    validator = validator_for(example.schema, example.spec, example.direction)
    errors = validation_errors(validator, example.value)
    assert not errors, "example does not match its schema:\n" + "\n".join(errors)

    variants = wrong_variants(example.value, example.schema, example.spec, example.direction)
    assert any(v.kind == TYPE_CHANGE for v in variants), (
        "no leaf of this example has a type its schema constrains: the schema cannot fail"
    )
    if declares_required(example.value, example.schema, example.spec, example.direction):
        assert any(v.kind == REMOVAL for v in variants), (
            "the schema declares required properties, but none is required whichever "
            "oneOf/anyOf branch applies: no removal is sure to be rejected"
        )
    accepted = [v.description for v in variants if not validation_errors(validator, v.value)]
    assert not accepted, "wrong variants the schema accepts:\n" + "\n".join(accepted)


# The variant generator must itself be able to catch a bad example and a loose schema.
TINY_SPEC = {
    "components": {
        "schemas": {
            "Run": {
                "type": "object",
                "required": ["id", "state", "created_at"],
                "properties": {
                    "id": {"type": "integer"},
                    "state": {"type": "string", "enum": ["pending", "executed"]},
                    "created_at": {"type": "string", "format": "date-time"},
                    "output": {"type": "string", "nullable": True},
                    "tasks": {"type": "array", "items": {"$ref": "#/components/schemas/Task"}},
                },
            },
            "Task": {
                "type": "object",
                "required": ["uuid"],
                "properties": {"uuid": {"type": "string", "format": "uuid"}},
            },
            "HistoryId": {
                "oneOf": [{"type": "integer", "nullable": True}, {"type": "string"}],
            },
        }
    }
}
RUN_SCHEMA = {"$ref": "#/components/schemas/Run"}
GOOD_RUN = {
    "id": 40,
    "state": "pending",
    "created_at": "2024-03-22T12:57:49Z",
    "output": None,
    "tasks": [{"uuid": "449c3c47-427e-465e-b1d2-0bf257b714e4"}],
}


def _errors(value, schema=RUN_SCHEMA):
    return validation_errors(validator_for(schema, TINY_SPEC, PLAIN), value)


def test_tiny_schema_accepts_the_good_example():
    assert _errors(GOOD_RUN) == []


@pytest.mark.parametrize(
    "bad_value",
    [
        {**GOOD_RUN, "id": "40"},
        {**GOOD_RUN, "created_at": "2024-03-22 12:57:49"},
        {**GOOD_RUN, "tasks": [{"uuid": "not-a-uuid"}]},
        {**GOOD_RUN, "state": None},
        {key: value for key, value in GOOD_RUN.items() if key != "state"},
    ],
    ids=["integer-as-string", "date-time-without-T", "bad-uuid", "null-not-nullable", "missing"],
)
def test_tiny_schema_rejects_a_bad_example(bad_value):
    assert _errors(bad_value)


def test_variants_cover_removals_and_type_changes_at_every_depth():
    variants = wrong_variants(GOOD_RUN, RUN_SCHEMA, TINY_SPEC)
    descriptions = {v.description for v in variants}
    assert "required /tasks/0/uuid removed" in descriptions
    assert "required /state removed" in descriptions
    assert "/id integer 40 -> string '12345'" in descriptions
    assert "/output null None -> integer 12345" in descriptions
    assert all(_errors(v.value) for v in variants)
    assert GOOD_RUN["tasks"][0]["uuid"], "variants must not change the example itself"


def test_type_change_picks_a_type_no_branch_allows():
    variants = wrong_variants(100, {"$ref": "#/components/schemas/HistoryId"}, TINY_SPEC)
    assert [v.value for v in variants] == [True]


def test_a_loose_schema_is_caught():
    # `id` untyped and nothing required: no variant is produced, which the example test reports.
    loose = {"type": "object", "properties": {"id": {}}}
    assert wrong_variants({"id": 40}, loose, TINY_SPEC) == []


def test_examples_are_found_at_every_level():
    spec = {
        "paths": {
            "/runs/{id}": {
                "parameters": [{"name": "id", "in": "path", "schema": {"type": "integer"}}],
                "post": {
                    "operationId": "run",
                    "parameters": [
                        {"name": "q", "in": "query", "schema": {"type": "string"}, "example": "x"}
                    ],
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {"type": "object", "example": {}},
                                "examples": {"documented": {"value": {"a": 1}}},
                            }
                        }
                    },
                    "responses": {
                        "201": {
                            "description": "ok",
                            "headers": {"X-Id": {"schema": {"type": "string"}, "example": "1"}},
                            "content": {"application/json": {"schema": RUN_SCHEMA, "example": 1}},
                        }
                    },
                },
            }
        },
        "components": TINY_SPEC["components"]
        | {"schemas": {"Day": {"type": "string", "example": "2024-01-01"}}},
    }
    assert [e.case_id for e in collect_examples("tiny", spec)] == [
        "tiny:run:param-q:example",
        "tiny:run:request:json:documented",
        "tiny:run:request:json:schema:example",
        "tiny:run:201:json:example",
        "tiny:run:201:header-X-Id:example",
        "tiny:schema-Day:schema:example",
    ]


# --- coverage ----------------------------------------------------------------------------------


def _path_shape(path: str) -> str:
    """A path template with its parameter names dropped: /a/{x}/b -> /a/{}/b."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def _documented_operations() -> dict[str, set[tuple[str, str]]]:
    checklist = read_yaml(OPERATIONS_FILE)
    return {
        api: {
            (method.lower(), _path_shape(path))
            for method, path in (line.split(" ", 1) for line in operations)
        }
        for api, operations in checklist.items()
    }


def _spec_operations(spec: dict) -> set[tuple[str, str]]:
    return {
        (method, _path_shape(path))
        for path, item in (spec.get("paths") or {}).items()
        for method in item
        if method.lower() in HTTP_METHODS
    }


def test_documented_operations_checklist_has_46_operations():
    assert sum(len(ops) for ops in _documented_operations().values()) == 46


@pytest.mark.parametrize("api", ["ylem", "director", "meiro"])
def test_spec_has_exactly_the_documented_operations(api):
    documented = _documented_operations()[api]
    assert api in SPEC_DOCUMENTS, f"specs/{api}.yaml is missing or not YAML"
    present = _spec_operations(SPEC_DOCUMENTS[api])
    missing = sorted(documented - present)
    extra = sorted(present - documented)
    assert not missing and not extra, f"missing: {missing}\nnot documented: {extra}"


def test_every_spec_is_an_api_of_the_checklist_or_the_admin_api():
    known = set(_documented_operations()) | {ADMIN_SPEC}
    assert set(SPECS) <= known, f"specs outside the checklist: {sorted(set(SPECS) - known)}"


@pytest.mark.parametrize("spec_name", _spec_ids())
def test_every_operation_has_a_unique_operation_id(spec_name):
    spec = SPEC_DOCUMENTS[spec_name]
    seen: dict[str, str] = {}
    problems = []
    for path, item in (spec.get("paths") or {}).items():
        for method in HTTP_METHODS:
            if method not in item:
                continue
            where = f"{method.upper()} {path}"
            operation_id = item[method].get("operationId")
            if not operation_id:
                problems.append(f"{where}: no operationId")
            elif operation_id in seen:
                problems.append(
                    f"{where}: operationId {operation_id!r} also on {seen[operation_id]}"
                )
            else:
                seen[operation_id] = where
    assert not problems, "\n".join(problems)


# --- lint --------------------------------------------------------------------------------------

SPECTRAL_INSTALL = "npm install --prefix .cache/spectral @stoplight/spectral-cli@6.16.3"


def _spectral_binary() -> str | None:
    candidates = [
        os.environ.get("SPECTRAL"),
        str(REPO_ROOT / ".cache" / "spectral" / "node_modules" / ".bin" / "spectral"),
        shutil.which("spectral"),
    ]
    return next((c for c in candidates if c and Path(c).is_file()), None)


@pytest.fixture(scope="module")
def spectral_findings() -> list[dict]:
    """Spectral's results for all specs, from one run (node starts once)."""
    binary = _spectral_binary()
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"Spectral is not installed; CI must install it: {SPECTRAL_INSTALL}")
        pytest.skip(f"Spectral is not installed; install it with: {SPECTRAL_INSTALL}")
    command = [
        binary,
        "lint",
        "--ruleset",
        str(REPO_ROOT / ".spectral.yaml"),
        "--format",
        "json",
        "--quiet",
        *(str(path) for path in SPECS.values()),
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    try:
        return json.loads(run.stdout)
    except json.JSONDecodeError:
        pytest.fail(f"Spectral gave no JSON (exit {run.returncode}):\n{run.stdout}\n{run.stderr}")


def test_spectral_ruleset_is_the_full_oas_ruleset():
    # Every rule stays on; an override may only exempt named locations inside a spec (a JSON
    # pointer after `#`), never a whole file, and each needs a decision in DECISIONS.md.
    ruleset = read_yaml(REPO_ROOT / ".spectral.yaml")
    assert ruleset.get("extends") == ["spectral:oas"]
    assert set(ruleset) <= {"extends", "overrides"}, "no rule may be added, changed or off"
    for override in ruleset.get("overrides") or []:
        whole_files = [f for f in override["files"] if "#/" not in f]
        assert not whole_files, f"overrides must name locations, not files: {whole_files}"


@pytest.mark.parametrize("spec_name", _spec_ids())
def test_spectral_finds_nothing(spec_name, spectral_findings):
    spec_file = SPECS[spec_name].resolve()
    findings = [f for f in spectral_findings if Path(f.get("source", "")).resolve() == spec_file]
    severity = {0: "error", 1: "warning", 2: "info", 3: "hint"}
    lines = [
        f"{severity.get(f['severity'], f['severity'])} {f['code']} at "
        f"{'.'.join(map(str, f['path']))} (line {f['range']['start']['line'] + 1}): "
        f"{f['message']}"
        for f in findings
    ]
    assert not findings, f"{len(findings)} Spectral findings:\n" + "\n".join(lines)
