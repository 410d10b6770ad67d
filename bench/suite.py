"""What the benchmark measures, in three parts:

1. throughput: apitwin, Prism (default logging and `-v silent`, serving apitwin's own spec) and a
   bare Starlette route answering apitwin's bytes, on the endpoints of every API (`endpoints`:
   Meiro's list, read, create and job run; Director's list, read and create; Ylem's token, run,
   log and statistics), interleaved over rounds after a warm-up;
2. start-up: time from process start to the first 200, and resident memory once up;
3. growth: a paginated read's p50 as the store grows through the API (100, 10,000, 100,000
   workspaces), and resident memory at the end;
4. worlds: Ylem's statistics reads on the standard world and on the large one (12,000 runs),
   interleaved.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import pathlib
import statistics
from urllib.parse import unquote

from . import grow, wrk
from .servers import Servers, request

MEIRO_TOKEN = {"X-Access-Token": "twin-token"}
YLEM_TOKEN_PATH = (
    "/oauth/token?client_id=twin-client&client_secret=twin-secret&grant_type=client_credentials"
)
NEW_WORKSPACE = {
    "name": "bench workspace",
    "description": "made by the benchmark",
    "settings": {"notification_emails": ["bench@example.test"], "delete_data_after_success": True},
    "disabled": 0,
}
JSON_BODY = {**MEIRO_TOKEN, "Content-Type": "application/json"}
JOB_WORKSPACES = 64  # the job runs go through this many workspaces, made for them
NEW_WORKFLOW = {"project": "example", "name": "ETL", "payload": {}, "comment": "bench"}
# The servers of a comparison, in the order of the table; "prism" is the reference.
SERVERS = ("apitwin", "prism", "prism -v silent", "starlette")


@dataclasses.dataclass(frozen=True)
class Endpoint:
    label: str
    api: str  # which twin and which Prism spec serve it
    load: wrk.Load
    status: int
    goal: str | None  # "read" or "create": which goals of the issue apply


@dataclasses.dataclass
class Settings:
    seconds: float = 5.0
    rounds: int = 3
    warmup: float = 3.0
    connections: int = 32
    threads: int = 2
    startups: int = 3
    growth_sizes: tuple[int, ...] = (100, 10_000, 100_000)
    growth_seconds: float = 3.0


@dataclasses.dataclass
class Sample:
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int  # answers with another status, and socket errors


@dataclasses.dataclass
class Comparison:
    """One endpoint on each server (or, in part 4, on each world): its samples, per round."""

    endpoint: Endpoint
    body_bytes: dict[str, int]
    samples: dict[str, list[Sample]]

    def median(self, server: str, field: str) -> float:
        return statistics.median(getattr(s, field) for s in self.samples[server])

    def errors(self, server: str) -> int:
        return sum(s.errors for s in self.samples[server])


@dataclasses.dataclass
class Startup:
    seconds: list[float]
    rss_mb: list[float]


@dataclasses.dataclass
class GrowthPoint:
    workspaces: int
    p50_ms: float
    p99_ms: float
    rss_mb: float
    grow_seconds: float


WORLDS = ("standard", "large")


@dataclasses.dataclass(frozen=True)
class Seeded:
    """What the endpoints are built from: ids and a credential of the seeded world, and today."""

    today: dt.date  # the clock's date: the seeded history ends at its midnight
    ylem_token: str
    stats_pipeline: str  # read by the statistics and the log (the spec's example pipeline)
    stats_task: str  # its first task (the spec's example task)
    run_pipeline: str  # run by the run endpoint: its new runs stay out of the statistics read
    workspace_id: int  # read by GET /workspaces/{id}
    # Run jobs, in turn: workspaces the benchmark made, which no other endpoint reads. A job
    # goes into its workspace's ledger, which each run reads and writes whole: spread over
    # many, the ledgers stay short enough not to be what a run's figure measures.
    job_workspace_ids: tuple[int, ...]
    workflow_id: str  # read by GET /api/workflows/{id}


def _plain(day: dt.date, time: str = "00:00:00") -> str:
    """Ylem's "Y-m-d H:i:s" in a path (the space encoded)."""
    return f"{day}%20{time}"


def endpoints(seeded: Seeded) -> list[Endpoint]:
    """Every endpoint the benchmark loads, in the order of the table. Writes go to ids the reads
    do not look at, so interleaved rounds of writes do not change what a read costs."""
    today = seeded.today
    # The 12-month window that ends with the current month: all of the seeded history.
    month = today.year * 12 + today.month - 1 - 11
    first = dt.date(month // 12, month % 12 + 1, 1)
    bearer = {"Authorization": f"Bearer {seeded.ylem_token}"}
    stats = f"/stats/pipelines/{seeded.stats_pipeline}"
    task = f"/stats/tasks/{seeded.stats_task}"
    # (period, first day, number of periods): each window ends with the current period.
    monday = today - dt.timedelta(days=today.weekday())
    quarter = dt.date(today.year, today.month - (today.month - 1) % 3, 1)
    periods = [
        ("day", today - dt.timedelta(days=29), 30),
        ("week", monday - dt.timedelta(weeks=12), 13),
        ("month", first, 12),
        ("quarter", dt.date(quarter.year - 1, quarter.month, 1), 5),
        ("year", dt.date(today.year - 1, 1, 1), 2),
    ]
    ylem_reads = [
        Endpoint(
            f"GET Ylem .../aggregated-stats/.../{period}/{count}",
            "ylem",
            wrk.Load("GET", f"{stats}/aggregated-stats/{day}/{period}/{count}", bearer),
            200,
            "read",
        )
        for period, day, count in periods
    ]
    yesterday = today - dt.timedelta(days=1)
    ylem_reads += [
        Endpoint(
            "GET Ylem .../stats/{from}/{to}",
            "ylem",
            wrk.Load("GET", f"{stats}/stats/{_plain(first)}/{_plain(today, '23:59:59')}", bearer),
            200,
            "read",
        ),
        Endpoint(
            "GET Ylem /stats/tasks/.../aggregated-stats/.../month/12",
            "ylem",
            wrk.Load("GET", f"{task}/aggregated-stats/{first}/month/12", bearer),
            200,
            "read",
        ),
        Endpoint(
            "GET Ylem /stats/tasks/.../stats/{from}/{to}",
            "ylem",
            wrk.Load("GET", f"{task}/stats/{_plain(first)}/{_plain(today, '23:59:59')}", bearer),
            200,
            "read",
        ),
        Endpoint(
            "GET Ylem .../last-run/stats",
            "ylem",
            wrk.Load("GET", f"{stats}/last-run/stats", bearer),
            200,
            "read",
        ),
        Endpoint(
            "GET Ylem .../logs/{from}/{to} (a day)",
            "ylem",
            wrk.Load("GET", f"{stats}/logs/{_plain(yesterday)}/{_plain(today)}", bearer),
            200,
            "read",
        ),
    ]
    return [
        Endpoint(
            "GET /workspaces?limit=20",
            "meiro",
            wrk.Load("GET", "/workspaces?limit=20", MEIRO_TOKEN),
            200,
            "read",
        ),
        Endpoint(
            "GET /workspaces/{id}",
            "meiro",
            wrk.Load("GET", f"/workspaces/{seeded.workspace_id}", MEIRO_TOKEN),
            200,
            "read",
        ),
        Endpoint(
            "POST /workspaces",
            "meiro",
            wrk.Load("POST", "/workspaces", JSON_BODY, json.dumps(NEW_WORKSPACE)),
            201,
            "create",
        ),
        Endpoint(
            "POST /workspaces/{id}/jobs",
            "meiro",
            wrk.Load(
                "POST",
                f"/workspaces/{seeded.job_workspace_ids[0]}/jobs",
                MEIRO_TOKEN,
                paths=tuple(f"/workspaces/{i}/jobs" for i in seeded.job_workspace_ids),
            ),
            201,
            "create",
        ),
        Endpoint(
            "GET Director /api/workflows?per_page=20",
            "director",
            wrk.Load("GET", "/api/workflows?per_page=20"),
            200,
            "read",
        ),
        Endpoint(
            "GET Director /api/workflows/{id}",
            "director",
            wrk.Load("GET", f"/api/workflows/{seeded.workflow_id}"),
            200,
            "read",
        ),
        Endpoint(
            "POST Director /api/workflows",
            "director",
            wrk.Load(
                "POST",
                "/api/workflows",
                {"Content-Type": "application/json"},
                json.dumps(NEW_WORKFLOW),
            ),
            201,
            "create",
        ),
        Endpoint(
            "POST Ylem /oauth/token",
            "ylem",
            wrk.Load("POST", YLEM_TOKEN_PATH),
            200,
            "create",
        ),
        Endpoint(
            "POST Ylem /pipelines/{uuid}/runs/",
            "ylem",
            wrk.Load("POST", f"/pipelines/{seeded.run_pipeline}/runs/", bearer),
            201,
            "create",
        ),
        *ylem_reads,
    ]


# Where each server mounts each API: apitwin serves Ylem alone at its documented /v1; Prism
# routes the spec's paths as they are; the bare route answers the un-prefixed paths.
ROOTS = {("apitwin", "ylem"): "/v1"}
APIS = ("meiro", "director", "ylem")


def discover(call, apis: tuple[str, ...] = APIS) -> Seeded:
    """What the endpoints of `apis` need from the seeded world (placeholders for the others).
    `call(api, load)` sends a request to the twin that serves `api` alone and returns (status,
    body); paths are as that twin routes them."""

    def answer(api: str, load: wrk.Load, status: int = 200):
        got, body = call(api, load)
        if got != status:
            raise RuntimeError(f"{api} twin: {load.method} {load.path} answered {got}: {body!r}")
        return json.loads(body)

    now = answer(apis[0], wrk.Load("GET", "/_twin/clock"))["now"]
    token, pipelines, task, ids, jobs, workflow = "", ["", "", ""], "", [0], (0,), ""
    if "ylem" in apis:
        root = ROOTS[("apitwin", "ylem")]
        token = answer("ylem", wrk.Load("POST", root + YLEM_TOKEN_PATH))["access_token"]
        catalog = answer("ylem", wrk.Load("GET", "/_twin/catalog"))
        pipelines = [pipeline["uuid"] for pipeline in catalog["ylem"]["pipelines"]]
        task = catalog["ylem"]["pipelines"][0]["tasks"][0]["uuid"]
    if "meiro" in apis:
        listed = answer("meiro", wrk.Load("GET", "/workspaces?limit=100", MEIRO_TOKEN))
        ids = [workspace["id"] for workspace in listed["workspaces"]]
        made = wrk.Load("POST", "/workspaces", JSON_BODY, json.dumps(NEW_WORKSPACE))
        jobs = tuple(answer("meiro", made, 201)["workspace"]["id"] for _ in range(JOB_WORKSPACES))
    if "director" in apis:
        workflows = answer("director", wrk.Load("GET", "/api/workflows?per_page=20"))
        # An instance that has ended: each of its tasks has times of its own.
        ended = [w for w in workflows if w["status"] in ("success", "error")] or workflows
        workflow = ended[0]["id"]
    return Seeded(
        today=dt.date.fromisoformat(now[:10]),
        ylem_token=token,
        stats_pipeline=pipelines[0],
        stats_task=task,
        run_pipeline=pipelines[2],
        workspace_id=100 if 100 in ids else ids[0],
        job_workspace_ids=jobs,
        workflow_id=workflow,
    )


def bare_answers(call, chosen: list[Endpoint]) -> dict[str, dict]:
    """The twin's own answer to each endpoint, keyed as bench/bare.py looks them up."""
    answers = {}
    for endpoint in chosen:
        for bare, load in zip(
            endpoint.load.each(),
            endpoint.load.under(ROOTS.get(("apitwin", endpoint.api), "")).each(),
            strict=True,
        ):
            status, body = call(endpoint.api, load)
            if status != endpoint.status:
                raise RuntimeError(f"apitwin answered {endpoint.label} with {status}: {body[:300]}")
            path = unquote(bare.path.partition("?")[0])
            answers[f"{bare.method} {path}"] = {"status": status, "body": body.decode()}
    return answers


@dataclasses.dataclass(frozen=True)
class Target:
    server: str
    url: str
    load: wrk.Load


def _send(url: str, load: wrk.Load) -> tuple[int, bytes]:
    return request(url, load.path, load.method, load.headers, load.body.encode())


def _measure(target: Target, settings: Settings, seconds: float) -> Sample:
    result = wrk.run(
        target.url,
        target.load,
        seconds=seconds,
        connections=settings.connections,
        threads=settings.threads,
    )
    return Sample(result.rps, result.p50_ms, result.p99_ms, result.non_2xx + result.socket_errors)


def compare(
    workdir: pathlib.Path,
    settings: Settings,
    say,
    apis: tuple[str, ...] = APIS,
    only: tuple[str, ...] = (),
) -> list[Comparison]:
    """Part 1: every server on every endpoint of `apis` (those whose label holds a text of
    `only`, if any), interleaved, after a warm-up."""
    with Servers(workdir) as servers:
        twins = {api: servers.twin(f"apitwin-{api}", "--api", api) for api in apis}
        prisms = {
            (api, quiet): servers.prism(
                f"prism-{api}{'-silent' if quiet else ''}",
                f"{api}.yaml",
                *(["-v", "silent"] if quiet else []),
            )
            for api in apis
            for quiet in (False, True)
        }
        for twin in twins.values():
            twin.wait_ready("/_twin/clock", timeout=60)

        def call(api: str, load: wrk.Load) -> tuple[int, bytes]:
            return _send(twins[api].url, load)

        every = [e for e in endpoints(discover(call, apis)) if e.api in apis]
        chosen = [e for e in every if not only or any(text in e.label for text in only)]
        if not chosen:
            raise RuntimeError(f"no endpoint of {', '.join(apis)} has a label with {only}")
        # The bare route answers with apitwin's own bytes for each endpoint.
        answers_file = workdir / "bare-answers.json"
        answers_file.write_text(json.dumps(bare_answers(call, chosen)))
        bare = servers.bare("starlette", answers_file)
        for (api, _), prism in prisms.items():
            probe = next(e.load for e in every if e.api == api and e.load.method == "GET")
            prism.wait_ready(probe.path, probe.headers, timeout=60)
        bare.wait_ready("/", expect=404)  # it answers 404 to anything it was not given

        def targets(endpoint: Endpoint) -> list[Target]:
            urls = {
                "apitwin": twins[endpoint.api].url,
                "prism": prisms[(endpoint.api, False)].url,
                "prism -v silent": prisms[(endpoint.api, True)].url,
                "starlette": bare.url,
            }
            return [
                Target(s, urls[s], endpoint.load.under(ROOTS.get((s, endpoint.api), "")))
                for s in SERVERS
            ]

        comparisons = []
        for endpoint in chosen:
            sizes = {}
            for target in targets(endpoint):
                status, body = _send(target.url, target.load)
                if status != endpoint.status:
                    raise RuntimeError(f"{target.server} answered {endpoint.label} with {status}")
                sizes[target.server] = len(body)
            comparisons.append(Comparison(endpoint, sizes, {s: [] for s in SERVERS}))

        say(f"warm-up: {settings.warmup:g} s per server and endpoint")
        for comparison in comparisons:
            for target in targets(comparison.endpoint):
                _measure(target, settings, settings.warmup)

        for round_no in range(settings.rounds):
            say(f"round {round_no + 1} of {settings.rounds}")
            for comparison in comparisons:
                order = targets(comparison.endpoint)
                # Rotate who goes first, so no server always follows the same neighbour.
                shift = round_no % len(order)
                for target in order[shift:] + order[:shift]:
                    sample = _measure(target, settings, settings.seconds)
                    comparison.samples[target.server].append(sample)
        return comparisons


def startup(workdir: pathlib.Path, settings: Settings, say) -> Startup:
    """Part 2: `apitwin serve` with the default world, from process start to the first 200."""
    seconds, rss = [], []
    for attempt in range(settings.startups):
        with Servers(workdir) as servers:
            twin = servers.twin(f"apitwin-start-{attempt}")
            seconds.append(twin.wait_ready("/meiro/workspaces?limit=20", MEIRO_TOKEN, poll=0.005))
            rss.append(twin.rss_mb())
    say(f"start-up: {', '.join(f'{s:.2f} s' for s in seconds)}")
    return Startup(seconds, rss)


def _live_workspaces(url: str) -> int:
    count, offset = 0, 0
    while True:
        status, body = request(url, f"/workspaces?limit=100&offset={offset}", headers=MEIRO_TOKEN)
        if status != 200:
            raise RuntimeError(f"listing workspaces answered {status}")
        page = json.loads(body)["workspaces"]
        count += len(page)
        if len(page) < 100:
            return count
        offset += 100


def growth(workdir: pathlib.Path, settings: Settings, say) -> list[GrowthPoint]:
    """Part 3: grow the store through POST /workspaces; read a page from its middle each time."""
    points = []
    body = json.dumps(NEW_WORKSPACE).encode()
    headers = {**MEIRO_TOKEN, "Content-Type": "application/json"}
    with Servers(workdir) as servers:
        twin = servers.twin("apitwin-growth", "--api", "meiro")
        twin.wait_ready("/_twin/clock")
        count = _live_workspaces(twin.url)
        for size in settings.growth_sizes:
            took = grow.post_many(twin.url, "/workspaces", headers, body, size - count)
            count = max(count, size)
            page = wrk.Load("GET", f"/workspaces?limit=20&offset={count // 2}", MEIRO_TOKEN)
            result = wrk.run(
                twin.url, page, seconds=settings.growth_seconds, connections=1, threads=1
            )
            if result.non_2xx or result.socket_errors:
                raise RuntimeError(f"paginated read at {count} workspaces failed: {result}")
            point = GrowthPoint(count, result.p50_ms, result.p99_ms, twin.rss_mb(), took)
            say(
                f"growth: {count} workspaces (grown in {took:.1f} s), "
                f"page p50 {point.p50_ms:.2f} ms, RSS {point.rss_mb:.0f} MB"
            )
            points.append(point)
    return points


def worlds(workdir: pathlib.Path, settings: Settings, say) -> list[Comparison]:
    """Part 4: Ylem's statistics reads (every endpoint whose label says "stats") on a twin of the
    standard world and one of the large world, each read interleaved between the two."""
    root = ROOTS[("apitwin", "ylem")]
    with Servers(workdir) as servers:
        twins = {
            world: servers.twin(f"apitwin-ylem-{world}", "--api", "ylem", "--world", world)
            for world in WORLDS
        }
        chosen: dict[str, Endpoint] = {}
        targets: dict[str, dict[str, Target]] = {}
        for world, twin in twins.items():
            twin.wait_ready("/_twin/clock", timeout=120)

            def call(api: str, load: wrk.Load, url: str = twin.url) -> tuple[int, bytes]:
                return _send(url, load)

            for endpoint in endpoints(discover(call, ("ylem",))):
                if endpoint.api == "ylem" and "stats" in endpoint.label:
                    chosen.setdefault(endpoint.label, endpoint)
                    target = Target(world, twin.url, endpoint.load.under(root))
                    targets.setdefault(endpoint.label, {})[world] = target
        comparisons = []
        for label, endpoint in chosen.items():
            sizes = {}
            for world, target in targets[label].items():
                status, body = _send(target.url, target.load)
                if status != 200:
                    raise RuntimeError(f"the {world} world answered {label} with {status}")
                sizes[world] = len(body)
                _measure(target, settings, settings.warmup)
            comparisons.append(Comparison(endpoint, sizes, {world: [] for world in WORLDS}))
        for round_no in range(settings.rounds):
            say(f"worlds: round {round_no + 1} of {settings.rounds}")
            for comparison in comparisons:
                order = [targets[comparison.endpoint.label][world] for world in WORLDS]
                if round_no % 2:
                    order.reverse()
                for target in order:
                    sample = _measure(target, settings, settings.seconds)
                    comparison.samples[target.server].append(sample)
    return comparisons
