"""Workspace job lifecycles: what a job does at any instant, from its record, clock and seed.

A job stores only what clients did: when it was run (`queued_at`) and, if it was, when it was
canceled (`canceled_at`). Its queue wait, run time, outcome, data volumes and log lines are drawn
from the seed and the job id, so every reader at the same instant sees the same job, and moving
the clock shows every state without waiting. The draws depend on the job id and run time alone,
so a run's `Timeline` never changes; workspaces keep it in their ledger of runs.

    waiting --(wait)--> running --(run time)--> finished | error
         \\____________________\\__(cancel)__> canceled
"""

from __future__ import annotations

import dataclasses
import functools
from typing import NamedTuple

from apitwin.apis.meiro.records import stamp
from apitwin.core.draws import rng

WAITING, RUNNING, FINISHED, ERROR, CANCELED = "waiting", "running", "finished", "error", "canceled"
ENDED = frozenset({FINISHED, ERROR, CANCELED})

WAIT_SECONDS = (5, 40)
RUN_SECONDS = (30, 300)
ERROR_RATE = 0.15

_FAILURES = (
    "Connection to the source timed out",
    "Input file /data/in/export.csv is not valid UTF-8",
    "Component exited with code 1",
    "Destination refused the upload (HTTP 403)",
    "Out of memory while sorting the input",
)
_PROGRESS = (
    ("info", "Processed {rows} rows"),
    ("info", "Uploaded batch {batch} to the destination"),
    ("warning", "Skipped {skipped} malformed rows"),
    ("info", "Checkpoint saved after {rows} rows"),
)


# Timeline and Version are named tuples: every workspace read builds several per run, and a
# frozen dataclass costs about five times as much to build.
class Timeline(NamedTuple):
    """When a job starts and ends, and how, if nobody cancels it."""

    queued: int
    started: int
    ended: int
    outcome: str  # finished or error
    bytes_out: int  # what the run leaves on the workspace's disk if it finishes

    def row(self) -> list:
        return [self.queued, self.started, self.ended, self.outcome, self.bytes_out]

    @classmethod
    def from_row(cls, row: list) -> Timeline:
        return cls(*row)


@dataclasses.dataclass(frozen=True)
class Plan:
    """Everything a run does if nobody cancels it: drawn once from the seed and the job id."""

    timeline: Timeline
    megabytes_in: float
    megabytes_out: float
    files_in: int
    files_out: int
    failure: str
    progress: tuple[tuple[int, str, str], ...]  # (at, level, text) while running


class Version(NamedTuple):
    """One status the job entered, and when."""

    status: str
    at: int


@functools.lru_cache(maxsize=1 << 13)  # a pure function of its arguments; drawing is costly
def plan(job_id: int, queued: int, seed: int) -> Plan:
    draw = rng(seed, "meiro.job", job_id)
    started = queued + draw.randint(*WAIT_SECONDS)
    ended = started + draw.randint(*RUN_SECONDS)
    outcome = ERROR if draw.random() < ERROR_RATE else FINISHED
    megabytes_out = round(draw.uniform(0.1, 120.0), 1)
    bytes_out = round(megabytes_out * 1024 * 1024)
    progress = []
    for step in range(draw.randint(1, 4)):
        level, text = _PROGRESS[draw.randrange(len(_PROGRESS))]
        at = started + (ended - started) * (step + 1) // 6
        words = {
            "rows": draw.randint(100, 90_000),
            "batch": step + 1,
            "skipped": draw.randint(1, 40),
        }
        progress.append((at, level, text.format(**words)))
    return Plan(
        timeline=Timeline(queued, started, ended, outcome, bytes_out),
        megabytes_in=round(draw.uniform(0.5, 250.0), 1),
        megabytes_out=megabytes_out,
        files_in=draw.randint(1, 12),
        files_out=draw.randint(1, 6),
        failure=_FAILURES[draw.randrange(len(_FAILURES))],
        progress=tuple(progress),
    )


def versions(run: Timeline, canceled: int | None, now: int) -> list[Version]:
    """The statuses the job has entered by `now`, oldest first; `waiting` at least.

    A cancel the clock has not reached yet (the clock was set back) does not count.
    """
    done = [Version(WAITING, run.queued)]
    if canceled is not None and canceled <= now and canceled < run.ended:
        if run.started <= canceled:
            done.append(Version(RUNNING, run.started))
        done.append(Version(CANCELED, canceled))
        return done
    if now >= run.started:
        done.append(Version(RUNNING, run.started))
    if now >= run.ended:
        done.append(Version(run.outcome, run.ended))
    return done


def current(run: Timeline, canceled: int | None, now: int) -> Version:
    """The status the job is in at `now`: `versions(...)[-1]`, without building the list (read
    for every run of every workspace listed)."""
    if canceled is not None and canceled <= now and canceled < run.ended:
        return Version(CANCELED, canceled)
    if now >= run.ended:
        return Version(run.outcome, run.ended)
    if now >= run.started:
        return Version(RUNNING, run.started)
    return Version(WAITING, run.queued)


def stats(run: Plan, reached: list[Version]) -> dict:
    """The job's `stats` once it has gone through `reached`: data read once it ran, data
    written once it finished, and when it entered each status."""
    statuses = {version.status for version in reached}
    volumes, files = {}, {}
    if RUNNING in statuses:
        volumes["/in"], files["/in"] = run.megabytes_in, run.files_in
    if FINISHED in statuses:
        volumes["/out"], files["/out"] = run.megabytes_out, run.files_out
    result = {"statuses_history": {version.status: stamp(version.at) for version in reached}}
    if volumes:
        result = {"data_volumes": volumes, "files_count": files, **result}
    return result


def ended_at(reached: list[Version]) -> int | None:
    last = reached[-1]
    return last.at if last.status in ENDED else None


def bytes_written(run: Timeline, reached: list[Version]) -> int:
    """What the job has left on the workspace's disk (its `/out` volume, once finished)."""
    return run.bytes_out if reached[-1].status == FINISHED else 0


def log_lines(job_id: int, run: Plan, reached: list[Version], now: int) -> list[dict]:
    """The log lines written by `now`, oldest first, numbered from 1: none while the job waits,
    a line when it starts, progress while it runs, and one for how it ended."""
    statuses = [version.status for version in reached]
    if RUNNING not in statuses and CANCELED not in statuses:
        return []
    end = reached[-1] if reached[-1].status in ENDED else None
    lines = []
    if RUNNING in statuses:
        text = f"Job {job_id} started: reading {run.files_in} files ({run.megabytes_in} MB)"
        lines.append((run.timeline.started, "info", text))
        cutoff = end.at if end else now
        lines += [line for line in run.progress if line[0] <= cutoff]
    if end is not None:
        lines.append((end.at, *_closing_line(run, end.status)))
    return [
        {"id": number, "level": level, "text": text, "at": at}
        for number, (at, level, text) in enumerate(lines, start=1)
    ]


def _closing_line(run: Plan, status: str) -> tuple[str, str]:
    if status == FINISHED:
        return "info", f"Job finished: wrote {run.files_out} files ({run.megabytes_out} MB)"
    if status == ERROR:
        return "error", f"Job failed: {run.failure}"
    return "warning", "Job canceled"
