"""Durability of `--store file:PATH`, at the server's level: a twin killed with SIGKILL in the
middle of a write storm restarts on the same file holding every write it acknowledged; a damaged
file stops the start with a message naming it, and is left as it was.

A write in flight when the kill landed was not acknowledged: it may or may not have been kept,
but nothing else is allowed.
"""

from __future__ import annotations

import hashlib
import socket
import sqlite3
import threading
import time
from dataclasses import dataclass, field

import httpx
import pytest
from support import TEST_EPOCH

from apitwin.core.store.file import FileStore
from apitwin.serve.process import TwinProcess

pytestmark = pytest.mark.slow  # starts processes of its own

M = "/meiro"
TOKEN = {"X-Access-Token": "twin-token"}
THREADS = 8
PER_THREAD = 150  # requests at most; the kill comes long before
STORM_CAP_S = 60.0


@dataclass
class Written:
    """One workspace as the server acknowledged it, and the change in flight at the kill."""

    names: list[str]
    descriptions: list[str]
    in_flight: dict | None = None


@dataclass
class Ledger:
    lock: threading.Lock = field(default_factory=threading.Lock)
    workspaces: dict[int, Written] = field(default_factory=dict)
    acknowledged: int = 0
    creates_in_flight: list[str] = field(default_factory=list)


def _storm(url: str, n: int, round_: int, ledger: Ledger, stop: threading.Event) -> None:
    """Creates a workspace, then changes it, again and again, until the server dies."""
    deadline = time.monotonic() + STORM_CAP_S
    with httpx.Client(base_url=url, headers=TOKEN, timeout=10) as client:
        mine: list[int] = []
        for i in range(PER_THREAD):
            if stop.is_set() or time.monotonic() > deadline:
                return
            if i % 3 == 0 or not mine:
                name = f"r{round_} t{n} #{i}"
                try:
                    answer = client.post(f"{M}/workspaces", json={"name": name})
                except httpx.HTTPError:
                    ledger.creates_in_flight.append(name)
                    return
                assert answer.status_code == 201, answer.text
                workspace_id = answer.json()["workspace"]["id"]
                with ledger.lock:
                    assert workspace_id not in ledger.workspaces, "an id was handed out twice"
                    ledger.workspaces[workspace_id] = Written([name], [""])
                    ledger.acknowledged += 1
                mine.append(workspace_id)
                continue
            workspace_id = mine[i % len(mine)]
            written = ledger.workspaces[workspace_id]
            change = {"name": f"{written.names[0]} v{i}", "description": f"round {round_} #{i}"}
            written.in_flight = change
            try:
                answer = client.patch(f"{M}/workspaces/{workspace_id}", json=change)
            except httpx.HTTPError:
                return  # the kill: this change stays in flight
            assert answer.status_code == 200, answer.text
            with ledger.lock:
                written.names.append(change["name"])
                written.descriptions.append(change["description"])
                written.in_flight = None
                ledger.acknowledged += 1


def _check(url: str, ledger: Ledger) -> int:
    """Every acknowledged write is there with its content; returns how many in-flight were."""
    kept_in_flight = 0
    with httpx.Client(base_url=url, headers=TOKEN, timeout=30) as client:
        for workspace_id, written in ledger.workspaces.items():
            path = f"{M}/workspaces/{workspace_id}"
            answer = client.get(path)
            assert answer.status_code == 200, f"acknowledged workspace {workspace_id} lost"
            workspace = answer.json()["workspace"]
            history = client.get(path + "/history", params={"limit": 1000}).json()["history_list"]
            names = [entry["workspace"]["name"] for entry in history]
            acknowledged = (written.names[-1], written.descriptions[-1])
            now = (workspace["name"], workspace["description"])
            if now == acknowledged:
                assert names == [written.names[-1], *written.names[:-1]]
            else:  # only the change in flight may have landed, after every acknowledged one
                change = written.in_flight
                assert change is not None and now == (change["name"], change["description"]), (
                    f"workspace {workspace_id}: {now}, acknowledged {acknowledged}"
                )
                assert names == [change["name"], *written.names]
                written.names.append(change["name"])
                written.descriptions.append(change["description"])
                kept_in_flight += 1
            written.in_flight = None
    return kept_in_flight


def test_a_twin_killed_mid_storm_restarts_with_every_acknowledged_write(tmp_path):
    path = tmp_path / "state.db"
    args = ("--store", f"file:{path}", "--epoch", TEST_EPOCH)
    ledger = Ledger()
    # Two kills, each after a different number of acknowledged writes; the second on two workers,
    # on the file the first kill left behind.
    for round_, (kill_after, workers) in enumerate([(40, "1"), (90, "2")]):
        server = TwinProcess(*args, "--workers", workers, ready_timeout=60)
        server.start()
        try:
            if round_:  # what the kill before left behind, read by a new server
                kept = _check(server.url, ledger)
                print(
                    f"\nround {round_}: {len(ledger.workspaces)} workspaces intact, "
                    f"{kept} in-flight changes kept"
                )
            before = ledger.acknowledged
            stop = threading.Event()
            threads = [
                threading.Thread(target=_storm, args=(server.url, n, round_, ledger, stop))
                for n in range(THREADS)
            ]
            for thread in threads:
                thread.start()
            deadline = time.monotonic() + STORM_CAP_S
            while ledger.acknowledged - before < kill_after and time.monotonic() < deadline:
                time.sleep(0.005)
            assert ledger.acknowledged - before >= kill_after, "the storm did not get going"
            server.kill()  # SIGKILL to the server and its workers, mid-storm
        finally:
            stop.set()
            server.stop()
        for thread in threads:
            thread.join(timeout=30)
        assert not any(thread.is_alive() for thread in threads)
    with TwinProcess(*args, ready_timeout=60) as server:
        kept = _check(server.url, ledger)
        # Unacknowledged creates may have landed too, but no more of them than were in flight.
        listed = (
            server.url
            and httpx.get(
                f"{server.url}{M}/workspaces",
                headers=TOKEN,
                params={"limit": 100_000, "name_filter": "t"},
            ).json()["workspaces"]
        )
    ours = {w["id"] for w in listed if w["name"].startswith("r")}
    assert set(ledger.workspaces) <= ours
    assert len(ours - set(ledger.workspaces)) <= len(ledger.creates_in_flight)
    print(f"after 2 kills: {ledger.acknowledged} acknowledged writes, all kept; {kept} in flight")


# --- damaged files -------------------------------------------------------------------------


def _write_then_stop(folder, workers: str) -> tuple[bytes, list[str], int]:
    """A served world with one workspace written, stopped cleanly (SIGTERM): the state file's
    bytes, the files left in its folder, and the workspace's id."""
    path = folder / "state.db"
    args = ("--store", f"file:{path}", "--epoch", TEST_EPOCH)
    with TwinProcess(*args, "--workers", workers, ready_timeout=60) as twin:
        created = httpx.post(f"{twin.url}{M}/workspaces", headers=TOKEN, json={"name": "kept"})
        assert created.status_code == 201
    left = sorted(entry.name for entry in folder.iterdir())
    if left != ["state.db"]:  # fold what a failed clean stop left, for the damaged-file tests
        conn = sqlite3.connect(path)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()
    return path.read_bytes(), left, created.json()["workspace"]["id"]


@pytest.fixture(scope="module")
def stopped_on_one_worker(tmp_path_factory) -> tuple[bytes, list[str], int]:
    """A whole state file (`_write_then_stop`), the base of the damaged ones."""
    return _write_then_stop(tmp_path_factory.mktemp("whole"), "1")


def _damaged(whole: bytes, damage: str) -> bytes:
    # The garbage's pattern repeats every 256 bytes: repeated, not made byte by byte (seconds).
    garbage = bytes((i * 131 + 7) % 256 for i in range(256)) * (len(whole) // 256 + 1)
    return {
        "empty": b"",
        "cut in the header": whole[:60],
        "cut in half": whole[: len(whole) // 2],
        "cut by one page": whole[:-4096],
        "garbage": garbage[: len(whole)],
        "text": b"this is not a twin's state\n" * 100,
    }[damage]


@pytest.mark.parametrize(
    "damage",
    ["empty", "cut in the header", "cut in half", "cut by one page", "garbage", "text"],
)
def test_a_damaged_state_file_stops_the_start_and_is_left_alone(
    tmp_path, stopped_on_one_worker, damage, capsys
):
    """`apitwin serve` in process: the store is opened before anything is bound or served."""
    from apitwin.cli import build_parser

    path = tmp_path / "state.db"
    path.write_bytes(_damaged(stopped_on_one_worker[0], damage))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    # A port held here: a start that took the file would stop at the bind, never serve.
    with socket.create_server(("127.0.0.1", 0)) as held:
        port = str(held.getsockname()[1])
        args = build_parser().parse_args(["serve", "--store", f"file:{path}", "--port", port])
        code = args.run(args)
    printed = capsys.readouterr()
    assert code != 0, printed.out  # never a silent (empty) world
    assert "listening" not in printed.out
    assert str(path) in printed.err and "cannot listen" not in printed.err
    assert len(printed.err.strip().splitlines()) == 1, printed.err  # one clear line
    assert hashlib.sha256(path.read_bytes()).hexdigest() == digest


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_clean_stop_leaves_the_world_in_the_file_alone(tmp_path, workers, request):
    """Stopped cleanly (SIGTERM), the twin folds SQLite's write-ahead log into the state file:
    that one file, copied elsewhere, is the whole world. On one worker these are the bytes the
    damaged-file tests cut: this is also their control, the same bytes undamaged serve."""
    if workers == "1":
        whole, left, written = request.getfixturevalue("stopped_on_one_worker")
    else:
        (tmp_path / "served").mkdir()
        whole, left, written = _write_then_stop(tmp_path / "served", workers)
    assert "state.db-wal" not in left, left
    copy = tmp_path / "copy" / "state.db"
    copy.parent.mkdir()
    copy.write_bytes(whole)
    with TwinProcess("--store", f"file:{copy}", ready_timeout=60) as twin:
        listed = httpx.get(
            f"{twin.url}{M}/workspaces", headers=TOKEN, params={"name_filter": "kept"}
        ).json()["workspaces"]
    assert [w["id"] for w in listed] == [written]


def test_journal_entries_skip_the_fsync_yet_survive_a_kill(tmp_path):
    """The request journal is written without waiting for the disk (FileStore.log_append):
    it still survives a SIGKILL, and the writes after it are fsynced as before."""
    path = tmp_path / "state.db"
    args = ("--store", f"file:{path}", "--epoch", TEST_EPOCH)
    server = TwinProcess(*args, ready_timeout=60).start()
    try:
        with httpx.Client(base_url=server.url, headers=TOKEN, timeout=10) as client:
            for _ in range(5):
                assert client.get(f"{M}/workspaces/100").status_code == 200
    finally:
        server.kill()
    store = FileStore(path)
    try:
        synchronous = store._db().execute("PRAGMA synchronous").fetchone()[0]
        store.log_append("journal", {"probe": 1}, 500)
        assert store._db().execute("PRAGMA synchronous").fetchone()[0] == synchronous == 2
        paths = [entry.get("path") for entry in store.log_read("journal")]
    finally:
        store.close()
    assert paths.count(f"{M}/workspaces/100") == 5
