"""The shortcuts the hot paths take (README "Performance") give what the long way gives."""

from __future__ import annotations

import itertools

from server.meiro import lifecycle as meiro_lifecycle
from server.ylem import lifecycle as ylem_lifecycle


def test_a_jobs_current_status_is_the_last_version_it_reached():
    run = meiro_lifecycle.Timeline(queued=100, started=130, ended=400, outcome="error", bytes_out=9)
    instants = [90, 100, 129, 130, 131, 399, 400, 401, 10_000]
    for now, canceled in itertools.product(instants, [None, *instants]):
        reached = meiro_lifecycle.versions(run, canceled, now)
        assert meiro_lifecycle.current(run, canceled, now) == reached[-1], (now, canceled)


def test_memoised_draws_equal_fresh_ones():
    for job_id, queued in [(100, 1_700_000_000), (101, 1_700_000_000), (100, 1_700_000_060)]:
        for seed in (1, 1337):
            fresh = meiro_lifecycle.plan.__wrapped__(job_id, queued, seed)
            assert meiro_lifecycle.plan(job_id, queued, seed) == fresh
            assert meiro_lifecycle.plan(job_id, queued, seed) == fresh  # from the cache
    run = {"number": 7, "created_at": 1_700_000_000, "task_run_ids": [21, 22, 23]}
    types = ["query", "gpt", "code"]
    for seed in (1, 1337):
        fresh = list(
            ylem_lifecycle._drawn.__wrapped__(7, 1_700_000_000, (21, 22, 23), (*types,), seed)
        )
        assert ylem_lifecycle.outcomes(run, types, seed) == fresh
        first = ylem_lifecycle.outcomes(run, types, seed)
        first.clear()  # a caller changing its list changes nothing for the next one
        assert ylem_lifecycle.outcomes(run, types, seed) == fresh
