"""What `apitwin proxy` found while it ran: every exchange checked, each violation said in one
line as it happens (stderr), the JSON report and the recording kept current, and at the stop
the reports and the exit status.

Every text that leaves here went through the run's Redactor, which learns each credential a
client sends (or the API answers with) before anything about that exchange is written.
"""

from __future__ import annotations

import bisect
import json
import pathlib
import sys
import threading
import time
import urllib.parse

from . import har, report
from .credentials import Redactor
from .known import KnownDeviations
from .proxy import Seen
from .proxy_check import CHECKS, PHASE, Checker, Finding
from .proxy_files import CurrentFile, replace_text
from .results import RunResult, Violation

OK, VIOLATIONS = 0, 1
PREFIX = "apitwin proxy:"


def _preflight(exchange: har.Exchange) -> bool:
    """A browser's CORS preflight asks whether it may send a request; it is no API call."""
    return (
        exchange.method == "OPTIONS"
        and exchange.request_header("origin") is not None
        and exchange.request_header("access-control-request-method") is not None
    )


class ProxyRun:
    def __init__(
        self,
        api: str,
        upstream: str,
        checker: Checker,
        known: KnownDeviations,
        redactor: Redactor,
        *,
        record: str | None = None,
        report_path: str | None = None,
        junit: str | None = None,
        out=None,
    ) -> None:
        self.checker, self.known, self.redact = checker, known, redactor
        self.junit = junit
        self.out = out or sys.stderr
        self.result = RunResult(
            api=api,
            base_url=upstream,
            target="proxy",
            seed=None,
            settings={"upstream": upstream, "checks": list(CHECKS)},
            stop_reason="running",
        )
        self.exchanges = 0
        self._started = time.monotonic()
        self._lock = threading.Lock()  # the result, the recording's entries, known.hits
        self._seen: dict[tuple, Violation] = {}
        # The recording's entries, each serialized once, in the order the requests started:
        # an answered client may send its next request before this one is observed.
        self._entries: list[tuple[float, str]] = []
        self.report = self.recording = None
        if report_path:
            self.report = CurrentFile(pathlib.Path(report_path), self._write_report)
        if record:
            self.recording = CurrentFile(pathlib.Path(record), self._write_recording)

    def start(self) -> None:
        """Writes the first (empty) report and recording; OSError when a path is unwritable."""
        for file in filter(None, (self.report, self.recording)):
            file.start()

    # The observer the app calls, on worker threads: once per exchange, once per failure.

    def observe(self, seen: Seen) -> None:
        exchange = seen.exchange
        with self._lock:
            self.exchanges += 1
            try:
                for secret in har.secrets_of(exchange):
                    self.redact.add(secret)
                if self.recording:
                    entry = (
                        exchange.started.timestamp(),
                        json.dumps(har.entry(exchange, self.redact)),
                    )
                    bisect.insort(self._entries, entry, key=lambda kept: kept[0])
                self._check(seen)
            except Exception as exc:  # a bug here must not stop the proxying: an error instead
                where = self.redact(f"{exchange.method} {_path(seen.client_url)}")
                self.result.errors.append(self.redact(f"{where}: {exc!r}"))
                self._say(self.redact(f"ERROR checking {where}: {exc!r}"))
        for file in filter(None, (self.recording, self.report)):
            file.touch()

    def failed(
        self, method: str, client_url: str, api_path: str | None, status: int, detail: str
    ) -> None:
        """The upstream gave no answer (the client got a 502 or 504): an error of the run."""
        with self._lock:
            operation = self.checker.operation(method, api_path)
            label = operation.label if operation else f"{method} {_path(client_url)}"
            detail = self.redact(detail)
            errors = self.result.operation(label).errors
            if detail not in errors:
                errors.append(detail)
            self._say(f"ERROR {method} {self.redact(_path(client_url))} -> {status}: {detail}")
        if self.report:
            self.report.touch()

    def _check(self, seen: Seen) -> None:
        exchange = seen.exchange
        if _preflight(exchange) and self.checker.operation("OPTIONS", seen.api_path) is None:
            return
        label, operation_id, findings = self.checker.check(seen)
        operation = self.result.operation(label)
        operation.operation_id = operation_id
        operation.cases[PHASE] = operation.cases.get(PHASE, 0) + 1
        for finding in findings:
            self._found(finding, seen)

    def _found(self, finding: Finding, seen: Seen) -> None:
        violation = finding.violation
        request = self.redact(f"{seen.exchange.method} {_path(seen.client_url, query=True)}")
        where = f" at {violation.location}" if violation.location else ""
        message = (violation.message or "").strip().splitlines()
        line = (
            f"{violation.check} · {request} -> {violation.status_code} · "
            f"{violation.title}{where}" + (f": {message[0]}" if message else "")
        )
        if finding.deviation is not None:
            self._say(f"known {line} ({finding.deviation.reason.splitlines()[0][:100]})")
            return
        key = (violation.check, violation.operation, violation.title, violation.message)
        if key in self._seen:
            self._seen[key].occurrences += 1
            line += f" (seen {self._seen[key].occurrences} times)"
        else:
            self._seen[key] = violation
            self.result.operation(violation.operation).violations.append(violation)
        self._say(f"VIOLATION {line}")

    def _say(self, line: str) -> None:
        print(f"{PREFIX} {line}", file=self.out, flush=True)

    # Reports.

    def _snapshot(self) -> dict:
        with self._lock:
            for operation in self.result.operations.values():
                operation.known = []
            for hit in list(self.known.hits.values()):
                self.result.operation(hit.operation).known.append(hit)
            self.result.duration = time.monotonic() - self._started
            failed = self.result.violations or self.result.error_count
            data = report.to_json(self.result, VIOLATIONS if failed else OK)
            data["verdict"] = self.verdict()
            data["exchanges"] = self.exchanges
            data["running"] = self.result.stop_reason == "running"
            return data

    def _write_report(self) -> None:
        text = json.dumps(self._snapshot(), indent=2, ensure_ascii=False)
        replace_text(self.report.path, self.redact(text) + "\n")

    def _write_recording(self) -> None:
        with self._lock:
            entries = [text for _, text in self._entries]
        har.write_serialized(self.recording.path, entries)

    def verdict(self) -> str:
        result = self.result
        violations = len(result.violations)
        failed = sum(1 for op in result.operations.values() if op.violations)
        parts = [f"{violations} violation(s) in {failed} operation(s)"] if violations else []
        parts += [f"{result.error_count} error(s)"] if result.error_count else []
        head = "FAILED: " + ", ".join(parts) if parts else "PASSED: no violations"
        known = sum(hit.count for hit in self.known.hits.values())
        tail = [f"{known} known deviation(s)"] if known else []
        tail.append(f"{self.exchanges} exchanges in {result.duration:.1f} s")
        return f"{head} · {' · '.join(tail)}"

    def finish(self) -> int:
        """At the stop: the last reports, a summary on stdout, and the exit status."""
        with self._lock:
            self.result.stop_reason = "completed"
        data = self._snapshot()
        for file in filter(None, (self.report, self.recording)):
            file.close()
        if self.junit:
            try:
                report.write_junit(self.result, self.junit)
            except OSError as exc:
                self._say(f"ERROR cannot write {self.junit}: {exc.strerror}")
        lines = [f"{PREFIX} {self.result.api} at {self.result.base_url}: {data['verdict']}"]
        for violation in self.result.violations:
            where = f" at {violation.location}" if violation.location else ""
            lines.append(
                f"  {violation.check} · {violation.operation} · seen {violation.occurrences} "
                f"time(s) · {violation.title}{where}"
            )
        for hit in self.result.known:
            lines.append(
                f"  known: {hit.deviation.check} · {hit.operation} · {hit.count} time(s): "
                f"{hit.deviation.reason.splitlines()[0][:100]}"
            )
        print(self.redact("\n".join(lines)), flush=True)
        return data["exit_code"]


def _path(url: str, query: bool = False) -> str:
    parts = urllib.parse.urlsplit(url)
    return parts.path + (f"?{parts.query}" if query and parts.query else "")
