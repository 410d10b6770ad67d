"""The shortcuts the hot paths take (README "Performance") give what the long way gives."""

from __future__ import annotations

import asyncio
import base64
import itertools
import json

import httpx
import pytest

from apitwin.apis.meiro import lifecycle as meiro_lifecycle
from apitwin.apis.ylem import lifecycle as ylem_lifecycle
from apitwin.app import create_app
from apitwin.core.memo import InstantMemo
from apitwin.core.store import open_store
from apitwin.options import TwinOptions

TOKEN = {"X-Access-Token": "twin-token"}


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


def test_memo_derives_once_per_text_and_instant():
    memo, calls = InstantMemo(limit=3), []

    def derive(value):
        calls.append(value)
        return {"value": value}

    first = memo.get(b"a", 10, lambda: derive("a"))
    assert memo.get(b"a", 10, lambda: derive("again")) is first
    assert memo.get(b"a", 11, lambda: derive("a at 11")) == {"value": "a at 11"}
    for text in (b"b", b"c", b"d"):  # past the limit the table starts afresh
        memo.get(text, 11, lambda text=text: derive(text))
    memo.get(b"a", 11, lambda: derive("a after the limit"))
    assert calls == ["a", "a at 11", b"b", b"c", b"d", "a after the limit"]


@pytest.mark.parametrize("backend", ["memory", "file"])
def test_raw_documents_read_back_as_the_documents(backend, tmp_path):
    store = open_store("memory" if backend == "memory" else f"file:{tmp_path / 'state.db'}")
    docs = {1: {"id": 1, "tags": [1, 2], "big": 2**70, "name": "é"}, 2: {"id": 2}}
    for key, doc in docs.items():
        store.put("things", key, doc)
    raw = store.get_many_raw("things", [2, 9, 1])
    assert [json.loads(text) for text in raw] == [docs[2], docs[1]]
    store.put("things", 2, {"id": 2, "changed": True})
    assert store.get_many_raw("things", [2]) != raw[:1]
    if backend == "memory":  # a copy, or a state loaded, reads back the same texts
        loaded, copied = open_store("memory"), open_store("memory")
        loaded.load(store.dump())
        copied.load_from(store)
        for other in (loaded, copied):
            texts = other.get_many_raw("things", [1, 2])
            assert [json.loads(t) for t in texts] == [docs[1], {"id": 2, "changed": True}]


def test_listed_workspaces_show_every_change_and_the_clock():
    async def scenario():
        app = create_app(TwinOptions(seed=1337, epoch="2026-11-01"))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as api:
            await api.post("/_twin/clock", json={"freeze": True})

            async def listed(workspace_id: int) -> dict:
                page = await api.get("/meiro/workspaces?limit=100", headers=TOKEN)
                row = next(w for w in page.json()["workspaces"] if w["id"] == workspace_id)
                # The single read comes from the same memo of views: the same answer.
                one = await api.get(f"/meiro/workspaces/{workspace_id}", headers=TOKEN)
                assert one.json()["workspace"] == row
                return row

            catalog = (await api.get("/_twin/catalog")).json()["meiro"]
            workspace = catalog["workspace_ids"][-1]
            before = await listed(workspace)
            changed = await api.patch(
                f"/meiro/workspaces/{workspace}", json={"name": "renamed"}, headers=TOKEN
            )
            assert changed.status_code == 200
            assert (await listed(workspace))["name"] == "renamed"
            run = await api.post(f"/meiro/workspaces/{workspace}/jobs", headers=TOKEN)
            assert run.status_code == 201
            queued = await listed(workspace)
            assert queued["last_run"] != before["last_run"] and queued["last_run_duration"] is None
            await api.post("/_twin/clock", json={"advance_seconds": 3600})
            ended = await listed(workspace)
            assert ended["last_run_duration"] is not None  # the run ended as the clock moved
            assert ended["last_activity"] > queued["last_activity"]
            trashed = await api.delete(f"/meiro/workspaces/{workspace}", headers=TOKEN)
            assert trashed.status_code == 200
            gone = await api.get(f"/meiro/workspaces/{workspace}", headers=TOKEN)
            assert gone.status_code == 404

    asyncio.run(scenario())


def test_remembered_ended_runs_equal_fresh_ones():
    from apitwin.apis.ylem import runs as ylem_runs
    from apitwin.core.twin import Twin

    world = Twin(TwinOptions(seed=1337, epoch="2026-11-01")).default_world
    uuid = world.store.get_many(ylem_runs.PIPELINES, world.store.index_page("ylem.pipelines", 0, 1))
    uuid = uuid[0]["uuid"]
    index = ylem_runs.pipeline_run_index(uuid)
    numbers = world.store.index_range(index, 0, 1e12, descending=True)
    reader = ylem_runs.Runs(world)
    fresh = [reader._ended(run) for run in world.store.get_many(ylem_runs.RUNS, numbers)]
    assert len(fresh) > 100
    for _ in range(2):  # the second read comes from memory
        assert ylem_runs.Runs(world).pipeline_runs(uuid, 0, 1e12) == fresh


def test_kept_director_plans_equal_fresh_ones():
    from apitwin.apis.director import lifecycle as director_lifecycle

    tasks = [
        {"id": "a", "previous": []},
        {"id": "b", "previous": ["a"]},
        {"id": "c", "previous": ["a"]},
        {"id": "d", "previous": ["b", "c"]},
    ]
    for seed, created in itertools.product((1, 1337), (1_700_000_000, 1_700_000_060)):
        record = {"id": "f2b7", "created": created, "tasks": tasks}
        fresh = director_lifecycle._draw_plan(record, seed)
        assert director_lifecycle._plan(record, seed) == fresh
        assert director_lifecycle._plan(record, seed) == fresh  # kept
        other = {**record, "tasks": tasks[:2]}  # same id, other tasks: its own plan
        assert director_lifecycle._plan(other, seed) == director_lifecycle._draw_plan(other, seed)


def test_parameter_checks_refuse_as_connexions_validator_refuses():
    from connexion.operations import OpenAPIOperation
    from connexion.resolver import Resolver
    from connexion.validators import ParameterValidator

    from apitwin.pipeline import connexion_adapter as adapter
    from apitwin.pipeline.route_table import _Parameters

    limit = {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 50}}
    need = {"name": "need", "in": "query", "required": True, "schema": {"type": "string"}}
    header = {"name": "X-Mode", "in": "header", "schema": {"type": "string", "enum": ["a"]}}
    path = [{"name": "thing_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
    op = OpenAPIOperation(
        "get", "/things/{thing_id}", {"operationId": "op", "parameters": [limit, need, header],
        "responses": {"200": {}}}, path_parameters=path, components={},
        resolver=Resolver(function_resolver=lambda operation_id: print),
    )  # fmt: skip
    parser = adapter.uri_parser(op)
    ours = _Parameters(op.parameters, parser, ["api_key"])
    theirs = ParameterValidator(
        op.parameters, uri_parser=parser, strict_validation=True, security_query_params=["api_key"]
    )

    def request(query, headers, thing):
        scope = {"type": "http", "method": "GET", "path": "/things/1", "query_string": query,
                 "headers": headers, "path_params": {"thing_id": thing}}  # fmt: skip
        return adapter.request(scope, parser)

    def verdict(validator, query, headers, thing):
        try:
            validator.validate_request(request(query, headers, thing))
        except Exception as exc:  # noqa: BLE001 - the problem raised is what is compared
            return type(exc), exc.detail
        return None

    queries = [b"", b"need=x", b"need=x&limit=5", b"need=x&limit=500", b"need=x&limit=q",
               b"need=x&other=1", b"need=x&api_key=k", b"limit=5"]  # fmt: skip
    headers = [[], [(b"x-mode", b"a")], [(b"x-mode", b"b")]]
    for query, head, thing in itertools.product(queries, headers, (7, "x")):
        assert verdict(ours, query, head, thing) == verdict(theirs, query, head, thing)
        # What `apitwin proxy` names as the part refused: the parameter Connexion words.
        refused = ours.refused(request(query, head, thing))
        theirs_said = verdict(theirs, query, head, thing)
        assert (refused is None) == (theirs_said is None)
        if refused is not None and refused[1] is not None and "Missing" in theirs_said[1]:
            assert f"'{refused[1]}'" in theirs_said[1]
    assert ours.refused(request(b"need=x&other=1", [], 7)) == ("query", None)
    assert ours.refused(request(b"need=x&limit=q", [], 7)) == ("query", "limit")
    assert ours.refused(request(b"need=x", [], "x")) == ("path", "thing_id")
    assert ours.refused(request(b"need=x", [(b"x-mode", b"b")], 7)) == ("header", "X-Mode")
    assert verdict(ours, b"need=x", [], 7) is None
    assert verdict(ours, b"need=x&other=1", [], 7)[0].__name__ == "ExtraParameterProblem"


class _AnyHandler:
    """Handlers for a route table that is compiled, never called."""

    def __getattr__(self, operation_id):
        async def handler(**kwargs):
            raise AssertionError(operation_id)

        return handler


def _compare_bodies(strategy, rust, python, label: str, seen: dict, examples: int) -> None:
    import hypothesis
    from hypothesis import HealthCheck

    @hypothesis.given(strategy)
    @hypothesis.settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    def compare(case):
        try:  # what the twin checks: a JSON text, parsed
            body = json.loads(json.dumps(case.body))
        except (TypeError, ValueError):
            return
        if rust.is_valid(body):
            seen["accepted"] += 1
            assert python.is_valid(body), (label, body)
        else:
            seen["refused"] += 1

    compare()


def _specs() -> dict:
    from apitwin.apis import ADMIN_SPEC, SPECS_DIR

    specs = {api: SPECS_DIR / f"{api}.yaml" for api in ("ylem", "director", "meiro")}
    return {**specs, "_twin": SPECS_DIR / ADMIN_SPEC}


def _few_items(node):
    """A copy whose arrays hold at most two items (or their minimum): a body only to compare the
    two checks on, drawn in a fraction of the time a long list of nested objects takes."""
    if isinstance(node, list):
        return [_few_items(item) for item in node]
    if not isinstance(node, dict):
        return node
    copy = {key: _few_items(value) for key, value in node.items()}
    if copy.get("type") == "array":
        copy["maxItems"] = max(copy.get("minItems", 0), min(copy.get("maxItems", 2), 2))
    return copy


def _draw_both_ways(schemathesis_schema, operation_id, rust, python, seen, examples) -> None:
    from schemathesis.generation import GenerationMode

    operation = schemathesis_schema.find_operation_by_id(operation_id)
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        strategy = operation.as_strategy(generation_mode=mode)
        _compare_bodies(strategy, rust, python, operation_id, seen, examples)


@pytest.mark.slow  # draws hundreds of bodies from every schema
def test_the_rust_body_check_never_accepts_what_connexion_refuses():
    """The body's fast check (jsonschema-rs) decides alone only where it says valid, so it must
    never accept a body Connexion's validator refuses: every JSON-bodied operation the twin
    compiles from the four specs, on bodies schemathesis draws to fit and to break its schema."""
    import schemathesis
    from connexion.json_schema import Draft4RequestValidator
    from jsonschema import Draft4Validator

    from apitwin.apis.spec_index import load_spec
    from apitwin.pipeline.route_table import RouteTable

    seen = {"accepted": 0, "refused": 0}
    for api, path in _specs().items():
        table = RouteTable()
        table.add_api(api, "/", load_spec(path), _AnyHandler())
        drawn = schemathesis.openapi.from_dict(_few_items(load_spec(path)))
        for compiled in table.operations:
            check = compiled._body_validator("application/json")
            if check is None:
                continue
            python = Draft4RequestValidator(check[1], format_checker=Draft4Validator.FORMAT_CHECKER)
            # 15 a mode: the sweep over every JSON-bodied operation gives the breadth (about 160
            # accepted and 70 refused bodies in all); drawing is nearly all of the test's time.
            _draw_both_ways(drawn, compiled.operation_id, check[2], python, seen, examples=15)
    print(seen)
    assert seen["accepted"] > 100 and seen["refused"] > 50, seen


@pytest.mark.slow  # draws hundreds of bodies from every schema
def test_the_rust_response_check_never_passes_what_connexion_refuses():
    """The same for --validate-responses (pipeline/rust_check.py): every documented JSON success
    answer of every operation, on bodies drawn to fit and to break its schema. Schemathesis draws
    request bodies, so each answer's schema is posed as the body of an operation of its own."""
    import schemathesis
    from connexion.json_schema import Draft4ResponseValidator
    from jsonschema import Draft4Validator

    from apitwin.apis.spec_index import load_spec, resolve
    from apitwin.pipeline.route_table import RouteTable
    from apitwin.pipeline.rust_check import plainly_valid

    seen = {"accepted": 0, "refused": 0}
    for api, path in _specs().items():
        spec = load_spec(path)
        table = RouteTable()
        table.add_api(api, "/", load_spec(path), _AnyHandler())
        posed, schemas = {}, {}
        for compiled in table.operations:
            answers = spec["paths"][compiled.path][compiled.operation.method]["responses"]
            for status, answer in answers.items():
                if not str(status).startswith("2"):  # error bodies: small, flat, alike
                    continue
                schema = resolve(spec, answer).get("content", {}).get("application/json", {})
                if "schema" not in schema:
                    continue
                # The same schema at many operations (an error body) is drawn for once.
                resolved = compiled.operation.response_schema(str(status), "application/json")
                if any(resolved == other for other in schemas.values()):
                    continue
                name = f"{compiled.operation_id}_{status}"
                body = {"content": {"application/json": {"schema": schema["schema"]}}}
                posed[f"/{name}"] = {
                    "post": {
                        "operationId": name,
                        "requestBody": {"required": True, **body},
                        "responses": {"200": {"description": "-"}},
                    }
                }
                schemas[name] = resolved  # as Connexion hands it to the response validator
        drawn = schemathesis.openapi.from_dict(_few_items({**spec, "paths": posed}))
        for name, schema in schemas.items():
            python = Draft4ResponseValidator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)
            _draw_both_ways(drawn, name, plainly_valid(schema), python, seen, examples=3)
    print(seen)
    assert seen["accepted"] > 50 and seen["refused"] > 50, seen


def _fresh_director_views(world, at: float) -> list[dict]:
    """Every instance's view the long way: its record decoded and its run evaluated at `at`."""
    from apitwin.apis.director import state as director

    keys = world.store.index_page(director.BY_CREATED, 0, None, descending=True)
    reader = director.DirectorState(world)
    return [reader._view(record, at) for record in world.store.get_many(director.WORKFLOWS, keys)]


def test_kept_director_views_equal_fresh_ones():
    """Views and list rows kept per (stored text, second, seed) equal views evaluated afresh at
    the exact instant, through the runs' changes, writes (start, cancel, a lost worker), clock
    moves by fractions of a second and a world with another seed holding the same records."""
    from apitwin.apis.director import handlers
    from apitwin.apis.director import state as director
    from apitwin.core.twin import Twin

    twin = Twin(TwinOptions(seed=1337, epoch="2026-11-01"))
    world = twin.default_world
    world.clock.freeze(True)
    world.clock.set(world.epoch - 600)  # the newest instances still queued or running
    state = director.DirectorState(world)

    def check() -> None:
        fresh = _fresh_director_views(world, world.clock.now())
        total = len(fresh)
        assert director.DirectorState(world).page(1, total) == fresh
        listed = director.DirectorState(world).page(1, total, handlers._workflow)
        assert listed == [handlers._workflow(view) for view in fresh]
        for view in fresh[:5]:
            assert director.DirectorState(world).get(view["id"].upper()) == view

    started = state.start("example", "RANDOMS", {"n": 1})
    statuses = set()
    for step in range(80):  # through the started run's changes, by halves and odd fractions
        check()
        statuses.add(director.DirectorState(world).get(started["id"])["status"])
        world.clock.advance(0.5 if step % 3 else 0.25)
    assert {"pending", "progress"} <= statuses
    other = state.start("example", "ETL", {})
    check()  # a new instance shows at once
    state.cancel(other["id"], world.clock.now() + 2.5)
    world.clock.advance(1.75)
    check()
    world.clock.advance(1.5)
    check()  # canceled now
    assert director.DirectorState(world).get(other["id"])["status"] == "canceled"
    state.halt(started["id"], world.clock.now())
    world.clock.advance(3600)
    check()
    world.clock.advance(-7200.4)  # back in time too
    check()

    # The same stored records in a world with another seed: runs drawn from that seed.
    twin7 = Twin(TwinOptions(seed=7, epoch="2026-11-01"))
    world7 = twin7.default_world
    world7.clock.freeze(True)
    world7.clock.set(world.clock.now())
    world7.store.load_from(world.store)
    world7.store.meta_set("seed", 7)
    assert world7.seed == 7
    for _ in range(2):
        for w in (world, world7):
            fresh = _fresh_director_views(w, w.clock.now())
            assert director.DirectorState(w).page(1, len(fresh)) == fresh
    assert _fresh_director_views(world7, world.clock.now()) != _fresh_director_views(
        world, world.clock.now()
    )


def _forget_ylem_reads() -> None:
    """Empties every memo of Ylem's reads: what is read next is computed afresh."""
    from apitwin.apis.ylem import calendar as ylem_calendar
    from apitwin.apis.ylem import runs as ylem_runs

    for memo in (ylem_runs._DERIVED, ylem_runs._ENDED, ylem_runs._DECODED):
        memo.clear()
    ylem_calendar.plain.cache_clear()
    ylem_lifecycle.printed.cache_clear()


def _ylem_reads(world, pipeline: dict, today: str) -> dict:
    """Every statistic and log of one pipeline and its first task, as the state answers them."""
    from apitwin.apis.ylem.state import YlemState

    state = YlemState(world)
    uuid, task = pipeline["uuid"], pipeline["tasks"][0]["uuid"]
    windows = [("2026-08-01", "month", 6), ("2026-10-20", "day", 20), ("2026-09-07", "week", 12),
               ("2026-07-01", "quarter", 2), ("2026-01-01", "year", 1)]  # fmt: skip
    found = {}
    for first, period, count in windows:
        found[f"pipeline {period}"] = state.pipeline_aggregated(uuid, first, period, count)
        found[f"task {period}"] = state.task_aggregated(task, first, period, count)
    span = ("2026-08-01 00:00:00", f"{today} 23:59:59")
    found["pipeline stats"] = state.pipeline_stats(uuid, *span)
    found["task stats"] = state.task_stats(task, *span)
    found["pipeline last"] = state.pipeline_last_run(uuid)
    found["task last"] = state.task_last_run(task)
    found["log"] = list(state.pipeline_logs(uuid, f"{today} 00:00:00", f"{today} 23:59:59"))
    return found


def test_kept_ylem_statistics_and_logs_equal_fresh_ones():
    """Statistics and logs kept per window (the stored texts of its runs and their pipelines,
    the seed, the request's terms) equal those computed afresh, read twice (the second from the
    memos) through new runs, clock moves that let their ends in, a changed pipeline and a world
    with another seed holding the same runs."""
    from apitwin.apis.ylem import runs as ylem_runs
    from apitwin.apis.ylem.state import YlemState
    from apitwin.core.twin import Twin

    world = Twin(TwinOptions(seed=1337, epoch="2026-11-01")).default_world
    world.clock.freeze(True)
    world.clock.set(world.epoch + 3600.25)
    state = YlemState(world)
    pipeline = state.pipelines()[0]
    today = "2026-11-01"

    def check(w=world) -> dict:
        _ylem_reads(w, pipeline, today)
        kept = _ylem_reads(w, pipeline, today)
        _forget_ylem_reads()
        fresh = _ylem_reads(w, pipeline, today)
        assert kept == fresh
        return fresh

    first = check()
    assert first["log"] == [] and sum(p.successes for p in first["pipeline month"]) > 100
    state.start_run(pipeline["uuid"])  # ends a few seconds from now: not counted yet
    assert check() == first
    seen = []
    for _ in range(40):  # by odd fractions of a second, until the run has ended
        world.clock.advance(0.75)
        seen.append(check())
    last = seen[-1]
    assert last["log"] and last["pipeline last"] != first["pipeline last"]
    assert last["pipeline stats"] != first["pipeline stats"]
    months = last["pipeline month"]
    assert sum(p.successes + p.failures for p in months) == 1 + sum(
        p.successes + p.failures for p in first["pipeline month"]
    )
    # A pipeline changed in the store (an imported state): every read of its runs follows.
    changed = {**pipeline, "tasks": [{**t, "type": "gpt"} for t in pipeline["tasks"]]}
    world.store.put(ylem_runs.PIPELINES, pipeline["uuid"], changed)
    before = check()
    assert before != last
    # A run rewritten in place (an imported state), its index entries as they were.
    number = world.store.index_range(ylem_runs.pipeline_run_index(pipeline["uuid"]), 0, 1e12)[-1]
    run = world.store.get(ylem_runs.RUNS, number)
    world.store.put(ylem_runs.RUNS, number, {**run, "created_at": run["created_at"] - 7})
    rewritten = check()
    assert rewritten["log"] != before["log"]
    assert rewritten["pipeline last"] != before["pipeline last"]
    world.clock.advance(-86400 * 2)  # back in time: today's runs have not happened
    assert check()["log"] == []

    # The same stored runs in a world with another seed: what they did is that seed's.
    world7 = Twin(TwinOptions(seed=7, epoch="2026-11-01")).default_world
    world7.store.load_from(world.store)
    world7.store.meta_set("seed", 7)
    world7.clock.freeze(True)
    world7.clock.set(world.clock.now())
    assert world7.seed == 7
    assert check(world7) != check(world)


def test_drawn_uuids_are_the_uuid_modules_text():
    import uuid

    from apitwin.core import draws

    for seed, n in itertools.product((0, 1, 1337, 2**40), range(2000)):
        parts = ("director.task", f"id-{n}", n)
        digest = draws._digest(seed, parts)
        assert draws.uuid_for(seed, *parts) == str(uuid.UUID(bytes=digest[:16], version=4))


def _sent(app) -> list[dict]:
    messages = []

    async def send(message):
        messages.append(message)

    asyncio.run(app({"type": "http"}, None, send))
    return messages


def _route_table(twin):
    from apitwin.apis import selected
    from apitwin.apis.spec_index import load_spec
    from apitwin.pipeline.route_table import RouteTable

    table = RouteTable()
    for api in selected(None):
        module = api.module()
        table.add_api(
            api.name, api.base_path(False), load_spec(api.spec), module.Handlers(twin),
            module.security_map(twin),
        )  # fmt: skip
    return table


def test_a_handlers_answer_is_sent_as_starlettes_response_sends_it():
    from connexion import NoContent
    from starlette.responses import Response

    from apitwin.core.twin import Twin

    table = _route_table(Twin(TwinOptions(seed=1337, epoch="2026-11-01")))
    ping = next(op for op in table.operations if op.operation_id == "ping")
    json_type = {"Content-Type": "application/json"}
    results = [
        ({"message": "pong"}, 200, json_type),
        ({"id": 1}, 201, {**json_type, "Location": "/x/1", "Cache-Control": "no-store"}),
        ({"id": 1}, 200, {"content-type": "application/json", "Content-Length": "8"}),
        ("text", 200, json_type),
        ({"a": [1, 2]}, 202),
        ({"a": 1}, {"X-Other": "yes"}),
        ({"a": 1},),
        {"a": 1},
        (NoContent, 204, {}),
        (None, 200, json_type),
    ]
    for result in results:
        for _ in range(2):  # worked out, then kept
            # The long way: Starlette's Response of the encoded body, as Connexion builds it.
            data, status, headers = result if isinstance(result, tuple) and len(result) == 3 else (
                (result[0], result[1], {}) if isinstance(result, tuple) and len(result) == 2
                and isinstance(result[1], int) else (result[0], None, result[1])
                if isinstance(result, tuple) and len(result) == 2 else
                (result[0] if isinstance(result, tuple) else result, None, {})
            )  # fmt: skip
            media_type = next(
                (v for k, v in headers.items() if k.lower() == "content-type"), "application/json"
            )
            if data is NoContent:
                data = None
            elif data is not None and not isinstance(data, bytes):
                data = json.dumps(data, separators=(",", ":")).encode()
            if not any(k.lower() == "content-type" for k in headers):
                headers = {**headers, "Content-Type": media_type}
            status = status or (204 if data is None else 200)
            long_way = Response(data, status_code=status, headers=headers, media_type=media_type)
            assert _sent(ping.response(result)) == _sent(long_way), result


def _request_scope(headers) -> dict:
    return {"type": "http", "method": "GET", "path": "/", "query_string": b"", "headers": headers}


def _verify(operation, scope):
    """Connexion's verification of a request: ("ok", its context) or ("refused", the problem)."""
    from connexion.lifecycle import ConnexionRequest

    request = ConnexionRequest(scope, uri_parser=operation.uri_parser)
    try:
        asyncio.run(operation.verify(request))
    except Exception as exc:  # noqa: BLE001 - compared below
        return "refused", (type(exc), getattr(exc, "status", None), getattr(exc, "detail", None))
    return "ok", request.context


@pytest.mark.parametrize("director_auth", [None, "ada:secret"])
def test_the_security_shortcut_passes_only_what_connexion_passes_and_sets_the_same_context(
    director_auth,
):
    from apitwin.apis.ylem.state import YlemState
    from apitwin.core.twin import Twin

    twin = Twin(TwinOptions(seed=1337, epoch="2026-11-01", director_basic_auth=director_auth))
    table = _route_table(twin)
    state = YlemState(twin.world())
    full = state.issue_token("twin-client", "twin-secret", "client_credentials", None)
    stats_only = state.issue_token("twin-client", "twin-secret", "client_credentials", "stats:read")
    token = full.access_token.encode()
    basic = "Basic " + base64.b64encode(b"ada:secret").decode()
    credentials = [
        [],
        [(b"x-access-token", b"twin-token")],
        [(b"x-access-token", b"wrong")],
        [(b"X-Access-Token".lower(), b"")],
        [(b"authorization", f"Bearer {full.access_token}".encode())],
        [(b"authorization", f"bearer   {full.access_token}".encode())],
        [(b"authorization", f"Bearer {stats_only.access_token}".encode())],
        [(b"authorization", b"Bearer not-a-token")],
        [(b"authorization", b"Bearer")],
        [(b"authorization", b"")],
        [(b"authorization", basic.encode())],
        [(b"authorization", b"Token abc"), (b"authorization", b"Bearer " + token)],
    ]
    shortcuts = 0
    for operation in table.operations:
        if operation.verified is None:
            continue
        for headers in credentials:
            context = {}
            outcome = _verify(operation, _request_scope(headers))
            if operation.verified(_request_scope(headers), context):
                shortcuts += 1
                assert outcome == ("ok", context), (operation.operation_id, headers)
            else:  # Connexion's verification runs, and refuses
                assert context == {}, (operation.operation_id, headers)
                assert outcome[0] == "refused", (operation.operation_id, headers)
    assert shortcuts > 50  # every API's good credentials took it


def test_a_drawn_random_source_is_random_randoms_own():
    import hashlib
    import random

    from apitwin.core import draws

    for seed, parts in [(1337, ("ylem.run", 7)), (1, ("fault", 3, 2)), (0, ()), (2**40, ("x",))]:
        text = ":".join([str(seed), *map(str, parts)]).encode()
        assert draws._digest(seed, parts) == hashlib.sha256(text).digest()
        number = int.from_bytes(draws._digest(seed, parts)[:8], "big")
        drawn, own = draws.rng(seed, *parts), random.Random(number)
        assert type(drawn) is random.Random and drawn.getstate() == own.getstate()
        for source in (drawn, own):
            source.values = [source.random(), source.randint(1, 10**9), source.gauss(0, 1)]
        assert drawn.values == own.values


def test_meiro_shapes_and_selections_are_what_the_long_way_makes():
    import dataclasses

    from apitwin.apis.meiro.records import Page
    from apitwin.apis.meiro.shapes import WorkspaceShapes

    for page in (Page(), Page(limit=5, offset=10, order_by="name", order_dir="DESC")):
        assert list(page.selection().items()) == list(dataclasses.asdict(page).items())
    shapes = WorkspaceShapes.load()
    every = shapes._fields["Workspace"]
    row = {name: f"value of {name}" for name in reversed(every)} | {"extra": 1}
    for shape, names in shapes._fields.items():
        cut = shapes.cut(shape, row)
        assert list(cut.items()) == [(name, row[name]) for name in names]
    with pytest.raises(KeyError):
        shapes.cut("Workspace", {"id": 1})


def test_a_kept_route_is_the_one_the_table_finds():
    from apitwin.core.twin import Twin
    from apitwin.pipeline.route_table import RouteLayer

    table = _route_table(Twin(TwinOptions(seed=1337, epoch="2026-11-01")))
    layer = RouteLayer(None, table, None)
    paths = ["/meiro/workspaces/7", "/meiro/workspaces/x", "/meiro/workspaces/7/", "/nowhere"]
    paths += ["/director/api/ping", "/ylem/oauth/token", "/_twin/faults/3", "/meiro/workspaces/8"]
    for method in ("GET", "POST", "DELETE"):
        for path in paths * 2:  # found, then kept
            assert layer._find(method, path) == table.find(method, path), (method, path)
    scope = {"path_params": {}}
    operation, params = layer._find("GET", "/meiro/workspaces/7")
    scope["path_params"].update(params)
    scope["path_params"]["workspace_id"] = 8  # a request's own parameters: not the kept ones
    assert layer._find("GET", "/meiro/workspaces/7")[1] == {"workspace_id": 7}


def test_a_requests_header_is_the_one_starlettes_headers_give():
    from starlette.datastructures import Headers

    from apitwin.pipeline.http import header

    raw = [(b"host", b"x"), (b"prefer", b"code=404"), (b"prefer", b"delay=5"), (b"origin", b"o")]
    scope = {"type": "http", "headers": raw}
    for name in (b"host", b"prefer", b"origin", b"content-type"):
        found = Headers(scope=scope).get(name.decode())
        assert header(scope, name) == (found.encode("latin-1") if found is not None else None)
    handed_on = {**scope, "headers": [(b"origin", b"elsewhere")]}  # another list: read afresh
    assert header(handed_on, b"origin") == b"elsewhere" and header(handed_on, b"host") is None
    assert header(scope, b"origin") == b"o"


def test_an_integer_past_64_bits_in_a_body_is_kept_exact(twin):
    """The fast body path reads JSON with orjson, which turns an integer past 64 bits into a
    float; Connexion's json.loads keeps it an int, and so must the twin (Director keeps a
    workflow's payload as it was sent)."""
    digits = "123456789012345678901234"
    text = '{"project": "example", "name": "ETL", "payload": {"n": %s, "m": -%s}}'
    started = twin.post(
        "/director/api/workflows",
        content=text % (digits, digits),
        headers={"Content-Type": "application/json"},
    )
    assert started.status_code == 201, started.text
    read = twin.get(f"/director/api/workflows/{started.json()['id']}")
    assert f'"n":{digits}' in read.text.replace(" ", "")
    assert read.json()["payload"] == {"n": int(digits), "m": -int(digits)}
