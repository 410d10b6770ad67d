"""Per-session worlds (`X-Twin-Session`) over HTTP, one suite run on memory, file and Redis.

Each backend gets two twins: `lane` with the default options, `full` with response validation
on. On file and Redis they are two processes on one store, so they share the default world and
every session; on memory two apps in this process, each with its own (as two processes would
be). A third twin, `sleepy`, whose sessions expire after a second idle, is served in this process
too: expiry is no matter of processes. They serve the `empty` world: a session is made the same
way at any size (a copy of the seed's build), and a small one keeps this suite fast;
`test_a_standard_session_is_the_seeded_world_byte_for_byte` checks that size.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import sqlite3
import time

import httpx
import pytest
from support import TEST_EPOCH, TEST_SEED, in_process, redis_db

from apitwin.app import create_app
from apitwin.core.twin import Twin
from apitwin.options import TwinOptions
from apitwin.pipeline import route_table
from apitwin.serve.process import TwinProcess

pytestmark = pytest.mark.slow  # starts processes of its own

MEIRO = {"X-Access-Token": "twin-token"}
PIPELINE = "5c0b8a3e-7f4d-4e9a-8c21-1d6f3b2a9e40"  # the Ylem spec's documented pipeline
SESSION_CAP = 4
REDIS_DB = 11  # a database of its own: session worlds live under prefixes a test cannot guess


def _args(store: str, *extra: str) -> tuple[str, ...]:
    return (
        "--seed",
        str(TEST_SEED),
        "--epoch",
        TEST_EPOCH,
        "--world",
        "empty",
        "--store",
        store,
        *extra,
    )


def _options(store: str, **extra) -> TwinOptions:
    """`_args` for a twin in this process."""
    return TwinOptions(seed=TEST_SEED, epoch=TEST_EPOCH, world="empty", store=store, **extra)


@pytest.fixture(scope="module", params=["memory", "file", "redis"])
def stores(request, tmp_path_factory):
    """Two stores of one backend: one for the `lane` and `full` twins, one for `sleepy` (whose
    sweeps would drop the others' sessions after a second if it shared their registry)."""
    if request.param == "memory":
        yield "memory", "memory"
    elif request.param == "file":
        folder = tmp_path_factory.mktemp("sessions")
        yield f"file:{folder / 'twin.db'}", f"file:{folder / 'sleepy.db'}"
    else:
        import redis

        url = request.getfixturevalue("redis_url")
        urls = redis_db(url, REDIS_DB), redis_db(url, REDIS_DB + 1)
        clients = [redis.Redis.from_url(u) for u in urls]
        for client in clients:
            client.flushdb()
        try:
            yield urls
        finally:
            for client in clients:
                client.flushdb()
                client.close()


@pytest.fixture(scope="module")
def store(stores) -> str:
    return stores[0]


@pytest.fixture(scope="module")
def servers(stores):
    """Clients of (lane, full): default options; responses validated.

    On file and Redis, processes of their own on one store, started side by side (a twin takes
    seconds to start on a busy machine). On memory, two apps served in this process: two
    worlds, as two processes hold, for a fraction of the start-up."""
    with contextlib.ExitStack() as stack:
        if stores[0] == "memory":
            apps = [
                create_app(_options("memory", max_sessions=SESSION_CAP)),
                create_app(_options("memory", max_sessions=SESSION_CAP, validate_responses=True)),
            ]
            yield [stack.enter_context(in_process(app)) for app in apps]
            return
        capped = _args(stores[0], "--max-sessions", str(SESSION_CAP))
        made = [TwinProcess(*capped), TwinProcess(*capped, "--validate-responses")]
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            for server in made:
                stack.callback(server.stop)
            for started in [pool.submit(server.start) for server in made]:
                started.result()
        # One client each for the module: a new httpx client costs tens of ms of CPU.
        yield [stack.enter_context(_client(server)) for server in made]


@pytest.fixture(scope="module")
def sleepy(stores):
    """A client of a twin in this process whose sessions expire after a second idle, on a store
    of its own (its sweeps would drop the others' sessions if it shared their registry)."""
    app = create_app(_options(stores[1], session_idle=1))
    try:
        with in_process(app) as client:
            yield client
    finally:
        if stores[1] != "memory":  # a memory store has nothing to close
            app.twin.default_world.store.close()


def _client(server: TwinProcess) -> httpx.Client:
    return httpx.Client(base_url=server.url, timeout=30.0)


@pytest.fixture
def lane(servers):
    return servers[0]


@pytest.fixture
def full(servers, lane):
    yield servers[1]
    # The next test starts with no sessions (tests never rely on a pristine default world).
    for each in (lane, servers[1]):  # on memory, each process has its own
        for name in _names(each):
            assert each.delete(f"/_twin/sessions/{name}").status_code == 204


def _names(client: httpx.Client) -> list[str]:
    answer = client.get("/_twin/sessions")
    assert answer.status_code == 200, answer.text
    return [s["name"] for s in answer.json()["sessions"]]


def _as(session: str | None) -> dict[str, str]:
    return {**MEIRO, **({"X-Twin-Session": session} if session else {})}


def _create(client, session: str | None, name: str) -> int:
    answer = client.post("/meiro/workspaces", json={"name": name}, headers=_as(session))
    assert answer.status_code == 201, answer.text
    return answer.json()["workspace"]["id"]


def _status(client, session: str | None, workspace_id: int) -> int:
    return client.get(f"/meiro/workspaces/{workspace_id}", headers=_as(session)).status_code


def _workspace_names(client, session: str | None) -> set[str]:
    answer = client.get("/meiro/workspaces", params={"limit": 1000}, headers=_as(session))
    assert answer.status_code == 200, answer.text
    return {w["name"] for w in answer.json()["workspaces"]}


def _state(client, session: str | None) -> dict:
    answer = client.get("/_twin/state", headers=_as(session))
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_each_session_has_its_own_world_with_and_without_response_validation(lane, full):
    for client, tag in ((lane, "lane"), (full, "full")):
        in_a = _create(client, f"a-{tag}", "made in A")
        in_default = _create(client, None, "made in the default world")
        assert _status(client, f"a-{tag}", in_a) == 200
        # The same id is free in every other world: each was seeded alike, then went its way.
        assert {"made in A"} & _workspace_names(client, f"b-{tag}") == set()
        assert {"made in A"} & _workspace_names(client, None) == set()
        assert {"made in the default world"} & _workspace_names(client, f"a-{tag}") == set()
        assert "made in the default world" in _workspace_names(client, None)
        if tag == "lane":  # on file and Redis, `full` shares the default world lane changed
            assert in_a == in_default  # both the next id of the same seeded world
    answer = lane.get("/meiro/workspaces", headers=_as("a-lane"))
    assert answer.headers["x-twin-session"] == "a-lane"


def test_the_handler_answers_from_the_sessions_world(monkeypatch):
    """In process, to see the operation's handler itself answer from the session's world."""
    served = []
    respond = route_table.CompiledOperation.response

    def counted(operation, result):
        served.append(operation.operation_id)
        return respond(operation, result)

    monkeypatch.setattr(route_table.CompiledOperation, "response", counted)
    app = create_app(TwinOptions(seed=TEST_SEED, epoch=TEST_EPOCH))
    transport = httpx.ASGITransport(app=app)

    async def calls():
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            made = await client.post("/meiro/workspaces", json={"name": "l"}, headers=_as("l"))
            path = f"/meiro/workspaces/{made.json()['workspace']['id']}"
            served.clear()
            in_session = await client.get(path, headers=_as("l"))
            assert in_session.json()["workspace"]["name"] == "l"
            assert served == ["get_workspace"]  # the handler answered, from the session's world
            assert (await client.get(path, headers=_as(None))).status_code == 404

    asyncio.run(calls())


def test_a_new_session_is_the_seeded_world_byte_for_byte(lane, full):
    _create(lane, None, "changes the default world")
    fresh = _state(full, "fresh")
    lane.post("/_twin/reset")
    default = _state(lane, None)
    for state in (fresh, default):
        state["meta"].pop("clock", None)
    assert fresh == default


def test_a_standard_session_is_the_seeded_world_byte_for_byte():
    """In process, on memory: the standard world, which the HTTP twins here do not serve."""
    twin = Twin(TwinOptions(seed=TEST_SEED, epoch=TEST_EPOCH))
    seeded = twin.default_world.store.dump()
    twin.default_world.store.put("meiro.workspaces", 1, {"id": 1, "name": "a change"})
    session = twin.sessions.open("standard").store.dump()
    assert session == seeded and session["docs"]["meiro.workspaces"]


def test_reset_acts_on_the_callers_world_only(lane, full):
    a, b = _create(lane, "a", "in A"), _create(lane, "b", "in B")
    default = _create(lane, None, "in default")
    assert lane.post("/_twin/reset", headers={"X-Twin-Session": "a"}).status_code == 200
    assert _status(lane, "a", a) == 404
    assert _status(lane, "b", b) == 200 and _status(lane, None, default) == 200
    again = _create(lane, "a", "in A again")
    assert lane.post("/_twin/reset").status_code == 200
    assert _status(lane, None, default) == 404
    assert _status(lane, "a", again) == 200 and _status(lane, "b", b) == 200


def test_sessions_are_listed_and_dropped(store, lane, full):
    started = time.time()
    _create(lane, "alpha", "x")
    _create(full, "beta", "y")
    listed = full.get("/_twin/sessions").json()
    assert listed["max_sessions"] == SESSION_CAP and listed["idle_seconds"] == 1800
    sessions = {s["name"]: s for s in listed["sessions"]}
    # One store: every process sees both. Memory: each process its own.
    assert set(sessions) == ({"beta"} if store == "memory" else {"alpha", "beta"})
    beta = sessions["beta"]
    created = time.mktime(time.strptime(beta["created"], "%Y-%m-%dT%H:%M:%SZ")) - time.timezone
    assert started - 2 <= created <= time.time() + 1
    assert beta["created"] <= beta["last_used"] < beta["expires"]

    assert full.delete("/_twin/sessions/beta").status_code == 204
    assert "beta" not in _names(full)
    gone = full.delete("/_twin/sessions/beta")
    assert gone.status_code == 404 and gone.headers["content-type"] == "application/problem+json"
    # Used again, it is a fresh copy of the seeded world.
    assert "y" not in _workspace_names(full, "beta")
    assert "beta" in _names(full)


def test_an_invalid_session_name_is_a_400_in_the_apis_own_shape(full):
    for name in ["", "a b", "a/b", "a:b", "x" * 65, "é", "semi;colon", "../up"]:
        answer = full.get(
            "/meiro/workspaces", headers={**MEIRO, "X-Twin-Session": name.encode("utf-8")}
        )
        assert answer.status_code == 400, (name, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"
        body = answer.json()
        assert body["status"] == 400 and "X-Twin-Session" in body["detail"]
        assert body["message"] == body["detail"]  # Meiro's own error field
    # Ylem's shape on a Ylem path; and a refusal still carries CORS headers.
    answer = full.get(
        "/ylem/v1/oauth/token", headers={"X-Twin-Session": "no way", "Origin": "http://ui.test"}
    )
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_request"
    assert answer.headers["access-control-allow-origin"] == "*"
    assert _names(full) == []


def test_the_session_cap_refuses_new_sessions_until_one_goes(lane, full):
    for n in range(SESSION_CAP):
        _create(lane, f"s{n}", "x")
    refused = lane.get("/meiro/workspaces", headers=_as("one-too-many"))
    assert refused.status_code == 429, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert "--max-sessions" in refused.json()["detail"]
    assert int(refused.headers["retry-after"]) >= 1
    # Sessions that exist still answer; dropping one makes room.
    assert lane.get("/meiro/workspaces", headers=_as("s0")).status_code == 200
    assert lane.delete("/_twin/sessions/s1").status_code == 204
    assert lane.get("/meiro/workspaces", headers=_as("one-too-many")).status_code == 200


def test_two_first_requests_at_once_seed_the_session_once(store, lane, full):
    def first_call(client):
        return client.post("/meiro/workspaces", json={"name": "race"}, headers=_as("race"))

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(first_call, [lane, full, lane, full]))
    assert [a.status_code for a in answers] == [201] * 4
    # Seeded twice, the second seeding would have wiped what the first requests wrote.
    per_world = 2 if store == "memory" else 4  # memory: each process has its own session
    for client in (lane, full):
        made = _state(client, "race")["docs"]["meiro.workspaces"]
        assert sum(1 for _, w in made if w["name"] == "race") == per_world
    assert len({a.json()["workspace"]["id"] for a in answers}) == 4 if per_world == 4 else 2


def test_journal_faults_clock_and_prefer_act_per_session(full):
    # Journal: a session's requests are in its journal only.
    full.get("/meiro/workspaces", headers={**_as("j"), "X-Probe": "session"})
    full.get("/meiro/workspaces", headers={**_as(None), "X-Probe": "default"})
    probes = {
        session: [
            e["request_headers"].get("x-probe")
            for e in full.get("/_twin/requests", headers=_as(session)).json()["requests"]
        ]
        for session in ("j", None)
    }
    assert "session" in probes["j"] and "default" not in probes["j"]
    assert "default" in probes[None] and "session" not in probes[None]

    # Faults: a rule added in a session fails that session's calls only.
    rule = {"api": "meiro", "effect": "status", "status": 503}
    assert full.post("/_twin/faults", json=rule, headers=_as("f")).status_code == 201
    assert full.get("/meiro/workspaces", headers=_as("f")).status_code == 503
    assert full.get("/meiro/workspaces", headers=_as(None)).status_code == 200
    assert full.get("/meiro/workspaces", headers=_as("j")).status_code == 200
    assert full.delete("/_twin/sessions/f").status_code == 204  # room under the cap

    # Clock: frozen and moved in a session, running in real time elsewhere.
    moved = {"set": "2030-01-01T00:00:00Z", "freeze": True}
    assert full.post("/_twin/clock", json=moved, headers=_as("j")).json()["now"].startswith("2030")
    assert full.get("/_twin/clock", headers=_as("j")).json()["frozen"] is True
    assert full.get("/_twin/clock").json()["frozen"] is False

    # Prefer: a canned answer in a session is noted in that session's journal only. (Its
    # generated answers count per world too, but take seconds each to make.)
    canned = full.get("/meiro/workspaces/100", headers={**_as("j"), "Prefer": "code=404"})
    assert canned.status_code == 404 and canned.headers["preference-applied"] == "code=404"

    def prefer_notes(session):
        entries = full.get("/_twin/requests", headers=_as(session)).json()["requests"]
        return [e["twin"] for e in entries if e["twin"].get("prefer")]

    assert prefer_notes("j") == [{"prefer": "code=404"}] and prefer_notes(None) == []


def test_a_ylem_token_belongs_to_its_sessions_world(full):
    credentials = {
        "client_id": "twin-client",
        "client_secret": "twin-secret",
        "grant_type": "client_credentials",
    }
    answer = full.post("/ylem/v1/oauth/token", params=credentials, headers=_as("y"))
    assert answer.status_code == 200, answer.text
    bearer = {"Authorization": f"Bearer {answer.json()['access_token']}"}
    runs = f"/ylem/v1/pipelines/{PIPELINE}/runs/"
    assert full.post(runs, headers={**bearer, **_as("y")}).status_code == 201
    assert full.post(runs, headers=bearer).status_code == 401


def test_processes_on_one_store_share_sessions(store, lane, full):
    if store == "memory":
        pytest.skip("a memory store is one process's own")
    made = _create(lane, "shared", "written through one process")
    assert "written through one process" in _workspace_names(full, "shared")
    assert full.post("/_twin/reset", headers=_as("shared")).status_code == 200
    assert _status(lane, "shared", made) == 404
    assert full.delete("/_twin/sessions/shared").status_code == 204
    assert "shared" not in _names(lane)
    # `lane` still has the session open: its next request makes the session afresh, never
    # serves the prefix `full` emptied (an unseeded world: no seed, no pipelines).
    catalog = lane.get("/_twin/catalog", headers=_as("shared")).json()
    assert catalog["seed"] == TEST_SEED and catalog["ylem"]["pipelines"]
    assert "shared" in _names(full)


def test_an_idle_session_is_dropped_and_made_afresh(stores, sleepy):
    store = stores[1]
    shared = store != "memory"
    client = sleepy
    _create(client, "sleepy", "before the nap")
    assert _stored_rows(store, "sleepy") > 0 or not shared
    # Listing sweeps; no other request touches the session meanwhile. (No assertion that
    # it is listed first: a busy machine may take longer than the idle second to ask.)
    deadline = time.monotonic() + 10
    while "sleepy" in _names(client) and time.monotonic() < deadline:
        time.sleep(0.25)
    assert "sleepy" not in _names(client)
    assert _stored_rows(store, "sleepy") == 0  # its data left the backend
    assert "before the nap" not in _workspace_names(client, "sleepy")  # made afresh
    assert _stored_rows(store, "sleepy") > 0 or not shared


def _stored_rows(store: str, session: str) -> int:
    """Rows (file) or keys (Redis) a session's world holds in the backend."""
    prefix = f"apitwin:session:{session}"
    if store.startswith("file:"):
        with sqlite3.connect(store.removeprefix("file:")) as db:
            tables = ("docs", "sequences", "entries", "meta", "logs")
            return sum(
                db.execute(f"SELECT count(*) FROM {t} WHERE ns = ?", (prefix,)).fetchone()[0]
                for t in tables
            )
    if store.startswith("redis://"):
        import redis

        with redis.Redis.from_url(store) as client:
            return len(list(client.scan_iter(match=prefix + ":*")))
    return 0
