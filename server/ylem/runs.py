"""Pipelines and their runs in the store, and the executed task runs read back by time window.

Stored: pipelines (from the fixtures) and runs (what a client started, when). Derived when read:
every task run's outcome (lifecycle.py). Three ordered indexes, scored by when things happened,
serve every time-window read without a scan:
- `ylem.task_runs.by_task:<task uuid>` and `ylem.task_runs.by_pipeline:<pipeline uuid>`: task
  runs by `executed_at`; a member is `run number * MAX_TASKS + position`;
- `ylem.runs.by_pipeline:<pipeline uuid>`: runs by the time they end; a member is the run number.
A task that never executes (after a failure) is in no index.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from ..draws import uuid_for
from ..errors import NotFound
from . import lifecycle

PIPELINES = "ylem.pipelines"
RUNS = "ylem.runs"
TASK_RUN_IDS = "ylem.task_runs"
MAX_TASKS = 64  # tasks per pipeline; keeps task run index members plain integers


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


@dataclasses.dataclass(frozen=True)
class PipelineRun:
    """A run that has ended."""

    uuid: str
    ended_at: int
    is_successful: bool
    duration: int


class Runs:
    def __init__(self, world) -> None:
        self.world = world
        self.store = world.store
        self._steps: dict[int, list[lifecycle.TaskOutcome]] = {}  # per call, by run number

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
        pipeline = self.store.get(PIPELINES, uuid.lower())
        if pipeline is None:
            raise NotFound(f"Pipeline {uuid} not found")
        return pipeline

    def pipelines(self) -> list[dict]:
        return self.store.get_many(PIPELINES, self.store.index_page(PIPELINES, 0, None))

    # runs
    def start(self, pipeline_uuid: str, at: float) -> list[TaskRun]:
        """Starts a run of every task of the pipeline at `at`; all of them pending."""
        pipeline = self.pipeline(pipeline_uuid)
        seed = self.world.seed
        number = self.store.next_id(RUNS)
        tasks = []
        for task in pipeline["tasks"]:
            task_run_id = self.store.next_id(TASK_RUN_IDS)
            tasks.append(
                {
                    "id": task_run_id,
                    "uuid": uuid_for(seed, "ylem.task_run", task_run_id),
                    "task_uuid": task["uuid"],
                    "type": task["type"],
                }
            )
        run = {
            "number": number,
            "uuid": uuid_for(seed, "ylem.run", number),
            "pipeline_uuid": pipeline["uuid"],
            "created_at": at,
            "tasks": tasks,
        }
        self.store.put(RUNS, number, run)
        # The outcomes are a pure function of the run, so the indexes can hold them from now.
        steps = lifecycle.outcomes(run, seed)
        for step in steps:
            member = number * MAX_TASKS + step.position
            task = tasks[step.position]
            self.store.index_add(task_index(task["task_uuid"]), member, step.executed_at)
            self.store.index_add(
                pipeline_task_index(run["pipeline_uuid"]), member, step.executed_at
            )
        self.store.index_add(
            pipeline_run_index(run["pipeline_uuid"]), number, lifecycle.run_ended_at(steps)
        )
        return [self._task_run(run, position, None) for position in range(len(tasks))]

    def _task_run(self, run: dict, position: int, outcome) -> TaskRun:
        task = run["tasks"][position]
        return TaskRun(
            id=task["id"],
            uuid=task["uuid"],
            run_uuid=run["uuid"],
            task_uuid=task["task_uuid"],
            task_type=task["type"],
            outcome=outcome,
        )

    def _load(self, numbers: Iterable[int]) -> dict[int, dict]:
        wanted = sorted(set(numbers))
        return {run["number"]: run for run in self.store.get_many(RUNS, wanted)}

    def _outcomes(self, run: dict) -> list[lifecycle.TaskOutcome]:
        steps = self._steps.get(run["number"])
        if steps is None:
            steps = self._steps[run["number"]] = lifecycle.outcomes(run, self.world.seed)
        return steps

    # reads: executed task runs and ended runs, by window (both ends inclusive)
    def task_runs(
        self, index: str, low: float, high: float, limit: int | None = None
    ) -> list[TaskRun]:
        """Executed task runs of an index within [low, high], newest first."""
        members = self.store.index_range(index, low, high, limit=limit, descending=True)
        runs = self._load(member // MAX_TASKS for member in members)
        rows = []
        for member in members:
            run = runs[member // MAX_TASKS]
            position = member % MAX_TASKS
            rows.append(self._task_run(run, position, self._outcomes(run)[position]))
        return rows

    def pipeline_runs(
        self, pipeline_uuid: str, low: float, high: float, limit: int | None = None
    ) -> list[PipelineRun]:
        """Runs of the pipeline that ended within [low, high], newest first."""
        index = pipeline_run_index(pipeline_uuid)
        numbers = self.store.index_range(index, low, high, limit=limit, descending=True)
        runs = self._load(numbers)
        result = []
        for number in numbers:
            steps = self._outcomes(runs[number])
            result.append(
                PipelineRun(
                    uuid=runs[number]["uuid"],
                    ended_at=lifecycle.run_ended_at(steps),
                    is_successful=lifecycle.run_succeeded(steps),
                    duration=lifecycle.run_duration(steps),
                )
            )
        return result
