"""The benchmark's own code paths, without wrk, Prism or any server: its endpoints answered by
in-process twins, the bare route's copies of those answers, the wrk scripts and the report."""

from __future__ import annotations

import asyncio
import sys

import httpx
import pytest
from support import ROOT

# bench/ is the repository's tool (`bash bench/run`, `python -m bench` from the root), not part
# of the installed package: imported from the checkout.
sys.path.insert(0, str(ROOT))
from bench import bare, cpu, report, suite  # noqa: E402


@pytest.fixture(scope="module")
def drivers():
    return cpu.build(freeze=False)


def test_every_api_has_its_endpoints_and_each_answers_as_expected(drivers):
    endpoints = cpu.chosen(drivers, [])
    labels = [endpoint.label for endpoint in endpoints]
    assert len(set(labels)) == len(labels)
    by_api = {api: [e for e in endpoints if e.api == api] for api in suite.APIS}
    assert len(by_api["meiro"]) == 4 and len(by_api["director"]) == 3
    periods = {label.split("/")[-2] for label in labels if "aggregated-stats" in label}
    assert periods == {"day", "week", "month", "quarter", "year"}
    for endpoint in endpoints:
        assert endpoint.goal == ("read" if endpoint.load.method == "GET" else "create")
    # Writes go to ids the reads do not look at: rounds of writes leave the reads as they were.
    read = {part for e in endpoints if e.load.method == "GET" for part in e.load.path.split("/")}
    job_run = next(e for e in endpoints if e.label == "POST /workspaces/{id}/jobs").load
    pipeline_run = next(e for e in endpoints if "runs/" in e.label).load.path
    assert pipeline_run.split("/")[2] not in read
    assert len(job_run.paths) == suite.JOB_WORKSPACES and job_run.path == job_run.paths[0]
    assert not {path.split("/")[2] for path in job_run.paths} & read
    assert "request = function()" in job_run.script()
    figures = cpu.measure(drivers, endpoints, requests=2, rounds=1, seconds=5, warmup=1)
    assert all(f.body_bytes > 0 and len(f.cpu_us) == 1 for f in figures)
    assert len(cpu.table(figures)) == len(endpoints) + 2


def test_the_bare_route_answers_the_twins_bytes(drivers):
    endpoints = cpu.chosen(drivers, [])

    def call(api, load):
        return asyncio.run(drivers[api].send(load))

    answers = suite.bare_answers(call, endpoints)
    # One key per path of each endpoint (method and decoded path).
    assert len(answers) == sum(len(endpoint.load.each()) for endpoint in endpoints)

    async def check():
        transport = httpx.ASGITransport(app=bare.build(answers))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            assert (await client.get("/")).status_code == 404  # what bench waits for
            for endpoint in endpoints:
                for load in endpoint.load.each():
                    body = load.body.encode()
                    got = await client.request(load.method, load.path, content=body)
                    key = f"{load.method} {got.request.url.path}"
                    assert got.status_code == endpoint.status, endpoint.label
                    assert got.content == answers[key]["body"].encode(), endpoint.label

    asyncio.run(check())


def test_wrk_scripts_and_the_report_cover_every_endpoint(drivers):
    endpoints = cpu.chosen(drivers, [])
    for endpoint in endpoints:
        script = endpoint.load.script()
        assert f'wrk.method = "{endpoint.load.method}"' in script
    comparisons = [
        suite.Comparison(
            endpoint,
            {server: 100 for server in suite.SERVERS},
            {server: [suite.Sample(1000.0, 1.0, 2.0, 0)] for server in suite.SERVERS},
        )
        for endpoint in endpoints
    ]
    assert len(report.throughput_table(comparisons)) == 2 + len(endpoints) * len(suite.SERVERS)
    goals = report.goals(comparisons, None, [])
    # Every endpoint: Prism -v silent and p99; a read: Prism default; a write: Prism default;
    # the bare route: Meiro's one-workspace read alone.
    assert len(goals) == 3 * len(endpoints) + 1
    assert sum("Prism -v silent (goal 1.5×)" in line for line in goals) == len(endpoints)
    assert sum("bare Starlette route" in line for line in goals) == 1
    # Part 4: a read on the large world 2.5× slower than on the standard one misses its goal.
    last_run = next(e for e in endpoints if e.label == "GET Ylem .../last-run/stats")
    samples = {
        "standard": [suite.Sample(1000.0, 1.0, 2.0, 0)],
        "large": [suite.Sample(400.0, 2.5, 5.0, 0)],
    }
    worlds = [suite.Comparison(last_run, {"standard": 74, "large": 74}, samples)]
    assert len(report.worlds_table(worlds)) == 3
    assert report.goals([], None, [], worlds) == [
        "- [ ] GET Ylem .../last-run/stats on the large world: 2.50× the time on the "
        "standard one (goal ≤ 2.0×)"
    ]
