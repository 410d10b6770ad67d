"""Pipelines and their runs in the store, and the executed task runs read back by time window.

Stored: pipelines (from the fixtures; no operation changes them) and runs (which pipeline a
client ran, when, and the ids its task runs got). Derived when read: every task run's outcome
(lifecycle.py) and the UUIDs (drawn from the seed and the numbers). Three ordered indexes, scored
by when things happened, serve every time-window read without a scan:
- `ylem.task_runs.by_task:<task uuid>` and `ylem.task_runs.by_pipeline:<pipeline uuid>`: task
  runs by `executed_at`; a member is `run number * MAX_TASKS + position`;
- `ylem.runs.by_pipeline:<pipeline uuid>`: runs by the time they end; a member is the run number.
A task that never executes (after a failure) is in no index.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable

from apitwin.apis.ylem import lifecycle
from apitwin.core.draws import uuid_for
from apitwin.core.errors import NotFound

PIPELINES = "ylem.pipelines"
RUNS = "ylem.runs"
TASK_RUN_IDS = "ylem.task_runs"
MAX_TASKS = 64  # tasks per pipeline; keeps task run index members plain integers

# Ended runs by the stored text of the run and of its pipeline, and the seed: what a run did is
# a pure function of the three, and every statistics read goes over all runs of its window.
_ENDED: dict[tuple, PipelineRun] = {}
_ENDED_LIMIT = 1 << 14  # ~10 MB at most


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


class Runs:
    def __init__(self, world) -> None:
        self.world = world
        self.store = world.store
        self.seed = world.seed
        # Per call: pipelines and run outcomes already read.
        self._pipelines: dict[str, dict] = {}
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
        uuid = uuid.lower()
        if uuid not in self._pipelines:
            pipeline = self.store.get(PIPELINES, uuid)
            if pipeline is None:
                raise NotFound(f"Pipeline {uuid} not found")
            self._pipelines[uuid] = pipeline
        return self._pipelines[uuid]

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
        return [self._task_run(run, position) for position in range(len(tasks))]

    def _task_run(self, run: dict, position: int, outcome=None, printed=(None, 0)) -> TaskRun:
        task = self.pipeline(run["pipeline_uuid"])["tasks"][position]
        return TaskRun(
            id=run["task_run_ids"][position],
            uuid=uuid_for(self.seed, "ylem.task_run", run["task_run_ids"][position]),
            run_uuid=uuid_for(self.seed, "ylem.run", run["number"]),
            task_uuid=task["uuid"],
            task_type=task["type"],
            outcome=outcome,
            output=printed[0],
            metric_value=printed[1],
        )

    def _load(self, numbers: Iterable[int]) -> dict[int, dict]:
        wanted = sorted(set(numbers))
        return {run["number"]: run for run in self.store.get_many(RUNS, wanted)}

    def _outcomes(self, run: dict) -> list[lifecycle.TaskOutcome]:
        steps = self._steps.get(run["number"])
        if steps is None:
            types = [task["type"] for task in self.pipeline(run["pipeline_uuid"])["tasks"]]
            steps = self._steps[run["number"]] = lifecycle.outcomes(run, types, self.seed)
        return steps

    # reads: executed task runs and ended runs, by window (both ends inclusive)
    def task_outcomes(
        self, index: str, low: float, high: float, limit: int | None = None
    ) -> list[lifecycle.TaskOutcome]:
        """Outcomes of the executed task runs of an index within [low, high], newest first."""
        members = self.store.index_range(index, low, high, limit=limit, descending=True)
        runs = self._load(member // MAX_TASKS for member in members)
        return [self._outcomes(runs[member // MAX_TASKS])[member % MAX_TASKS] for member in members]

    def task_runs(self, index: str, low: float, high: float) -> list[TaskRun]:
        """The executed task runs of an index within [low, high] with their output, newest first."""
        members = self.store.index_range(index, low, high, descending=True)
        runs = self._load(member // MAX_TASKS for member in members)
        rows = []
        for member in members:
            run, position = runs[member // MAX_TASKS], member % MAX_TASKS
            outcome = self._outcomes(run)[position]
            printed = lifecycle.printed(outcome, self.seed)
            rows.append(self._task_run(run, position, outcome, printed))
        return rows

    def pipeline_runs(
        self, pipeline_uuid: str, low: float, high: float, limit: int | None = None
    ) -> list[PipelineRun]:
        """Runs of the pipeline that ended within [low, high], newest first."""
        index = pipeline_run_index(pipeline_uuid)
        numbers = self.store.index_range(index, low, high, limit=limit, descending=True)
        pipeline = self.store.get_many_raw(PIPELINES, [pipeline_uuid])
        if not numbers or not pipeline:
            runs = self._load(numbers)
            return [self._ended(runs[number]) for number in numbers]
        result = []
        for text in self.store.get_many_raw(RUNS, numbers):
            key = (text, pipeline[0], self.seed)
            ended = _ENDED.get(key)
            if ended is None:
                if len(_ENDED) >= _ENDED_LIMIT:
                    _ENDED.clear()
                ended = _ENDED[key] = self._ended(json.loads(text))
            result.append(ended)
        return result

    def _ended(self, run: dict) -> PipelineRun:
        steps = self._outcomes(run)
        return PipelineRun(
            ended_at=lifecycle.run_ended_at(steps),
            is_successful=lifecycle.run_succeeded(steps),
            duration=lifecycle.run_duration(steps),
        )
