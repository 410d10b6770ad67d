"""Known deviations: differences between a deployment and its spec that a team has accepted.

A deviation is listed in a YAML file (default `conformance/known_deviations.yaml`) as
(api, operation, check, reason). A failure that matches one is dropped from schemathesis' verdict
through its `filter_failure` hook, so it neither fails the run nor stops the search for other
failures on that operation, and it is kept here so every report shows it as "known".
"""

from __future__ import annotations

import dataclasses
import pathlib
import threading

import yaml

DEFAULT_FILE = pathlib.Path(__file__).with_name("known_deviations.yaml")
FIELDS = ("api", "operation", "check", "reason")


class DeviationFileError(ValueError):
    pass


@dataclasses.dataclass(frozen=True)
class Deviation:
    api: str
    operation: str  # operationId, or the label "METHOD /path" as reports print it
    check: str
    reason: str

    def matches(self, api: str, operation_id: str | None, label: str, checks) -> bool:
        return (
            self.api == api
            and self.operation in (operation_id, label, "*")
            and self.check in checks
        )


@dataclasses.dataclass
class KnownHit:
    """A failure that matched a deviation: shown in reports, not counted against the run."""

    deviation: Deviation
    operation: str
    title: str
    status_code: int
    count: int = 1


def load(path: pathlib.Path | str | None = None) -> list[Deviation]:
    path = pathlib.Path(path) if path else DEFAULT_FILE
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise DeviationFileError(f"cannot read known deviations {path}: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise DeviationFileError(f"{path} is not valid YAML: {exc}") from None
    entries = data.get("deviations") or [] if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise DeviationFileError(f"{path}: expected a mapping with a `deviations` list")
    deviations = []
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or any(not entry.get(key) for key in FIELDS):
            raise DeviationFileError(f"{path}: deviation {number} needs {', '.join(FIELDS)}")
        deviations.append(Deviation(**{key: str(entry[key]) for key in FIELDS}))
    return deviations


class KnownDeviations:
    """Matches failures of one API's run against the list and records the hits."""

    def __init__(self, api: str, deviations: list[Deviation]) -> None:
        self.api = api
        self.deviations = [deviation for deviation in deviations if deviation.api == api]
        self.hits: dict[tuple, KnownHit] = {}
        self._lock = threading.Lock()

    def match(self, failure, case, response) -> Deviation | None:
        operation = case.operation
        operation_id = operation.definition.raw.get("operationId")
        checks = type(failure).checks
        for deviation in self.deviations:
            if deviation.matches(self.api, operation_id, operation.label, checks):
                return deviation
        return None

    def keep(self, context, failure, case, response) -> bool:
        """schemathesis `filter_failure` hook: False drops the failure as known."""
        deviation = self.match(failure, case, response)
        if deviation is None:
            return True
        key = (deviation, case.operation.label, failure.title)
        with self._lock:
            if key in self.hits:
                self.hits[key].count += 1
            else:
                self.hits[key] = KnownHit(
                    deviation, case.operation.label, failure.title, response.status_code
                )
        return False

    def install(self, schema) -> None:
        if not self.deviations:
            return

        # A plain function: schemathesis attaches attributes to hook functions.
        def filter_failure(context, failure, case, response) -> bool:
            return self.keep(context, failure, case, response)

        schema.hook(filter_failure)
