"""The rules of the Ylem twin: tokens, runs, the run log and the statistics (decisions Y26-Y30).

Statistics are computed from the stored runs as read at the virtual clock's `now`, so they always
agree with the log: a task's statistics count its executed task runs; a pipeline's count its
runs that have ended, each placed at the instant it ended, successful when none of its tasks
failed, lasting the sum of its task runs' durations.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from apitwin.apis.ylem import calendar
from apitwin.apis.ylem.lifecycle import TaskOutcome
from apitwin.apis.ylem.runs import (
    PipelineRun,
    Runs,
    TaskRun,
    Window,
    pipeline_run_index,
    pipeline_task_index,
    task_index,
)
from apitwin.apis.ylem.tokens import IssuedToken, Tokens
from apitwin.core.errors import BadRequest

_ALL_BEFORE = float("-inf")


@dataclasses.dataclass(frozen=True)
class LastRun:
    executed_at: int | None  # None: no run (the API shows the zero date)
    is_successful: bool
    duration: int


NEVER = LastRun(executed_at=None, is_successful=False, duration=0)


@dataclasses.dataclass(frozen=True)
class Stats:
    successes: int
    failures: int
    average_duration: int
    last: LastRun


@dataclasses.dataclass(frozen=True)
class PeriodStats:
    start: int
    end: int
    successes: int
    failures: int
    average_duration: int


# What every statistic is made of: when a run (or task run) ended, whether it succeeded, its ms.
Fact = tuple[int, bool, int]


def _task_facts(steps: Iterable[TaskOutcome]) -> list[Fact]:
    return [(step.executed_at, step.is_successful, step.duration) for step in steps]


def _run_facts(runs: Iterable[PipelineRun]) -> list[Fact]:
    return [(run.ended_at, run.is_successful, run.duration) for run in runs]


def _last(facts: list[Fact]) -> LastRun:
    if not facts:
        return NEVER
    at, ok, duration = facts[0]  # newest first
    return LastRun(executed_at=at, is_successful=ok, duration=duration)


def _counts(facts: list[Fact]) -> tuple[int, int, int]:
    successes = sum(1 for _, ok, _ in facts if ok)
    average = sum(duration for _, _, duration in facts) // len(facts) if facts else 0
    return successes, len(facts) - successes, average


class YlemState:
    def __init__(self, world) -> None:
        self.world = world
        self.runs = Runs(world)
        self.tokens = Tokens(world)

    # tokens
    def issue_token(
        self, client_id: str, client_secret: str, grant_type: str, scope: str | None
    ) -> IssuedToken:
        return self.tokens.issue(client_id, client_secret, grant_type, scope)

    def token_info(self, access_token: str) -> dict | None:
        return self.tokens.info(access_token)

    # pipelines and runs
    def add_pipeline(self, uuid: str, name: str, tasks: list[dict]) -> dict:
        return self.runs.add_pipeline(uuid, name, tasks)

    def pipelines(self) -> list[dict]:
        return self.runs.pipelines()

    def start_run(self, pipeline_uuid: str) -> list[TaskRun]:
        """A run starting now: one pending task run per task; NotFound for an unknown pipeline."""
        return self.runs.pending(self.runs.start(pipeline_uuid, self.world.clock.now()))

    def record_run(self, pipeline_uuid: str, at: float) -> None:
        """A run started at `at`, under the same rules (the seeded history)."""
        self.runs.start(pipeline_uuid, at)

    # the window of a request, capped at now: nothing after now has happened yet
    def _window(self, date_time_from: str, date_time_to: str) -> tuple[int, float]:
        bounds, errors = [], []
        for text in (date_time_from, date_time_to):
            try:
                bounds.append(calendar.parse_plain(text))
            except calendar.DateError as exc:
                errors.append(str(exc))
        if errors:
            raise BadRequest(errors[0], errors=errors)
        return bounds[0], min(bounds[1], self.world.clock.now())

    # windows: the task runs of a task, or the ended runs of a pipeline, in [low, high]
    def _task_window(self, task_uuid: str, low: float, high: float, limit=None) -> Window:
        return self.runs.window("task", task_index(task_uuid.lower()), low, high, limit)

    def _run_window(self, pipeline_uuid: str, low: float, high: float, limit=None) -> Window:
        return self.runs.window("run", pipeline_run_index(pipeline_uuid.lower()), low, high, limit)

    def _facts(self, window: Window) -> list[Fact]:
        if window.kind == "task":
            return _task_facts(self.runs.task_outcomes(window))
        return _run_facts(self.runs.ended_runs(window))

    # the run log
    def pipeline_logs(self, pipeline_uuid: str, date_time_from: str, date_time_to: str):
        """Executed task runs of the pipeline in the window, newest first ([] if unknown): kept
        per window (Runs.kept), so shared, never to change."""
        low, high = self._window(date_time_from, date_time_to)
        index = pipeline_task_index(pipeline_uuid.lower())
        window = self.runs.window("task", index, low, high)
        return self.runs.kept(window, ("log",), lambda: tuple(self.runs.task_runs(window)))

    # consolidated statistics: the window's runs; the last run is the newest up to its end
    def _stats(self, window_of, uuid: str, date_time_from: str, date_time_to: str) -> Stats:
        low, high = self._window(date_time_from, date_time_to)
        window = window_of(uuid, low, high)
        counts = self.runs.kept(window, ("counts",), lambda: _counts(self._facts(window)))
        return Stats(*counts, self._last(window_of(uuid, _ALL_BEFORE, high, 1)))

    def _last(self, window: Window) -> LastRun:
        return _last(self._facts(window))

    def task_stats(self, task_uuid: str, date_time_from: str, date_time_to: str) -> Stats:
        return self._stats(self._task_window, task_uuid, date_time_from, date_time_to)

    def pipeline_stats(self, pipeline_uuid: str, date_time_from: str, date_time_to: str) -> Stats:
        return self._stats(self._run_window, pipeline_uuid, date_time_from, date_time_to)

    # statistics per calendar period
    def _aggregated(
        self, window_of, uuid: str, date_from: str, period: str, count: int
    ) -> tuple[PeriodStats, ...]:
        try:
            first_day = calendar.parse_day(date_from)
        except calendar.DateError as exc:
            raise BadRequest(str(exc), errors=[str(exc)]) from None
        low = calendar.instant(first_day)
        high = calendar.instant(calendar.add_periods(period, first_day, count)) - 1
        window = window_of(uuid, low, min(high, self.world.clock.now()))
        terms = ("aggregated", period, first_day, count)
        return self.runs.kept(window, terms, lambda: self._periods(period, window))

    def _periods(self, period: str, window: Window) -> tuple[PeriodStats, ...]:
        # Per period: [facts, successes, sum of durations] (what _counts makes of its facts).
        totals: dict[calendar.Date, list] = {}
        day, bucket = None, None
        for at, ok, duration in self._facts(window):
            if int(at // calendar.DAY) != day:  # newest first: a day's facts come together
                day = int(at // calendar.DAY)
                bucket = totals.setdefault(calendar.period_start(period, at), [0, 0, 0])
            bucket[0] += 1
            bucket[1] += 1 if ok else 0
            bucket[2] += duration
        result = []
        for start in sorted(totals):
            facts, successes, durations = totals[start]
            end = calendar.period_end(period, start)
            result.append(
                PeriodStats(
                    calendar.instant(start), end, successes, facts - successes, durations // facts
                )
            )
        return tuple(result)

    def task_aggregated(self, task_uuid: str, date_from: str, period: str, count: int):
        return self._aggregated(self._task_window, task_uuid, date_from, period, count)

    def pipeline_aggregated(self, pipeline_uuid: str, date_from: str, period: str, count: int):
        return self._aggregated(self._run_window, pipeline_uuid, date_from, period, count)

    # the newest run up to now
    def task_last_run(self, task_uuid: str) -> LastRun:
        return self._last(self._task_window(task_uuid, _ALL_BEFORE, self.world.clock.now(), 1))

    def pipeline_last_run(self, pipeline_uuid: str) -> LastRun:
        return self._last(self._run_window(pipeline_uuid, _ALL_BEFORE, self.world.clock.now(), 1))
