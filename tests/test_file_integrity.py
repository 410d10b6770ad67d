"""A state file that lacks what a world needs, or holds rows that do not parse, stops the start
with one line naming the file and what is wrong, and is left byte for byte."""

from __future__ import annotations

import hashlib
import sqlite3
import subprocess
import sys

import pytest
from support import TEST_EPOCH

from apitwin.core.store import StoreError, open_store
from apitwin.core.twin import Twin
from apitwin.options import TwinOptions

DAMAGE = {
    "a dropped table": ("DROP TABLE sequences", "table sequences is missing"),
    "a document that is not JSON": (
        "UPDATE docs SET body = '{not json' WHERE rowid = (SELECT min(rowid) FROM docs)",
        "a row of docs does not parse",
    ),
    "a document that is not an object": (
        "UPDATE docs SET body = '[1, 2]' WHERE rowid = (SELECT min(rowid) FROM docs)",
        "a row of docs does not parse",
    ),
    "a seed that is not JSON": (
        "UPDATE meta SET value = 'seed?' WHERE key = 'seed'",
        "a row of meta does not parse",
    ),
    "a journal entry that is not JSON": (
        "INSERT INTO logs (ns, name, entry) VALUES ('apitwin', 'requests', '{')",
        "a row of logs does not parse",
    ),
    "a sequence that is not a number": (
        "UPDATE sequences SET value = 'x' WHERE rowid = (SELECT min(rowid) FROM sequences)",
        "a row of sequences does not parse",
    ),
    "a lost seed row": ("DELETE FROM meta WHERE key = 'seed'", "holds a world but no seed"),
}


@pytest.fixture
def state_file(tmp_path):
    path = tmp_path / "twin.db"
    store = f"file:{path}"
    twin = Twin(TwinOptions(store=store, epoch=TEST_EPOCH))
    twin.default_world.store.close()
    return path


def _damage(path, sql: str) -> str:
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute(sql)
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        conn.close()
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_file_stops_the_start_and_is_left_alone(state_file, damage):
    sql, message = DAMAGE[damage]
    digest = _damage(state_file, sql)
    with pytest.raises(StoreError, match=message) as raised:
        Twin(TwinOptions(store=f"file:{state_file}", epoch=TEST_EPOCH))
    assert str(state_file) in str(raised.value)
    assert hashlib.sha256(state_file.read_bytes()).hexdigest() == digest


def test_an_intact_file_opens_and_keeps_its_world(state_file):
    store = open_store(f"file:{state_file}")
    try:
        assert store.holds_data() and store.meta_get("seed") is not None
    finally:
        store.close()


@pytest.mark.slow
def test_serve_says_it_in_one_line_and_exits_1(state_file):
    _damage(state_file, "DELETE FROM meta WHERE key = 'seed'")
    done = subprocess.run(
        [sys.executable, "-m", "apitwin", "serve", "--store", f"file:{state_file}", "--port", "1"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    said = [line for line in done.stderr.splitlines() if line.startswith("apitwin serve:")]
    assert len(said) == 1 and "holds a world but no seed" in said[0], done.stderr
    assert str(state_file) in said[0] and "Traceback" not in done.stderr
