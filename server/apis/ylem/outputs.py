"""What a task prints when it runs: small JSON documents of the kind each task type produces.

A failed task prints the real server's error list, `[{"Code", "Severity", "Message"}]`.
Everything is drawn from the task run's own random source, so the same seed prints the same bytes.
"""

from __future__ import annotations

import json
import random

from apitwin.apis.ylem import calendar

_FAILURES = {
    "query": (1064, "You have an error in your SQL syntax near 'WHERE' at line 3"),
    "condition": (0, 'Condition could not be evaluated: unknown field "amount"'),
    "aggregator": (0, "Aggregation failed: no numeric values in the input"),
    "transformer": (0, "Cannot transform the input: expected a JSON array"),
    "notification": (0, "Notification not delivered: the destination refused the message"),
    "api_call": (502, "The remote API answered 502 Bad Gateway"),
    "for_each": (0, "Iteration failed: the input is not a list"),
    "merge": (0, "Nothing to merge: an input is empty"),
    "filter": (0, "Invalid filter expression"),
    "run_pipeline": (0, "The pipeline to run was not found"),
    "external_trigger": (0, "The trigger payload is not valid JSON"),
    "code": (1, "Traceback (most recent call last): ZeroDivisionError: division by zero"),
    "gpt": (429, "The language model is over its rate limit"),
    "processor": (0, "Processing failed: unexpected end of input"),
}
_CURRENCIES = ("EUR", "USD", "GBP")


def _rows(draw: random.Random, at: float) -> list[dict]:
    created = calendar.plain(at - draw.randint(60, 3600))
    return [
        {
            "id": draw.randint(1, 99_999),
            "amount": round(draw.uniform(1, 2000), 2),
            "currency": draw.choice(_CURRENCIES),
            "created_at": created,
        }
        for _ in range(draw.randint(1, 3))
    ]


def _success(task_type: str, draw: random.Random, at: float) -> tuple[object, float]:
    if task_type in ("query", "transformer", "merge", "filter"):
        return _rows(draw, at), 0
    if task_type == "aggregator":
        value = round(draw.uniform(10, 50_000), 2)
        return {"value": value}, value
    if task_type == "condition":
        return {"result": draw.random() < 0.5}, 0
    if task_type == "notification":
        return {"sent": True, "channel": draw.choice(("email", "slack", "sms"))}, 0
    if task_type == "api_call":
        return {"status": 200, "body": {"ok": True}}, 0
    if task_type == "for_each":
        return {"iterations": draw.randint(1, 50)}, 0
    if task_type == "gpt":
        return {"text": draw.choice(("Revenue is up.", "No anomalies found.", "Churn rose."))}, 0
    if task_type == "code":
        value = draw.randint(0, 1000)
        return {"result": value}, value
    return {"processed": draw.randint(1, 500)}, 0


def output(task_type: str, ok: bool, draw: random.Random, at: float) -> tuple[bytes, float]:
    """The task's output bytes and the metric value it measured (0 when none)."""
    if ok:
        document, metric = _success(task_type, draw, at)
    else:
        code, message = _FAILURES[task_type]
        document, metric = [{"Code": code, "Severity": "error", "Message": message}], 0
    return json.dumps(document, separators=(",", ":"), sort_keys=True).encode(), metric
