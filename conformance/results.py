"""What a run found, per operation, built from schemathesis' engine events.

Everything that leaves this module for a report has gone through the run's `Redactor`.
"""

from __future__ import annotations

import dataclasses
import json

from schemathesis.core.output.sanitization import sanitize_value
from schemathesis.engine import Status, events
from schemathesis.engine.run import PhaseName

from .auth import needs_credentials
from .credentials import Redactor
from .known import KnownHit

TEST_PHASES = {
    PhaseName.EXAMPLES: "examples",
    PhaseName.COVERAGE: "coverage",
    PhaseName.FUZZING: "fuzzing",
    PhaseName.STATEFUL_TESTING: "stateful",
}
BODY_LIMIT = 2000  # characters of a response body kept in a report
NO_LINKS = "Missing Open API links"  # schemathesis' title when a filter leaves no link to follow


@dataclasses.dataclass
class Violation:
    operation: str  # "METHOD /path" as in the spec
    check: str
    title: str
    message: str
    severity: str
    phase: str
    curl: str
    status_code: int | None
    response_headers: dict[str, str]
    response_body: str
    # JSON pointer into the response body where a schema violation sits ("" when not one).
    location: str = ""
    occurrences: int = 1


@dataclasses.dataclass
class OperationResult:
    label: str
    operation_id: str | None = None
    cases: dict[str, int] = dataclasses.field(default_factory=dict)  # phase -> test cases
    skipped: dict[str, str] = dataclasses.field(default_factory=dict)  # phase -> reason
    violations: list[Violation] = dataclasses.field(default_factory=list)
    known: list[KnownHit] = dataclasses.field(default_factory=list)
    errors: list[str] = dataclasses.field(default_factory=list)

    @property
    def total_cases(self) -> int:
        return sum(self.cases.values())

    @property
    def status(self) -> str:
        if self.violations:
            return "failed"
        if self.errors:
            return "error"
        if not self.total_cases:
            return "skipped"
        return "known" if self.known else "passed"


@dataclasses.dataclass
class RunResult:
    api: str
    base_url: str
    target: str  # twin, url, or proxy (live traffic through `apitwin proxy`)
    seed: int | None  # None: live traffic, nothing generated
    settings: dict
    operations: dict[str, OperationResult] = dataclasses.field(default_factory=dict)
    errors: list[str] = dataclasses.field(default_factory=list)  # not tied to one operation
    phases: dict[str, str] = dataclasses.field(default_factory=dict)  # phase -> final status
    duration: float = 0.0
    stop_reason: str = ""
    reproduce: str = ""  # the command that repeats this run
    tokens_fetched: int = 0  # OAuth2 tokens the suite obtained (Ylem)

    def operation(self, label: str) -> OperationResult:
        if label not in self.operations:
            self.operations[label] = OperationResult(label)
        return self.operations[label]

    @property
    def violations(self) -> list[Violation]:
        return [v for op in self.operations.values() for v in op.violations]

    @property
    def known(self) -> list[KnownHit]:
        return [k for op in self.operations.values() for k in op.known]

    @property
    def error_count(self) -> int:
        return len(self.errors) + sum(len(op.errors) for op in self.operations.values())

    @property
    def total_cases(self) -> int:
        return sum(op.total_cases for op in self.operations.values())

    @property
    def passed(self) -> bool:
        return not self.violations and not self.error_count and self.stop_reason == "completed"


def _headers(response) -> dict[str, str]:
    return {name: ", ".join(values) for name, values in response.headers.items()}


def _body(response, redact: Redactor, sanitization) -> str:
    text = response.content.decode("utf-8", errors="replace")
    try:
        data = json.loads(text)
    except ValueError:
        pass
    else:
        # Tokens in bodies (the token endpoint's answers) are masked by key, like headers.
        sanitize_value(data, config=sanitization)
        text = json.dumps(data, indent=2, ensure_ascii=False)
    if len(text) > BODY_LIMIT:
        text = text[:BODY_LIMIT] + f"\n... ({len(text) - BODY_LIMIT} more characters)"
    return redact(text)


def _pointer(path) -> str:
    return "".join(f"/{step}" for step in path) if path else ""


def make_violation(
    label: str, check: str, failure, response, *, phase: str, curl: str, redact, sanitization
) -> Violation:
    """A schemathesis failure as reports show it, every text through `redact`."""
    return Violation(
        operation=label,
        check=check,
        title=failure.title,
        message=redact(failure.message),
        severity=failure.severity.value,
        phase=phase,
        curl=redact(curl),
        status_code=response.status_code if response is not None else None,
        response_headers={k: redact(v) for k, v in _headers(response).items()}
        if response is not None
        else {},
        response_body=_body(response, redact, sanitization) if response else "",
        location=_pointer(getattr(failure, "instance_path", None)),
    )


def _positive(case) -> bool:
    """Valid data by the spec: an API that refuses it with 401/403 refuses the credentials."""
    meta = case.meta
    return meta is not None and meta.generation.mode.is_positive


class Collector:
    """Turns the engine's event stream into a `RunResult`."""

    def __init__(self, result: RunResult, redact: Redactor, sanitization) -> None:
        self.result = result
        self.redact = redact
        self.sanitization = sanitization
        self._seen: dict[tuple, Violation] = {}
        self._no_links = False
        # label -> [answers, 401/403 answers] to valid requests, where credentials are needed
        self._answers: dict[str, list[int]] = {}

    def on_event(self, event) -> None:
        if isinstance(event, events.ScenarioFinished) and event.phase in TEST_PHASES:
            self._scenario(TEST_PHASES[event.phase], event)
        elif isinstance(event, events.PhaseFinished) and event.phase.name in TEST_PHASES:
            phase = event.phase
            name = TEST_PHASES[phase.name]
            if not (name == "stateful" and self._no_links):
                self.result.phases[name] = event.status.value if phase.is_enabled else "skipped"
        elif isinstance(event, events.NonFatalError):
            if event.phase is PhaseName.STATEFUL_TESTING and event.info.title == NO_LINKS:
                # Links whose ends are filtered out (--operation, --read-only): nothing to chain.
                self.result.phases["stateful"] = "skipped: no links among the selected operations"
                self._no_links = True
                return
            message = self.redact(f"{event.info.title}: {event.info.message}".strip())
            if event.related_to_operation and event.label:
                self.result.operation(event.label).errors.append(message)
            else:
                self.result.errors.append(message)
        elif isinstance(event, events.FatalError):
            self.result.errors.append(
                self.redact(f"{type(event.exception).__name__}: {event.exception}")
            )
        elif isinstance(event, events.EngineFinished):
            self.result.duration = event.running_time
            self.result.stop_reason = event.stop_reason.value
            self._flag_refused_credentials()
            if not self.result.total_cases:
                self.result.errors.append(
                    "nothing was tested: no selected operation ran in any selected phase"
                )

    def _flag_refused_credentials(self) -> None:
        """An operation that refused every valid request with 401/403 was never tested past its
        door: the credentials (or their scope) are wrong, which must not pass as a clean run."""
        for label, (answers, refused) in self._answers.items():
            if answers and answers == refused:
                self.result.operation(label).errors.append(
                    f"all {answers} valid requests got 401/403: the credentials were refused, "
                    "so nothing behind them was tested"
                )

    def _scenario(self, phase: str, event: events.ScenarioFinished) -> None:
        recorder = event.recorder
        if event.status == Status.SKIP:
            if event.label:
                self.result.operation(event.label).skipped[phase] = event.skip_reason or "skipped"
            return
        for case_id, node in recorder.cases.items():
            operation = node.value.operation
            result = self.result.operation(operation.label)
            result.operation_id = operation.definition.raw.get("operationId")
            result.cases[phase] = result.cases.get(phase, 0) + 1
            response = recorder.find_response(case_id=case_id)
            if response is not None and _positive(node.value) and needs_credentials(operation):
                counts = self._answers.setdefault(operation.label, [0, 0])
                counts[0] += 1
                counts[1] += response.status_code in (401, 403)
        for case_id, checks in recorder.checks.items():
            for check in checks:
                if check.status == Status.FAILURE and check.failure_info is not None:
                    self._violation(phase, recorder, case_id, check)

    def _violation(self, phase: str, recorder, case_id: str, check) -> None:
        failure = check.failure_info.failure
        failing_case = failure.case_id or case_id
        case = recorder.cases[failing_case].value
        key = (check.name, case.operation.label, failure)
        if key in self._seen:
            self._seen[key].occurrences += 1
            return
        response = recorder.find_response(case_id=failing_case)
        violation = make_violation(
            case.operation.label,
            check.name,
            failure,
            response,
            phase=phase,
            curl=check.failure_info.code_sample,
            redact=self.redact,
            sanitization=self.sanitization,
        )
        self._seen[key] = violation
        self.result.operation(case.operation.label).violations.append(violation)
