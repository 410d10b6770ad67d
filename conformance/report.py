"""Reports people read: the terminal summary, a JSON document and JUnit XML for CI.

Every string in a RunResult was redacted when it was collected, so nothing here handles secrets.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import textwrap
import xml.etree.ElementTree as ET

from .results import OperationResult, RunResult, Violation

STATUS_MARK = {
    "passed": "PASS",
    "failed": "FAIL",
    "known": "KNOWN",
    "error": "ERROR",
    "skipped": "SKIP",
}


def _indent(text: str, prefix: str = "     ") -> str:
    return textwrap.indent(text.rstrip(), prefix)


def reproduce_command(result: RunResult, violation: Violation | None = None) -> str:
    command = result.reproduce
    if not command:  # live traffic (`apitwin proxy`): nothing repeats it
        return ""
    if violation is not None:
        operation = result.operations[violation.operation]
        if operation.operation_id:
            command += f" --operation {operation.operation_id}"
        command += f" --phases {violation.phase}"
    return command


def verdict(result: RunResult) -> str:
    ops = result.operations.values()
    failed_ops = sum(1 for op in ops if op.violations)
    parts = []
    if result.violations:
        parts.append(
            f"{len(result.violations)} violation(s) in {failed_ops} of {len(result.operations)} "
            "operations"
        )
    if result.error_count:
        parts.append(f"{result.error_count} error(s)")
    if result.stop_reason and result.stop_reason != "completed":
        parts.append(f"stopped early ({result.stop_reason})")
    head = "FAILED: " + ", ".join(parts) if parts else "PASSED: no violations"
    tail = [f"{len(result.known)} known deviation(s)"] if result.known else []
    tail.append(f"{result.total_cases} test cases in {result.duration:.1f} s")
    tail += [f"seed {result.seed}"] if result.seed is not None else []
    return f"{head} · {' · '.join(tail)}"


def _operation_line(op: OperationResult) -> str:
    phases = ", ".join(f"{phase} {count}" for phase, count in op.cases.items())
    extra = ""
    if op.violations:
        extra = f"  {len(op.violations)} violation(s): {', '.join(v.check for v in op.violations)}"
    elif op.known:
        extra = f"  known: {', '.join(k.deviation.check for k in op.known)}"
    elif op.errors:
        extra = f"  {len(op.errors)} error(s)"
    elif not op.total_cases and op.skipped:
        extra = "  " + "; ".join(sorted(set(op.skipped.values())))
    return (
        f"  {STATUS_MARK[op.status]:<5} {op.label:<58} {op.total_cases:>5} cases ({phases}){extra}"
    )


def _violation_block(number: int, result: RunResult, v: Violation) -> str:
    headers = "".join(
        f"\n     {name}: {value}"
        for name, value in v.response_headers.items()
        if name.lower() in ("content-type", "allow", "location", "www-authenticate")
    )
    return "\n".join(
        [
            f"{number}. {v.check} · {v.operation} · {v.phase} phase"
            + (f" · seen {v.occurrences} times" if v.occurrences > 1 else ""),
            f"   {v.title}" + (f" at {v.location} in the response body" if v.location else ""),
            _indent(v.message) if v.message else "",
            "   Request:",
            _indent(v.curl),
            f"   Response: {v.status_code}{headers}",
            _indent(v.response_body) if v.response_body else "     (empty body)",
            f"   Reproduce: {reproduce_command(result, v)}" if result.reproduce else "",
        ]
    ).replace("\n\n", "\n")


def summary(result: RunResult) -> str:
    settings = result.settings
    lines = [
        f"apitwin conform · {result.api} at {result.base_url} ({result.target})"
        f" · seed {result.seed}",
        f"phases: {', '.join(settings['phases'])} · max examples {settings['max_examples']}"
        + (" · read-only" if settings["read_only"] else ""),
        "",
        "Operations",
    ]
    lines += [_operation_line(op) for op in sorted(result.operations.values(), key=_order)]
    if result.violations:
        lines += ["", "Violations"]
        for number, violation in enumerate(result.violations, 1):
            lines += [_violation_block(number, result, violation), ""]
    if result.known:
        lines += [
            "",
            "Known deviations (listed in the known-deviations file; they do not fail the run)",
        ]
        for hit in result.known:
            lines.append(
                f"  {hit.deviation.check} · {hit.operation} · {hit.count} time(s) · "
                f"last answer {hit.status_code}: {hit.deviation.reason}"
            )
    errors = result.errors + [
        f"{op.label}: {e}" for op in result.operations.values() for e in op.errors
    ]
    if errors:
        lines += ["", "Errors (the run could not test everything)"]
        lines += [_indent(error, "  ") for error in errors]
    lines += ["", verdict(result)]
    return "\n".join(lines)


def _order(op: OperationResult) -> tuple:
    rank = {"failed": 0, "error": 1, "known": 2, "passed": 3, "skipped": 4}
    return rank[op.status], op.label


def to_json(result: RunResult, exit_code: int) -> dict:
    data = dataclasses.asdict(result)
    data["exit_code"] = exit_code
    data["passed"] = result.passed
    data["verdict"] = verdict(result)
    data["total_cases"] = result.total_cases
    for op in data["operations"].values():
        op["status"] = result.operations[op["label"]].status
        for v in op["violations"]:
            v["reproduce"] = reproduce_command(result, Violation(**{k: v[k] for k in _FIELDS}))
    data["operations"] = list(data["operations"].values())
    return data


_FIELDS = [field.name for field in dataclasses.fields(Violation)]


def write_json(result: RunResult, exit_code: int, path: str | pathlib.Path) -> None:
    text = json.dumps(to_json(result, exit_code), indent=2, ensure_ascii=False)
    pathlib.Path(path).write_text(text + "\n", encoding="utf-8")


def junit(result: RunResult) -> ET.ElementTree:
    """One testcase per operation; a <failure> per violation, known deviations in system-out."""
    tool = "proxy" if result.target == "proxy" else "conform"
    suite = ET.Element(
        "testsuite",
        name=f"apitwin {tool} {result.api}",
        tests=str(len(result.operations)),
        failures=str(sum(1 for op in result.operations.values() if op.violations)),
        errors=str(sum(1 for op in result.operations.values() if op.errors and not op.violations)),
        skipped=str(sum(1 for op in result.operations.values() if op.status == "skipped")),
        time=f"{result.duration:.3f}",
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (("base_url", result.base_url), ("seed", result.seed)):
        if value is None:
            continue
        ET.SubElement(properties, "property", name=name, value=str(value))
    for op in sorted(result.operations.values(), key=lambda op: op.label):
        case = ET.SubElement(suite, "testcase", classname=f"{tool}.{result.api}", name=op.label)
        for v in op.violations:
            failure = ET.SubElement(case, "failure", type=v.check, message=f"{v.check}: {v.title}")
            failure.text = "\n".join(
                [
                    v.message,
                    f"Request:\n{v.curl}",
                    f"Response: {v.status_code}\n{v.response_body}",
                ]
                + ([f"Reproduce: {reproduce_command(result, v)}"] if result.reproduce else [])
            )
        for error in op.errors if not op.violations else []:
            ET.SubElement(case, "error", message=error.splitlines()[0]).text = error
        if op.status == "skipped":
            ET.SubElement(case, "skipped", message="; ".join(sorted(set(op.skipped.values()))))
        if op.known:
            ET.SubElement(case, "system-out").text = "\n".join(
                f"known deviation: {k.deviation.check}: {k.deviation.reason}" for k in op.known
            )
    if result.errors:
        ET.SubElement(suite, "system-err").text = "\n".join(result.errors)
    ET.indent(suite)
    return ET.ElementTree(suite)


def write_junit(result: RunResult, path: str | pathlib.Path) -> None:
    junit(result).write(path, encoding="utf-8", xml_declaration=True)
