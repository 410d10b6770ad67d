"""The state backends: one contract suite run against memory, file (SQLite) and Redis, then what
only the shared backends promise: durability across kill -9, refusal of damaged files, ids and
locks that hold across processes."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from apitwin.core.store import MemoryStore, Store, StoreError, open_store
from apitwin.core.store.file import FileStore

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ["memory", "file", "redis"]


@pytest.fixture
def make_store(request, tmp_path):
    """`make_store(backend, prefix)`: stores on one file / one Redis, cleared and closed after.

    Redis prefixes get a per-test tag, so tests sharing the server never see each other.
    """
    tag = f"t{uuid.uuid4().hex[:8]}"
    made: list[Store] = []

    def make(backend: str, prefix: str = "apitwin") -> Store:
        if backend == "memory":
            store: Store = MemoryStore()
        elif backend == "file":
            store = FileStore(tmp_path / "state.db", prefix=prefix)
        else:
            url = request.getfixturevalue("redis_url")
            store = open_store(url, prefix=f"{tag}:{prefix}")
        made.append(store)
        return store

    yield make
    for store in made:
        if not isinstance(store, MemoryStore):
            store.clear()
            store.close()


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def store(make_store, backend) -> Store:
    return make_store(backend)


# --- the contract, on every backend ----------------------------------------------------------


def test_documents_put_get_delete_count(store):
    assert store.get("users", 1) is None
    store.put("users", 1, {"id": 1, "name": "ada", "tags": ["a"]})
    store.put("users", "1", {"id": "1"})  # 1 and "1" are different keys
    assert store.get("users", 1) == {"id": 1, "name": "ada", "tags": ["a"]}
    assert store.get("users", "1") == {"id": "1"}
    assert store.count("users") == 2
    assert store.count("other") == 0
    store.put("users", 1, {"id": 1, "name": "grace"})
    assert store.get("users", 1) == {"id": 1, "name": "grace"}
    store.delete("users", 1)
    store.delete("users", 99)  # absent: no error
    assert store.get("users", 1) is None
    assert store.count("users") == 1


def test_documents_are_copied_in_and_out(store):
    doc = {"id": 1, "tags": ["a"]}
    store.put("users", 1, doc)
    doc["tags"].append("changed after put")
    got = store.get("users", 1)
    got["tags"].append("changed after get")
    store.get_many("users", [1])[0]["tags"].append("changed after get_many")
    next(store.scan("users"))["tags"].append("changed after scan")
    assert store.get("users", 1) == {"id": 1, "tags": ["a"]}


def test_get_many_keeps_the_order_asked_and_skips_missing(store):
    for key in (1, 2, 3):
        store.put("users", key, {"id": key})
    assert store.get_many("users", [3, 9, 1, 2]) == [{"id": 3}, {"id": 1}, {"id": 2}]
    assert store.get_many("users", []) == []
    assert store.get_many("nothing", [1]) == []


def test_scan_in_insertion_order_an_update_keeps_its_place(store):
    for key in ("b", "a", "c"):
        store.put("things", key, {"k": key})
    store.put("things", "a", {"k": "a", "v": 2})  # update: same place
    store.delete("things", "b")
    store.put("things", "b", {"k": "b"})  # deleted then added: goes last
    assert list(store.scan("things")) == [{"k": "a", "v": 2}, {"k": "c"}, {"k": "b"}]
    assert list(store.scan("empty")) == []


def test_next_id_counts_per_sequence(store):
    assert [store.next_id("a") for _ in range(3)] == [1, 2, 3]
    assert store.next_id("b") == 1
    assert store.next_id("a") == 4


def test_index_pages_both_ways(store):
    for member, score in [(1, 30.0), (2, 10.0), (3, 20.0), (4, 40.5), (5, 5)]:
        store.index_add("by_time", member, score)
    assert store.index_count("by_time") == 5
    assert store.index_page("by_time", 0, None) == [5, 2, 3, 1, 4]
    assert store.index_page("by_time", 1, 2) == [2, 3]
    assert store.index_page("by_time", 0, None, descending=True) == [4, 1, 3, 2, 5]
    assert store.index_page("by_time", 1, 2, descending=True) == [1, 3]
    assert store.index_page("by_time", 4, 10, descending=True) == [5]
    assert store.index_page("by_time", 3, 10) == [1, 4]
    # offsets at or past the end, and empty pages
    for descending in (False, True):
        assert store.index_page("by_time", 5, 10, descending) == []
        assert store.index_page("by_time", 50, None, descending) == []
        assert store.index_page("by_time", 0, 0, descending) == []
        assert store.index_page("missing", 0, 10, descending) == []
    assert store.index_count("missing") == 0


def test_index_re_add_moves_and_remove_drops(store):
    for member, score in [("a", 1), ("b", 2), ("c", 3)]:
        store.index_add("idx", member, score)
    store.index_add("idx", "a", 9)  # re-add: moves, not duplicated
    assert store.index_page("idx", 0, None) == ["b", "c", "a"]
    assert store.index_count("idx") == 3
    store.index_remove("idx", "c")
    store.index_remove("idx", "zzz")  # absent: no error
    assert store.index_page("idx", 0, None) == ["b", "a"]
    assert store.index_count("idx") == 2


def test_index_ties_order_by_member(store):
    # Equal scores sort by member: integers numerically, text by code point.
    for member in (10, 2, 33, 1):
        store.index_add("ints", member, 7)
    assert store.index_page("ints", 0, None) == [1, 2, 10, 33]
    assert store.index_page("ints", 0, None, descending=True) == [33, 10, 2, 1]
    for member in ("b", "B", "a", "ä"):
        store.index_add("texts", member, 0)
    assert store.index_page("texts", 0, None) == ["B", "a", "b", "ä"]


def test_index_range_reads_a_score_window(store):
    for member, score in [(1, 10), (2, 20), (3, 20), (4, 30), (5, 40.5)]:
        store.index_add("by_time", member, score)
    assert store.index_range("by_time", 20, 30) == [2, 3, 4]  # both ends included
    assert store.index_range("by_time", 20, 30, descending=True) == [4, 3, 2]
    assert store.index_range("by_time", 15, 45, offset=1, limit=2) == [3, 4]
    assert store.index_range("by_time", 15, 45, offset=1, limit=2, descending=True) == [4, 3]
    assert store.index_range("by_time", 15, 45, offset=3) == [5]
    assert store.index_range("by_time", float("-inf"), float("inf")) == [1, 2, 3, 4, 5]
    for descending in (False, True):
        assert store.index_range("by_time", 41, 50, descending=descending) == []
        assert store.index_range("by_time", 10, 40.5, offset=9, descending=descending) == []
        assert store.index_range("by_time", 10, 40.5, limit=0, descending=descending) == []
        assert store.index_range("missing", 0, 100, descending=descending) == []


def test_meta_values(store):
    assert store.meta_get("clock") is None
    assert store.meta_get("clock", {"offset": 0}) == {"offset": 0}
    store.meta_set("clock", {"offset": 1.5, "frozen_at": None})
    store.meta_set("seed", 1337)
    store.meta_get("clock")["offset"] = 99  # a copy
    assert store.meta_get("clock") == {"offset": 1.5, "frozen_at": None}
    assert store.meta_get("seed") == 1337
    store.meta_delete("clock")
    store.meta_delete("never-set")
    assert store.meta_get("clock", "gone") == "gone"


def test_logs_are_capped_newest_last(store):
    assert store.log_read("journal") == []
    for n in range(5):
        store.log_append("journal", {"n": n}, cap=3)
    assert store.log_read("journal") == [{"n": 2}, {"n": 3}, {"n": 4}]
    store.log_append("journal", {"n": 5}, cap=2)  # a smaller cap trims the older entries
    assert store.log_read("journal") == [{"n": 4}, {"n": 5}]
    store.log_read("journal")[0]["n"] = "changed"
    assert store.log_read("journal")[0] == {"n": 4}


def test_logs_are_bounded_by_bytes_too(store):
    entry = {"v": "x" * 1000}
    for _ in range(10):
        store.log_append("journal", entry, cap=100, max_bytes=5000)
    size = store.log_bytes("journal") // 4  # every entry the same size as stored
    assert 1000 < size < 1100
    assert store.log_read("journal") == [entry] * 4 and store.log_bytes("journal") <= 5000
    store.log_append("journal", {"n": 1}, cap=100, max_bytes=5000)  # small: all four stay
    assert len(store.log_read("journal")) == 5
    store.log_append("journal", {"v": "y" * 6000}, cap=100, max_bytes=5000)  # too big alone
    assert store.log_read("journal") == [] and store.log_bytes("journal") == 0
    store.log_append("journal", {"n": 2}, cap=100, max_bytes=5000)
    assert store.log_read("journal") == [{"n": 2}]
    store.log_append("journal", {"n": 3}, cap=1)  # no bound on bytes: only the count
    assert store.log_read("journal") == [{"n": 3}] and 0 < store.log_bytes("journal") < 20


def _fill(store: Store) -> None:
    store.put("users", 2, {"id": 2, "name": "b"})
    store.put("users", 1, {"id": 1, "name": "a", "nested": {"x": [1, 2]}})
    store.put("runs", "r-1", {"id": "r-1"})
    store.next_id("users")
    store.next_id("users")
    store.index_add("users_by_id", 1, 1)
    store.index_add("users_by_id", 2, 2)
    store.index_add("runs_by_time", "r-1", 1700000000.25)
    store.meta_set("seed", 7)
    store.meta_set("clock", {"offset": 0.0, "frozen_at": 1700000000.0})
    store.log_append("journal", {"path": "/x"}, cap=10)


def test_clear_drops_everything(store):
    _fill(store)
    store.clear()
    assert store.dump() == {"docs": {}, "sequences": {}, "indexes": {}, "meta": {}}
    assert store.get("users", 1) is None
    assert store.count("users") == 0
    assert list(store.scan("users")) == []
    assert store.index_count("users_by_id") == 0
    assert store.meta_get("seed") is None
    assert store.log_read("journal") == []
    assert store.next_id("users") == 1


def test_lock_serialises_in_process_and_nests(store):
    with store.lock("workflow-1"):
        value = store.meta_get("counter", 0)
        store.meta_set("counter", value + 1)
        with store.lock("workflow-1"), store.lock("other"):
            store.put("runs", 1, {"id": 1})
    assert store.meta_get("counter") == 1
    assert store.get("runs", 1) == {"id": 1}


def test_an_error_inside_lock_leaves_the_store_usable(store):
    with pytest.raises(RuntimeError), store.lock("x"):
        raise RuntimeError("handler failed")
    store.put("after", 1, {"ok": True})
    with store.lock("x"):
        assert store.get("after", 1) == {"ok": True}


@pytest.mark.parametrize("target", BACKENDS)
def test_dump_loads_into_every_backend(make_store, backend, target):
    source = make_store(backend, "source")
    _fill(source)
    dumped = source.dump()
    dest = make_store(target, "dest")
    dest.put("stale", 1, {"old": True})  # replaced, not merged
    dest.load(dumped)
    assert dest.dump() == dumped
    assert dest.get("stale", 1) is None
    assert [d["id"] for d in dest.scan("users")] == [2, 1]  # insertion order survives
    assert dest.index_page("users_by_id", 0, None, descending=True) == [2, 1]
    assert dest.get("users", 1)["nested"] == {"x": [1, 2]}
    assert dest.next_id("users") == 3
    assert dest.meta_get("clock") == {"offset": 0.0, "frozen_at": 1700000000.0}


def test_a_bad_dump_is_refused_and_changes_nothing(store):
    store.put("users", 1, {"id": 1})
    for bad in ({}, {"docs": 1, "sequences": {}, "indexes": {}, "meta": {}}, "text"):
        with pytest.raises(StoreError):
            store.load(bad)
    assert store.get("users", 1) == {"id": 1}


# --- prefixes: several worlds on one file or one Redis ---------------------------------------


@pytest.mark.parametrize("backend", ["file", "redis"])
def test_prefixes_keep_worlds_apart(make_store, backend):
    main = make_store(backend, "apitwin")
    session = make_store(backend, "apitwin:session-1")  # a longer prefix is another world
    for world in (main, session):
        _fill(world)
    session.put("users", 3, {"id": 3})
    assert main.get("users", 3) is None
    assert main.next_id("users") == 3
    assert session.next_id("users") == 3
    main.clear()
    assert main.count("users") == 0
    assert session.count("users") == 3
    assert session.log_read("journal") == [{"path": "/x"}]
    main.load(session.dump())
    assert main.count("users") == 3
    session.clear()
    assert main.count("users") == 3


# --- open_store ------------------------------------------------------------------------------


def test_open_store_urls(tmp_path):
    assert isinstance(open_store("memory"), MemoryStore)
    for url in (f"file:{tmp_path / 'a.db'}", f"file://{tmp_path / 'b.db'}"):
        opened = open_store(url)
        assert isinstance(opened, FileStore)
        opened.close()
    assert (tmp_path / "a.db").is_file() and (tmp_path / "b.db").is_file()
    for bad in ("file:", "postgres://x", "mem"):
        with pytest.raises(StoreError, match="memory"):
            open_store(bad)


def test_unreachable_redis_is_a_store_error():
    pytest.importorskip("redis")
    with pytest.raises(StoreError, match="127.0.0.1:1"):
        open_store("redis://127.0.0.1:1/0")


# --- the file backend: durable, and loud about damage ----------------------------------------


def test_file_reopen_keeps_everything(tmp_path):
    path = tmp_path / "state.db"
    first = FileStore(path)
    _fill(first)
    before = first.dump()
    first.close()
    again = FileStore(path)
    assert again.dump() == before
    assert again.log_read("journal") == [{"path": "/x"}]
    assert again.next_id("users") == 3
    again.close()
    assert not list(tmp_path.glob(".state.db.*")), "no temporary file left behind"


def test_a_version_1_file_is_upgraded_with_its_log_sizes(tmp_path):
    path = tmp_path / "old.db"
    made = FileStore(path)
    _fill(made)
    made.log_append("journal", {"path": "/y"}, cap=10)
    sizes = made.log_bytes("journal")
    made.close()
    with contextlib.closing(sqlite3.connect(path)) as old:  # back to version 1's logs table
        old.executescript(
            "DROP INDEX logs_by_size; ALTER TABLE logs DROP COLUMN size; "
            "CREATE INDEX logs_by_name ON logs (ns, name, id); PRAGMA user_version = 1;"
        )
    again = FileStore(path)
    assert again.log_bytes("journal") == sizes > 0
    assert again.log_read("journal") == [{"path": "/x"}, {"path": "/y"}]
    again.log_append("journal", {"path": "/z"}, cap=10, max_bytes=sizes)  # the oldest goes
    assert again.log_read("journal") == [{"path": "/y"}, {"path": "/z"}]
    again.close()
    with contextlib.closing(sqlite3.connect(path)) as upgraded:
        assert upgraded.execute("PRAGMA user_version").fetchone()[0] == 2
    FileStore(path).close()  # opens again as it is


def _filled_file(path: Path, rows: int = 300) -> None:
    store = FileStore(path)
    with store.lock("fill"):  # one transaction: one fsync
        for n in range(rows):
            store.put("docs", n, {"n": n, "pad": "x" * 200})
    store.close()


@pytest.mark.parametrize(
    "damage",
    ["truncated", "garbage", "empty", "header only", "another sqlite file"],
)
def test_a_damaged_file_is_refused_at_open(tmp_path, damage):
    path = tmp_path / "state.db"
    if damage == "another sqlite file":
        with sqlite3.connect(path) as other:
            other.execute("CREATE TABLE t (x)")
        other.close()
    else:
        _filled_file(path)
        data = path.read_bytes()
        kept = {
            "truncated": data[: len(data) // 2],
            "garbage": os.urandom(len(data)),
            "empty": b"",
            "header only": data[:50],
        }[damage]
        path.write_bytes(kept)
    damaged = path.read_bytes()
    with pytest.raises(StoreError) as error:
        FileStore(path)
    assert str(path) in str(error.value)
    assert path.read_bytes() == damaged  # left as it was for inspection, never replaced


_CHILD = """
import sys
from apitwin.core.store import open_store

url, prefix, mode, n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
store = open_store(url, prefix=prefix)
print("ready", flush=True)
sys.stdin.readline()  # start together
if mode == "ids":
    print(" ".join(str(store.next_id("shared")) for _ in range(n)), flush=True)
elif mode == "locked":
    for _ in range(n):
        with store.lock("counter"):
            value = store.meta_get("counter", 0)
            store.put("noise", value, {"v": value})  # widen the read-modify-write window
            store.meta_set("counter", value + 1)
elif mode == "storm":
    for i in range(store.count("storm"), n):
        with store.lock("storm"):  # a document and its index entry: both or neither
            store.put("storm", i, {"i": i, "pad": "x" * 100})
            store.index_add("storm_by_i", i, i)
        print(i, flush=True)
"""


def _children(url: str, prefix: str, mode: str, n: int, count: int = 2) -> list[subprocess.Popen]:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _CHILD, url, prefix, mode, str(n)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    for proc in procs:
        assert proc.stdout.readline().strip() == "ready"
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    return procs


@pytest.mark.slow
def test_file_survives_kill_9_mid_write_storm(tmp_path):
    path = tmp_path / "state.db"
    reported: list[int] = []
    for stop_after in (150, 300, 450):  # three kills, each at whatever moment it lands
        (child,) = _children(f"file:{path}", "apitwin", "storm", 3000, count=1)
        try:
            while len(reported) < stop_after:
                line = child.stdout.readline()
                assert line, "the writer stopped early"
                reported.append(int(line))
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=10)
            child.stdin.close()
            child.stdout.close()
        assert child.returncode == -signal.SIGKILL
        reopened = FileStore(path)  # opens: no StoreError, the file is whole
        try:
            kept = [doc["i"] for doc in reopened.scan("storm")]
            assert set(reported) <= set(kept)  # every answered write survived
            assert kept == list(range(len(kept)))  # nothing half-written, lost or reordered
            assert reopened.index_page("storm_by_i", 0, None) == kept  # transactions whole
        finally:
            reopened.close()


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["file", "redis"])
def test_ids_are_unique_across_processes(request, tmp_path, backend):
    url = (
        f"file:{tmp_path / 'ids.db'}" if backend == "file" else request.getfixturevalue("redis_url")
    )
    prefix = f"ids{uuid.uuid4().hex[:8]}"
    procs = _children(url, prefix, "ids", 200)
    ids = []
    for proc in procs:
        out, _ = proc.communicate(timeout=30)
        assert proc.returncode == 0
        ids += [int(i) for i in out.split()]
    assert sorted(ids) == list(range(1, 401))
    store = open_store(url, prefix=prefix)
    assert store.next_id("shared") == 401
    store.clear()
    store.close()


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["file", "redis"])
def test_lock_serialises_across_processes(request, tmp_path, backend):
    url = (
        f"file:{tmp_path / 'lock.db'}"
        if backend == "file"
        else request.getfixturevalue("redis_url")
    )
    prefix = f"lock{uuid.uuid4().hex[:8]}"
    procs = _children(url, prefix, "locked", 60)
    for proc in procs:
        proc.communicate(timeout=30)
        assert proc.returncode == 0
    store = open_store(url, prefix=prefix)
    try:
        assert store.meta_get("counter") == 120  # no increment lost
    finally:
        store.clear()
        store.close()


@pytest.mark.parametrize("backend", ["memory", "file"])
def test_a_clean_stop_closes_the_store_of_every_backend(backend, tmp_path):
    """`apitwin serve` closes its store at the lifespan's shutdown (serve/workers.closing_store):
    every backend can be closed, memory too, and the shutdown completes."""
    import asyncio

    from apitwin.app import create_app
    from apitwin.options import TwinOptions
    from apitwin.serve.workers import closing_store

    store = "memory" if backend == "memory" else f"file:{tmp_path / 'twin.db'}"
    app = closing_store(create_app(TwinOptions(store=store)))
    arriving = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent = []

    async def receive():
        return next(arriving)

    async def send(message):
        sent.append(message["type"])

    asyncio.run(app({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send))
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
