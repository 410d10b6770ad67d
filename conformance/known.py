"""Known deviations: differences between a deployment and its spec that a team has accepted.

A deviation is listed in a YAML file (default `conformance/known_deviations.yaml`) as
(api, operation, check, reason), optionally narrowed by the response's `status`, a `message`
pattern (searched in the failure's title and message) and a `request` pattern (searched in
"METHOD /path?query", then the body on the next line), so an entry covers one observed
difference and nothing else. A failure that matches one is dropped from schemathesis' verdict
through its `filter_failure` hook, so it neither fails the run nor stops the search for other
failures on that operation, and it is kept here so every report shows it as "known".
"""

from __future__ import annotations

import dataclasses
import pathlib
import re
import threading
import urllib.parse
from importlib import resources

import yaml

DEFAULT_FILE = pathlib.Path(str(resources.files(__package__) / "known_deviations.yaml"))
FIELDS = ("api", "operation", "check", "reason")
NARROWING = ("status", "message", "request")


class DeviationFileError(ValueError):
    pass


@dataclasses.dataclass(frozen=True)
class Deviation:
    api: str
    operation: str  # operationId, or the label "METHOD /path" as reports print it
    check: str
    reason: str
    status: int | None = None  # the response's status code
    message: str | None = None  # regex searched in the failure's title and message
    request: str | None = None  # regex searched in "METHOD /path?query" + "\n" + body

    def matches(self, api: str, operation_id: str | None, label: str, checks) -> bool:
        return (
            self.api == api
            and self.operation in (operation_id, label, "*")
            and self.check in checks
        )

    def fits(self, failure, response) -> bool:
        """Whether the failure and its response meet the optional narrowing fields."""
        if self.status is None and not self.message and not self.request:
            return True
        if response is None:
            return False
        if self.status is not None and response.status_code != self.status:
            return False
        if self.message and not re.search(self.message, f"{failure.title}\n{failure.message}"):
            return False
        return not self.request or bool(re.search(self.request, request_line(response.request)))


def request_line(request) -> str:
    """What `request` patterns see: `METHOD /path?query`, then the body (if any) on a new line."""
    url = urllib.parse.urlsplit(request.url)
    line = f"{request.method} {url.path}" + (f"?{url.query}" if url.query else "")
    body = request.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    return f"{line}\n{body}" if body else line


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
        deviations.append(_deviation(path, number, entry))
    return deviations


def _deviation(path, number: int, entry: dict) -> Deviation:
    # A misspelt narrowing field would silently widen the entry: refuse unknown keys.
    unknown = sorted(set(entry) - set(FIELDS) - set(NARROWING))
    if unknown:
        raise DeviationFileError(f"{path}: deviation {number} has unknown field(s) {unknown}")
    fields = {key: str(entry[key]) for key in FIELDS}
    status = entry.get("status")
    if status is not None:
        if not isinstance(status, int) or not 100 <= status <= 599:
            raise DeviationFileError(f"{path}: deviation {number}: status must be an HTTP status")
        fields["status"] = status
    for key in ("message", "request"):
        if entry.get(key) is not None:
            try:
                re.compile(str(entry[key]))
            except re.error as exc:
                raise DeviationFileError(f"{path}: deviation {number}: bad {key}: {exc}") from None
            fields[key] = str(entry[key])
    return Deviation(**fields)


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
        return self.match_operation(operation.label, operation_id, failure, response)

    def match_operation(self, label: str, operation_id, failure, response) -> Deviation | None:
        """The deviation covering a failure of the operation `label`; `apitwin proxy` calls it
        for requests the spec has no operation for too (`operation_id` None)."""
        checks = type(failure).checks
        for deviation in self.deviations:
            if deviation.matches(self.api, operation_id, label, checks) and deviation.fits(
                failure, response
            ):
                return deviation
        return None

    def keep(self, context, failure, case, response) -> bool:
        """schemathesis `filter_failure` hook: False drops the failure as known."""
        operation = case.operation
        operation_id = operation.definition.raw.get("operationId")
        return self.record(operation.label, operation_id, failure, response) is None

    def record(self, label: str, operation_id, failure, response) -> Deviation | None:
        """The deviation that covers the failure, its hit recorded; None: not a known one."""
        deviation = self.match_operation(label, operation_id, failure, response)
        if deviation is None:
            return None
        key = (deviation, label, failure.title)
        with self._lock:
            if key in self.hits:
                self.hits[key].count += 1
            else:
                self.hits[key] = KnownHit(deviation, label, failure.title, response.status_code)
        return deviation

    def install(self, schema) -> None:
        if not self.deviations:
            return

        # A plain function: schemathesis attaches attributes to hook functions.
        def filter_failure(context, failure, case, response) -> bool:
            return self.keep(context, failure, case, response)

        schema.hook(filter_failure)
