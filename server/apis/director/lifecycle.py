"""Where a workflow instance and its tasks are at any instant: a pure function of the stored
record, the clock and the seed.

The store keeps only what happened from outside (created, canceled, the worker lost); the run
itself is drawn from the seed and the instance id, then read at `now`. It follows Director on
Celery: the workflow's `start` task opens it (`progress`) a moment after it was queued; each task
starts once every task it waits for succeeded; a failed task marks the workflow `error` at once,
the tasks waiting on it never start (they stay `pending`) while tasks already running in parallel
finish; when every task succeeded the `end` task closes the workflow (`success`). A cancel turns
the pending and running tasks and the workflow `canceled`; a lost worker freezes the run.
"""

from __future__ import annotations

import dataclasses

from apitwin.core.draws import rng
from apitwin.core.memo import remember

QUEUE_DELAY = (1, 3)  # seconds before a worker runs the workflow's `start` task
TASK_DISPATCH = 1  # seconds from the tasks a task waits for to its start
TASK_DURATION = (2, 20)  # seconds a task runs
END_DELAY = 1  # Director's `end` task sleeps 0.5 s before it closes the workflow
FAILURE_RATE = 0.1  # chance that a task raises
FAILURES = (
    "ConnectionError: connection to the source timed out",
    "ValueError: unexpected value in the payload",
    "KeyError: 'id'",
    "PermissionError: access denied by the remote store",
    "RuntimeError: upstream service answered 503",
)

PENDING, PROGRESS, SUCCESS, ERROR, CANCELED = "pending", "progress", "success", "error", "canceled"
ACTIVE = (PENDING, PROGRESS)


@dataclasses.dataclass(frozen=True)
class TaskRun:
    starts: float | None  # None: never starts (something it waits for failed)
    ends: float | None
    fails: bool
    failure: str


@dataclasses.dataclass(frozen=True)
class TaskState:
    status: str
    updated: float
    result: object


@dataclasses.dataclass(frozen=True)
class InstanceState:
    status: str
    updated: float
    tasks: list[TaskState]


# Plans drawn, by what a plan is drawn from (a list reads every instance of a page at each call).
_PLANS: dict[tuple, tuple[float, tuple[TaskRun, ...]]] = {}
_PLANS_KEPT = 8192


def _plan(record: dict, seed: int) -> tuple[float, tuple[TaskRun, ...]]:
    """When the workflow opens and when each task starts and ends, as drawn for this instance:
    a pure function of the seed, the instance's id and creation time and its tasks' ids and
    order, kept once drawn."""
    shape = tuple((task["id"], tuple(task["previous"])) for task in record["tasks"])
    key = (seed, record["id"], record["created"], shape)
    plan = _PLANS.get(key)
    if plan is None:
        plan = remember(_PLANS, key, _draw_plan(record, seed), _PLANS_KEPT)
    return plan


def _draw_plan(record: dict, seed: int) -> tuple[float, tuple[TaskRun, ...]]:
    draw = rng(seed, "director.run", record["id"])
    opens = record["created"] + draw.randint(*QUEUE_DELAY)
    index_of = {task["id"]: n for n, task in enumerate(record["tasks"])}
    runs: list[TaskRun] = []
    for task in record["tasks"]:
        # Every task draws the same values whatever happens to the others: a stable sequence.
        duration = draw.randint(*TASK_DURATION)
        fails = draw.random() < FAILURE_RATE
        failure = FAILURES[draw.randrange(len(FAILURES))]
        waits_for = [runs[index_of[prev]] for prev in task["previous"]]
        if any(run.ends is None or run.fails for run in waits_for):
            runs.append(TaskRun(None, None, fails, failure))
            continue
        ready = max((run.ends for run in waits_for), default=opens)
        starts = ready + TASK_DISPATCH
        runs.append(TaskRun(starts, starts + duration, fails, failure))
    return opens, tuple(runs)


def _task_at(run: TaskRun, created: float, at: float) -> TaskState:
    if run.starts is None or at < run.starts:
        return TaskState(PENDING, created, None)
    if at < run.ends:
        return TaskState(PROGRESS, run.starts, None)
    if run.fails:
        traceback = f"Traceback (most recent call last):\n  ...\n{run.failure}\n"
        return TaskState(ERROR, run.ends, {"exception": run.failure, "traceback": traceback})
    return TaskState(SUCCESS, run.ends, None)


def _run_at(record: dict, opens: float, runs: tuple[TaskRun, ...], at: float) -> InstanceState:
    created = record["created"]
    halted = record.get("halted")
    if halted is not None:
        at = min(at, halted)  # no worker left to move anything after that
    tasks = [_task_at(run, created, at) for run in runs]
    failed = [run.ends for run in runs if run.fails and run.ends is not None]
    if at < opens:
        return InstanceState(PENDING, created, tasks)
    if failed and at >= min(failed):
        return InstanceState(ERROR, min(failed), tasks)
    if not failed:
        closes = max(run.ends for run in runs) + END_DELAY
        if at >= closes:
            return InstanceState(SUCCESS, closes, tasks)
    return InstanceState(PROGRESS, opens, tasks)


def evaluate(record: dict, now: float, seed: int) -> InstanceState:
    """The instance and its tasks as a client sees them at `now`."""
    opens, runs = _plan(record, seed)
    canceled = record.get("canceled")
    if canceled is None or now < canceled:
        return _run_at(record, opens, runs, now)
    before = _run_at(record, opens, runs, canceled)
    if before.status not in ACTIVE:
        return before  # it had ended: a cancel changes nothing
    tasks = [
        TaskState(CANCELED, canceled, None) if task.status in ACTIVE else task
        for task in before.tasks
    ]
    return InstanceState(CANCELED, canceled, tasks)
