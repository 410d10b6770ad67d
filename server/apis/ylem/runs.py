"""Pipelines and their runs in the store, and the executed task runs read back by time window.

Stored: pipelines (from the fixtures; no operation changes them) and runs (which pipeline a
client ran, when, and the ids its task runs got). Derived when read: every task run's outcome
(lifecycle.py) and the UUIDs (drawn from the seed and the numbers). Three ordered indexes, scored
by when things happened, serve every time-window read without a scan (a `Window`: its members
and the stored text of their runs, by which whatever is read from it is kept, Runs.kept):
- `ylem.task_runs.by_task:<task uuid>` and `ylem.task_runs.by_pipeline:<pipeline uuid>`: task
  runs by `executed_at`; a member is `run number * MAX_TASKS + position`;
- `ylem.runs.by_pipeline:<pipeline uuid>`: runs by the time they end; a member is the run number.
A task that never executes (after a failure) is in no index.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import TypeVar

from apitwin.apis.ylem import lifecycle
from apitwin.core.draws import uuid_for
from apitwin.core.errors import NotFound
from apitwin.core.memo import remember

PIPELINES = "ylem.pipelines"
RUNS = "ylem.runs"
TASK_RUN_IDS = "ylem.task_runs"
MAX_TASKS = 64  # tasks per pipeline; keeps task run index members plain integers

T = TypeVar("T")
_KEPT = 1 << 14  # entries each memo below keeps at most (then it starts afresh)

# Ended runs by the stored text of the run and of its pipeline, and the seed: what a run did is
# a pure function of the three, and every statistics read goes over all runs of its window.
_ENDED: dict[tuple, PipelineRun] = {}
# Runs and pipelines decoded, by their stored text (a pure function of it): shared, so never
# changed.
_DECODED: dict[bytes, dict] = {}
# What is derived from a window (statistics, a log), by what it is a function of: the deriver's
# terms and the window's key; kept with the stored texts of the window's runs' pipelines, which
# a read compares with the store's before it takes the value (Runs.kept).
_DERIVED: dict[tuple, tuple[list[str], list[bytes], object]] = {}
_DERIVED_KEPT = 1024  # a key holds a window's texts: fewer entries


def _decoded(text: bytes) -> dict:
    run = _DECODED.get(text)
    return run if run is not None else remember(_DECODED, text, json.loads(text), _KEPT)


def task_index(task_uuid: str) -> str:
    return f"ylem.task_runs.by_task:{task_uuid}"


def pipeline_task_index(pipeline_uuid: str) -> str:
    return f"ylem.task_runs.by_pipeline:{pipeline_uuid}"


def pipeline_run_index(pipeline_uuid: str) -> str:
    return f"ylem.runs.by_pipeline:{pipeline_uuid}"


@dataclasses.dataclass(frozen=True)
class TaskRun:
    """One task's run as read at some instant."""

    id: int
    uuid: str
    run_uuid: str
    task_uuid: str
    task_type: str
    outcome: lifecycle.TaskOutcome | None  # None while pending
    output: str | None = None  # base64, for executed rows read with their output
    metric_value: float = 0


@dataclasses.dataclass(frozen=True)
class PipelineRun:
    """A run that has ended."""

    ended_at: int
    is_successful: bool
    duration: int


@dataclasses.dataclass(frozen=True)
class Window:
    """The members of an index within a time window, newest first, and the stored text of each
    run they belong to. With the stored texts of those runs' pipelines and the seed, that is all
    a read of the window is a function of: `key` holds all of it but the pipelines (Runs.kept
    checks those), so a new run, or a clock move that lets one more in, is another key."""

    kind: str  # "task": members are run number * MAX_TASKS + position; "run": run numbers
    members: tuple[int, ...]
    texts: tuple[bytes, ...]  # the runs', in the order they first appear among the members
    seed: int

    @property
    def key(self) -> tuple:
        return (self.kind, self.seed, self.members, self.texts)

    def runs(self) -> dict[int, dict]:
        """The window's runs by number (decoded once per text: shared, never to change)."""
        return {run["number"]: run for run in map(_decoded, self.texts)}


class Runs:
    def __init__(self, world) -> None:
        self.world = world
        self.store = world.store
        self.seed = world.seed
        # Per call: pipelines and run outcomes already read.
        self._pipelines: dict[str, tuple[bytes, dict]] = {}
        self._steps: dict[int, list[lifecycle.TaskOutcome]] = {}

    # pipelines
    def add_pipeline(self, uuid: str, name: str, tasks: list[dict]) -> dict:
        """A pipeline with its tasks ({uuid, type, name}), in the order they run."""
        if not 0 < len(tasks) <= MAX_TASKS:
            raise ValueError(f"a pipeline has 1 to {MAX_TASKS} tasks")
        pipeline = {"uuid": uuid, "name": name, "tasks": tasks}
        self.store.put(PIPELINES, uuid, pipeline)
        self.store.index_add(PIPELINES, uuid, self.store.next_id(PIPELINES))
        return pipeline

    def pipeline(self, uuid: str) -> dict:
        """The pipeline's document: shared with other readers, never to change."""
        return self._pipeline(uuid)[1]

    def _pipeline(self, uuid: str) -> tuple[bytes, dict]:
        """The pipeline's stored text and document, read once per call (and decoded once per
        text: a run reads its pipeline on every request)."""
        uuid = uuid.lower()
        found = self._pipelines.get(uuid)
        if found is None:
            texts = self.store.get_many_raw(PIPELINES, [uuid])
            if not texts:
                raise NotFound(f"Pipeline {uuid} not found")
            found = self._pipelines[uuid] = (texts[0], _decoded(texts[0]))
        return found

    def pipelines(self) -> list[dict]:
        return self.store.get_many(PIPELINES, self.store.index_page(PIPELINES, 0, None))

    # runs
    def start(self, pipeline_uuid: str, at: float) -> dict:
        """Starts a run of every task of the pipeline at `at`; NotFound for an unknown one."""
        pipeline = self.pipeline(pipeline_uuid)
        run = {
            "number": self.store.next_id(RUNS),
            "pipeline_uuid": pipeline["uuid"],
            "created_at": at,
            "task_run_ids": [self.store.next_id(TASK_RUN_IDS) for _ in pipeline["tasks"]],
        }
        self.store.put(RUNS, run["number"], run)
        # The outcomes are a pure function of the run, so the indexes can hold them from now.
        steps = self._outcomes(run)
        for step in steps:
            member = run["number"] * MAX_TASKS + step.position
            task_uuid = pipeline["tasks"][step.position]["uuid"]
            self.store.index_add(task_index(task_uuid), member, step.executed_at)
            self.store.index_add(pipeline_task_index(pipeline["uuid"]), member, step.executed_at)
        ended = lifecycle.run_ended_at(steps)
        self.store.index_add(pipeline_run_index(pipeline["uuid"]), run["number"], ended)
        return run

    def pending(self, run: dict) -> list[TaskRun]:
        """The run's task runs as they are when it starts."""
        tasks = self.pipeline(run["pipeline_uuid"])["tasks"]
        run_uuid = uuid_for(self.seed, "ylem.run", run["number"])
        return [self._task_run(run, position, run_uuid=run_uuid) for position in range(len(tasks))]

    def _task_run(
        self, run: dict, position: int, outcome=None, printed=(None, 0), run_uuid=None
    ) -> TaskRun:
        task = self.pipeline(run["pipeline_uuid"])["tasks"][position]
        return TaskRun(
            id=run["task_run_ids"][position],
            uuid=uuid_for(self.seed, "ylem.task_run", run["task_run_ids"][position]),
            run_uuid=run_uuid or uuid_for(self.seed, "ylem.run", run["number"]),
            task_uuid=task["uuid"],
            task_type=task["type"],
            outcome=outcome,
            output=printed[0],
            metric_value=printed[1],
        )

    def _outcomes(self, run: dict) -> list[lifecycle.TaskOutcome]:
        steps = self._steps.get(run["number"])
        if steps is None:
            types = [task["type"] for task in self.pipeline(run["pipeline_uuid"])["tasks"]]
            steps = self._steps[run["number"]] = lifecycle.outcomes(run, types, self.seed)
        return steps

    # windows: the members of an index within [low, high] (both ends inclusive), newest first
    def window(
        self, kind: str, index: str, low: float, high: float, limit: int | None = None
    ) -> Window:
        members = tuple(self.store.index_range(index, low, high, limit=limit, descending=True))
        if kind == "task":
            numbers = list(dict.fromkeys(member // MAX_TASKS for member in members))
        else:
            numbers = list(members)
        return Window(kind, members, tuple(self.store.get_many_raw(RUNS, numbers)), self.seed)

    def kept(self, window: Window, terms: tuple, derive: Callable[[], T]) -> T:
        """`derive()`, a pure function of the window and `terms`, computed once and kept: by the
        window's key and `terms`, with the stored texts of the pipelines of its runs, which must
        still be the store's for the kept value to be taken."""
        key = (terms, window.key)
        found = _DERIVED.get(key)
        if found is not None:
            uuids, texts, value = found
            if not uuids or self.store.get_many_raw(PIPELINES, uuids) == texts:
                return value
        # The pipelines are read before anything is derived from them: what is kept is never
        # newer than the texts it is kept with.
        uuids = sorted({run["pipeline_uuid"] for run in window.runs().values()})
        texts = [self._pipeline(uuid)[0] for uuid in uuids]
        return remember(_DERIVED, key, (uuids, texts, derive()), _DERIVED_KEPT)[2]

    def task_outcomes(self, window: Window) -> list[lifecycle.TaskOutcome]:
        """Outcomes of the executed task runs of a task window, newest first."""
        runs = window.runs()
        return [
            self._outcomes(runs[member // MAX_TASKS])[member % MAX_TASKS]
            for member in window.members
        ]

    def task_runs(self, window: Window) -> list[TaskRun]:
        """The executed task runs of a task window with their output, newest first."""
        runs = window.runs()
        rows = []
        for member in window.members:
            run, position = runs[member // MAX_TASKS], member % MAX_TASKS
            outcome = self._outcomes(run)[position]
            printed = lifecycle.printed(outcome, self.seed)
            rows.append(self._task_run(run, position, outcome, printed))
        return rows

    def ended_runs(self, window: Window) -> list[PipelineRun]:
        """The runs of a run window, newest first, with what they did."""
        by_number = {_decoded(text)["number"]: text for text in window.texts}
        result = []
        for member in window.members:
            text = by_number.get(member)
            if text is None:
                continue  # an index entry without its run (an imported state): not counted
            run = _decoded(text)
            key = (text, self._pipeline(run["pipeline_uuid"])[0], self.seed)
            ended = _ENDED.get(key)
            if ended is None:
                ended = remember(_ENDED, key, self._ended(run), _KEPT)
            result.append(ended)
        return result

    def pipeline_runs(
        self, pipeline_uuid: str, low: float, high: float, limit: int | None = None
    ) -> list[PipelineRun]:
        """Runs of the pipeline that ended within [low, high], newest first."""
        index = pipeline_run_index(pipeline_uuid)
        return self.ended_runs(self.window("run", index, low, high, limit))

    def _ended(self, run: dict) -> PipelineRun:
        steps = self._outcomes(run)
        return PipelineRun(
            ended_at=lifecycle.run_ended_at(steps),
            is_successful=lifecycle.run_succeeded(steps),
            duration=lifecycle.run_duration(steps),
        )
