"""Live progress on a terminal; one line per finished phase everywhere else (CI logs)."""

from __future__ import annotations

import sys
import time

from rich.console import Console
from rich.live import Live
from rich.text import Text
from schemathesis.engine import Status, events

from .results import NO_LINKS, TEST_PHASES

MARKS = {"success": "ok", "failure": "FAILED", "error": "ERROR", "skip": "skipped"}


class Progress:
    def __init__(self, stream=None, live: bool | None = None) -> None:
        self.console = Console(file=stream or sys.stderr, highlight=False, soft_wrap=True)
        self.live_enabled = self.console.is_terminal if live is None else live
        self._live: Live | None = None
        self._reset(None)

    def _reset(self, phase: str | None) -> None:
        self.phase = phase
        self.started = time.monotonic()
        self.operations: set[str] = set()
        self.cases = 0
        self.failures = 0
        self.note = ""

    def _line(self) -> Text:
        return Text(
            f"  {self.phase:<9} {len(self.operations):>3} operations  {self.cases:>5} cases"
            f"  {self.failures} failing  {time.monotonic() - self.started:5.1f} s",
        )

    def on_event(self, event) -> None:
        if isinstance(event, events.PhaseStarted) and event.phase.name in TEST_PHASES:
            self._reset(TEST_PHASES[event.phase.name])
            if self.live_enabled and event.phase.is_enabled:
                self._live = Live(self._line(), console=self.console, transient=True)
                self._live.start()
        elif isinstance(event, events.ScenarioFinished) and event.phase in TEST_PHASES:
            if event.status != Status.SKIP:
                self.operations.update(
                    c.value.operation.label for c in event.recorder.cases.values()
                )
                self.cases += len(event.recorder.cases)
                self.failures += len(event.recorder.failing_case_ids())
            if self._live is not None:
                self._live.update(self._line())
        elif isinstance(event, events.NonFatalError) and event.info.title == NO_LINKS:
            self.note = "skipped: no links among the selected operations"
        elif isinstance(event, events.PhaseFinished) and event.phase.name in TEST_PHASES:
            self._stop_live()
            if not event.phase.is_enabled:
                return
            line = self._line()
            line.append(f"  {self.note or MARKS.get(event.status.value, event.status.value)}")
            self.console.print(line)
        elif isinstance(event, events.EngineFinished):
            self._stop_live()

    def _stop_live(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None
