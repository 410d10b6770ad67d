"""Replay mode: a HAR recording's requests, in order, to the target. Side A is the recorded
answer, side B the target's. The recording's credentials are redacted, so every request goes
with the target's own (Side drops credential headers and adds its own)."""

from __future__ import annotations

import pathlib
import urllib.parse

from . import har
from .diff_compare import Answer
from .diff_run import DiffResult, Run
from .diff_send import Request, SpecIndex


def requests_of(
    exchanges: list[har.Exchange], index: SpecIndex
) -> list[tuple[Request, Answer] | str]:
    """Each exchange as (request, recorded answer), or a line saying why it is not replayed."""
    found: list[tuple[Request, Answer] | str] = []
    for number, exchange in enumerate(exchanges, 1):
        url = urllib.parse.urlsplit(exchange.url)
        split = index.split(exchange.method, url.path)
        if split is None:
            found.append(f"#{number} {exchange.method} {url.path}: no operation of the spec")
            continue
        _, path, operation = split
        request = Request(
            method=exchange.method,
            path=path,
            query=urllib.parse.parse_qsl(url.query, keep_blank_values=True),
            headers=exchange.request_headers,
            body=exchange.request_body,
            operation=operation,
            origin=f"recording #{number}",
        )
        answer = Answer(
            exchange.status, exchange.response_header("content-type") or "", exchange.response_body
        )
        found.append((request, answer))
    return found


def replay(path: pathlib.Path, run: Run, index: SpecIndex, side_a: str) -> DiffResult:
    result = DiffResult(run.api, "replay", side_a, run.side_b.base_url)
    for item in requests_of(har.exchanges(path), index):
        if isinstance(item, str):
            result.skipped.append(item)
            continue
        request, recorded = item
        run.against_b(request, recorded, result)
    return run.finish(result)
