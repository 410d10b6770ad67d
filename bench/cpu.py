"""CPU time per request in process: the benchmark's endpoints sent straight to the twin's ASGI
app (no sockets, no uvicorn, no wrk), timed with the process's CPU clock.

Meant for comparing two versions of the twin on a machine busy with other work, where req/s
under wrk moves with the neighbours: CPU time per request moves far less. Each API is its own
app, as `apitwin serve --api NAME` serves it (seed 1337, epoch 2026-11-01, the clock set to noon
of the epoch's day and running), the endpoints are bench/suite.py's, and the rounds are
interleaved; every round is bounded in requests and in seconds.

    python -m bench.cpu [--requests 400] [--rounds 5] [--seconds 5] [--only TEXT ...]
    python -m bench.cpu --profile TEXT     # cProfile of the first endpoint whose label has TEXT
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import dataclasses
import gc
import json
import pstats
import statistics
import sys
import time

from . import suite, wrk
from .asgi import Driver

EPOCH = "2026-11-01"
NOON = f"{EPOCH}T12:00:00Z"  # as a benchmark run at noon sees the history that ended at midnight


@dataclasses.dataclass
class Figure:
    endpoint: suite.Endpoint
    body_bytes: int
    cpu_us: list[float] = dataclasses.field(default_factory=list)  # per request, each round
    wall_us: list[float] = dataclasses.field(default_factory=list)


def build(apis: tuple[str, ...] = suite.APIS, freeze: bool = True) -> dict[str, Driver]:
    """One app per API, the clock at noon of the epoch's day, running."""
    from apitwin.app import create_app
    from apitwin.options import TwinOptions

    drivers = {}
    for api in apis:
        driver = Driver(create_app(TwinOptions(seed=1337, epoch=EPOCH, api=api)))
        load = wrk.Load(
            "POST", "/_twin/clock", {"Content-Type": "application/json"}, json.dumps({"set": NOON})
        )
        status, body = asyncio.run(driver.send(load))
        if status != 200:
            raise RuntimeError(f"setting the {api} twin's clock: {status} {body!r}")
        drivers[api] = driver
    if freeze:  # as `apitwin serve` does once started (serve/workers.py)
        gc.collect()
        gc.freeze()
    return drivers


def chosen(drivers: dict[str, Driver], only: list[str]) -> list[suite.Endpoint]:
    apis = tuple(drivers)

    def call(api: str, load: wrk.Load) -> tuple[int, bytes]:
        return asyncio.run(drivers[api].send(load))

    endpoints = [e for e in suite.endpoints(suite.discover(call, apis)) if e.api in apis]
    return [e for e in endpoints if not only or any(text in e.label for text in only)]


def _load(endpoint: suite.Endpoint) -> wrk.Load:
    return endpoint.load.under(suite.ROOTS.get(("apitwin", endpoint.api), ""))


async def _round(driver: Driver, endpoint: suite.Endpoint, requests: int, seconds: float):
    """(CPU µs, wall µs) per request over at most `requests` requests and `seconds` seconds."""
    loads = _load(endpoint).each()  # in turn, as wrk sends them
    deadline = time.monotonic() + seconds
    cpu, wall, done = time.process_time(), time.perf_counter(), 0
    while done < requests and time.monotonic() < deadline:
        status, _ = await driver.send(loads[done % len(loads)])
        if status != endpoint.status:
            raise RuntimeError(f"{endpoint.label}: {status}, expected {endpoint.status}")
        done += 1
    return (
        (time.process_time() - cpu) / done * 1e6,
        (time.perf_counter() - wall) / done * 1e6,
    )


def measure(
    drivers: dict[str, Driver],
    endpoints: list[suite.Endpoint],
    requests: int,
    rounds: int,
    seconds: float,
    warmup: int,
) -> list[Figure]:
    figures = []
    for endpoint in endpoints:
        status, body = asyncio.run(drivers[endpoint.api].send(_load(endpoint)))
        if status != endpoint.status:
            raise RuntimeError(f"{endpoint.label}: {status} {body[:300]!r}")
        figures.append(Figure(endpoint, len(body)))

    async def run() -> None:
        for figure in figures:
            await _round(drivers[figure.endpoint.api], figure.endpoint, warmup, seconds)
        for _ in range(rounds):
            for figure in figures:
                driver = drivers[figure.endpoint.api]
                cpu, wall = await _round(driver, figure.endpoint, requests, seconds)
                figure.cpu_us.append(cpu)
                figure.wall_us.append(wall)

    asyncio.run(run())
    return figures


def table(figures: list[Figure]) -> list[str]:
    lines = [
        "| endpoint | CPU µs/request (median) | min | wall µs | body B |",
        "|---|---|---|---|---|",
    ]
    for f in figures:
        lines.append(
            f"| {f.endpoint.label} | {statistics.median(f.cpu_us):,.0f} | {min(f.cpu_us):,.0f} "
            f"| {statistics.median(f.wall_us):,.0f} | {f.body_bytes:,} |"
        )
    return lines


def profile(drivers: dict[str, Driver], endpoint: suite.Endpoint, requests: int) -> None:
    driver = drivers[endpoint.api]

    async def run() -> None:
        await _round(driver, endpoint, 50, 10)  # warm
        profiler = cProfile.Profile()
        profiler.enable()
        await _round(driver, endpoint, requests, 30)
        profiler.disable()
        stats = pstats.Stats(profiler, stream=sys.stdout)
        print(f"{endpoint.label}: {requests} requests")
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats(45)

    asyncio.run(run())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cpu", description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=400, help="requests per round, at most")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0, help="a round's limit in seconds")
    parser.add_argument("--warmup", type=int, default=100, help="requests before the rounds")
    parser.add_argument("--only", nargs="*", default=[], help="endpoints whose label has TEXT")
    parser.add_argument("--apis", nargs="*", choices=suite.APIS, default=list(suite.APIS))
    parser.add_argument("--profile", metavar="TEXT", help="profile one endpoint instead")
    args = parser.parse_args(argv)
    drivers = build(tuple(args.apis))
    if args.profile:
        endpoint = next(iter(chosen(drivers, [args.profile])), None)
        if endpoint is None:
            print(f"no endpoint label has {args.profile!r}", file=sys.stderr)
            return 2
        profile(drivers, endpoint, args.requests)
        return 0
    endpoints = chosen(drivers, args.only)
    figures = measure(drivers, endpoints, args.requests, args.rounds, args.seconds, args.warmup)
    print("\n".join(table(figures)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
