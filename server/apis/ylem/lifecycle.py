"""A pipeline run over time: a pure function of the stored run, the seed and the clock.

A run stores only what the client did: which pipeline it ran and when (with the ids its task
runs got). From that, the pipeline's tasks and the seed follow, for every task in order, when
it ran, how long it took, whether it succeeded and what it printed. A failed task stops the
run: the tasks after it stay pending for ever, as on the real server, where a failure ends the
branch. Nothing runs in the background; a read at `now` sees every task whose `executed_at` is
not after `now`. (Pipelines never change in the twin, so their tasks can be read at any time.)"""

from __future__ import annotations

import base64
import dataclasses
import functools
import math

from apitwin.apis.ylem import outputs
from apitwin.core.draws import rng

# Milliseconds a task of each type takes (low, high); per-type failure odds.
_DURATION_MS = {
    "query": (80, 2500),
    "condition": (1, 30),
    "aggregator": (5, 200),
    "transformer": (10, 400),
    "notification": (150, 1500),
    "api_call": (120, 3000),
    "for_each": (50, 2000),
    "merge": (5, 150),
    "filter": (2, 100),
    "run_pipeline": (20, 300),
    "external_trigger": (1, 50),
    "code": (20, 1500),
    "gpt": (800, 9000),
    "processor": (30, 900),
}
_FAILURE_ODDS = {"query": 0.06, "api_call": 0.08, "gpt": 0.07, "code": 0.05, "notification": 0.03}
_DEFAULT_FAILURE_ODDS = 0.02
_QUEUE_MS = (500, 3000)  # from the run request to its first task
_GAP_MS = (20, 400)  # between one task's end and the next one's start


@dataclasses.dataclass(frozen=True)
class TaskOutcome:
    position: int
    task_run_id: int
    task_type: str
    # When the task finished, rounded up to whole seconds: the statistics store keeps seconds,
    # so a row shown as 12:00:05 is inside a window that ends at 12:00:05, and rounding up never
    # shows a task as executed before it has finished.
    executed_at: int
    duration: int  # milliseconds
    is_successful: bool


def outcomes(run: dict, task_types: list[str], seed: int) -> list[TaskOutcome]:
    """What each task of the run does, up to and including the first failure.

    `run` holds `number`, `created_at` and `task_run_ids`; `task_types` are its tasks' types.
    """
    key = (run["number"], run["created_at"], tuple(run["task_run_ids"]), tuple(task_types))
    return list(_drawn(*key, seed))


# Statistics read every run of a window on each request; the draws are pure, so drawn once.
@functools.lru_cache(maxsize=1 << 14)
def _drawn(number, created_at, task_run_ids, task_types, seed) -> tuple[TaskOutcome, ...]:
    at_ms = created_at * 1000 + rng(seed, "ylem.run", number).randint(*_QUEUE_MS)
    result = []
    for position, (task_run_id, task_type) in enumerate(zip(task_run_ids, task_types, strict=True)):
        draw = rng(seed, "ylem.task_run", task_run_id)
        duration = draw.randint(*_DURATION_MS[task_type])
        failed = draw.random() < _FAILURE_ODDS.get(task_type, _DEFAULT_FAILURE_ODDS)
        at_ms += duration
        result.append(
            TaskOutcome(
                position=position,
                task_run_id=task_run_id,
                task_type=task_type,
                executed_at=math.ceil(at_ms / 1000),
                duration=duration,
                is_successful=not failed,
            )
        )
        if failed:
            break
        at_ms += draw.randint(*_GAP_MS)
    return tuple(result)


@functools.lru_cache(maxsize=1 << 12)  # a log shows the same rows to every poll of it
def printed(outcome: TaskOutcome, seed: int) -> tuple[str, float]:
    """What the task printed, as base64 (not encrypted, decision Y22), and its metric value.

    Drawn from a source of its own, so only the log, which shows it, pays for it.
    """
    draw = rng(seed, "ylem.task_output", outcome.task_run_id)
    body, metric = outputs.output(
        outcome.task_type, outcome.is_successful, draw, outcome.executed_at
    )
    return base64.b64encode(body).decode("ascii"), metric


def run_ended_at(steps: list[TaskOutcome]) -> int:
    """A run ends when its last task, or its first failed one, has run."""
    return steps[-1].executed_at


def run_succeeded(steps: list[TaskOutcome]) -> bool:
    return all(step.is_successful for step in steps)


def run_duration(steps: list[TaskOutcome]) -> int:
    return sum(step.duration for step in steps)
