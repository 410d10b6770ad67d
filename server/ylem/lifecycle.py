"""A pipeline run over time: a pure function of the stored run, the seed and the clock.

A run stores only what the client did: when it started the run and which tasks it held then.
From that and the seed follow, for every task in order, when it ran, how long it took, whether it
succeeded and what it printed. A failed task stops the run: the tasks after it stay pending for
ever, as on the real server, where a failure ends the branch. Nothing runs in the background; a
read at `now` sees every task whose `executed_at` is not after `now`.
"""

from __future__ import annotations

import base64
import dataclasses

from ..draws import rng
from . import outputs

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
    # Whole seconds, when the task finished: the statistics store keeps seconds, so a row shown
    # as 12:00:05 is inside a window that ends at 12:00:05.
    executed_at: int
    duration: int  # milliseconds
    is_successful: bool
    output: str  # base64 of the task's output (not encrypted, decision Y22)
    metric_value: float  # an int when whole, as the documents show 0


def outcomes(run: dict, seed: int) -> list[TaskOutcome]:
    """What each task of the run does, up to and including the first failure."""
    draw = rng(seed, "ylem.run", run["uuid"])
    at_ms = run["created_at"] * 1000 + draw.randint(*_QUEUE_MS)
    result = []
    for position, task in enumerate(run["tasks"]):
        task_draw = rng(seed, "ylem.task_run", task["id"])
        duration = task_draw.randint(*_DURATION_MS[task["type"]])
        failed = task_draw.random() < _FAILURE_ODDS.get(task["type"], _DEFAULT_FAILURE_ODDS)
        at_ms += duration
        body, metric = outputs.output(task["type"], not failed, task_draw, at_ms / 1000)
        result.append(
            TaskOutcome(
                position=position,
                executed_at=int(at_ms // 1000),
                duration=duration,
                is_successful=not failed,
                output=base64.b64encode(body).decode("ascii"),
                metric_value=metric,
            )
        )
        if failed:
            break
        at_ms += task_draw.randint(*_GAP_MS)
    return result


def run_ended_at(steps: list[TaskOutcome]) -> int:
    """A run ends when its last task, or its first failed one, has run."""
    return steps[-1].executed_at


def run_succeeded(steps: list[TaskOutcome]) -> bool:
    return all(step.is_successful for step in steps)


def run_duration(steps: list[TaskOutcome]) -> int:
    return sum(step.duration for step in steps)
