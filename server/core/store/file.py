"""`--store file:PATH`: the world in one SQLite file, shared by every process that opens it.

Why SQLite in WAL mode rather than an append-only journal with compaction: SQLite already is a
crash-safe journal. With `synchronous=FULL` every commit is fsynced to the write-ahead log before
the call returns, so a write is durable once answered, and a kill -9 at any moment leaves either
the old or the new transaction, never half of one; recovery and checkpoints (the compaction) are
SQLite's, tested far beyond anything hand-written. It also gives what several `--workers` need
for free: transactions, an atomic counter (one UPSERT ... RETURNING), and a cross-process write
lock (`BEGIN IMMEDIATE`) that `lock(name)` holds for the whole read-modify-write sequence. WAL
lets readers go on while one process writes. The stdlib `sqlite3` means no new dependency.

Every row carries the store's `prefix`, so a per-session world is the same file under another
prefix, and `clear()` drops only its own rows.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from apitwin.core.store.base import Doc, Member, Store, StoreError

# Written into the SQLite header, so a SQLite file of another program is refused, not reused.
APPLICATION_ID = 0x61707477  # "aptw"
SCHEMA_VERSION = 2  # 2: logs.size; a version 1 file is upgraded when opened
# Several workers queue for the write lock; a twin's transactions take milliseconds.
BUSY_TIMEOUT_MS = 30_000
# Bound on SQL variables per statement when reading many keys.
_CHUNK = 500

# Keys, members and scores are untyped columns: SQLite then keeps 7 and "7" apart, as Python does,
# and orders integers before text and text by code point, like the memory backend's sorted lists.
_SCHEMA = """
CREATE TABLE docs (
    ns TEXT NOT NULL, collection TEXT NOT NULL, key NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (ns, collection, key)
);
CREATE TABLE sequences (
    ns TEXT NOT NULL, name TEXT NOT NULL, value INTEGER NOT NULL,
    PRIMARY KEY (ns, name)
);
CREATE TABLE entries (
    ns TEXT NOT NULL, idx TEXT NOT NULL, member NOT NULL, score NOT NULL,
    PRIMARY KEY (ns, idx, member)
);
CREATE INDEX entries_by_score ON entries (ns, idx, score, member);
CREATE TABLE meta (
    ns TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL,
    PRIMARY KEY (ns, key)
);
CREATE TABLE logs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, ns TEXT NOT NULL, name TEXT NOT NULL,
    entry TEXT NOT NULL, size INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX logs_by_size ON logs (ns, name, id, size);
"""
_TABLES = ("docs", "sequences", "entries", "meta", "logs")
# Version 1 -> 2: each log entry's size (its JSON is ASCII: characters are bytes), kept in the
# index, so the sum of a log's sizes is read from the index alone, never from the entries.
_UPGRADE_1 = """
ALTER TABLE logs ADD COLUMN size INTEGER NOT NULL DEFAULT 0;
UPDATE logs SET size = length(entry);
DROP INDEX logs_by_name;
CREATE INDEX logs_by_size ON logs (ns, name, id, size);
PRAGMA user_version = 2;
"""


# SQLite's integers are 64-bit: a larger key cannot be stored, so it names nothing, and binding
# it would raise OverflowError. Offsets and limits beyond it mean "all the rest".
_INT64 = 2**63 - 1


def _storable(key: Member) -> bool:
    return not isinstance(key, int) or -_INT64 - 1 <= key <= _INT64


def _clamp(number: int) -> int:
    return max(min(number, _INT64), -1)


def _encode(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _parse_dump(data: Doc) -> tuple[dict, dict, dict, dict]:
    """The parts of a `dump()`, checked the way the memory backend checks them."""
    try:
        docs = {c: [(k, d) for k, d in rows] for c, rows in data["docs"].items()}
        seqs = {k: int(v) for k, v in data["sequences"].items()}
        indexes = {i: [(s, m) for s, m in rows] for i, rows in data["indexes"].items()}
        meta = dict(data["meta"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise StoreError(f"not a twin state dump: {exc}") from exc
    return docs, seqs, indexes, meta


class FileStore(Store):
    def __init__(self, path: str | os.PathLike, prefix: str = "apitwin") -> None:
        self.path = Path(path)
        self.prefix = prefix
        # One connection per process (a connection must not cross a fork), shared by its threads
        # under this lock; `_depth` counts nested transactions of the thread holding it.
        self._guard = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._depth = 0
        self._connect()

    # --- opening -----------------------------------------------------------------------------

    def _fail(self, problem: str) -> StoreError:
        return StoreError(f"state file {str(self.path)!r}: {problem}")

    def _create(self) -> None:
        """Make a new state file next to PATH, then link it into place.

        A crash while creating then leaves no half-made file at PATH, so an empty or headless
        file there can only be damage, and is reported as such.
        """
        directory = self.path.parent
        try:
            directory.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=directory)
            os.close(fd)
            try:
                conn = sqlite3.connect(temp, isolation_level=None)
                try:
                    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
                    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
                    conn.executescript(f"BEGIN; {_SCHEMA} COMMIT;")
                    conn.execute("PRAGMA journal_mode = WAL")  # persists in the file
                finally:
                    conn.close()
                with open(temp, "rb") as made:
                    os.fsync(made.fileno())
                try:  # a hard link never replaces: if another process won the race, keep theirs
                    os.link(temp, self.path)
                except FileExistsError:
                    return
                except OSError:  # a file system without hard links
                    if self.path.exists():
                        return
                    os.replace(temp, self.path)
                dir_fd = os.open(directory, os.O_RDONLY)
                try:
                    os.fsync(dir_fd)
                finally:
                    os.close(dir_fd)
            finally:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(temp)
        except (OSError, sqlite3.Error) as exc:
            raise self._fail(f"cannot create it: {exc}") from exc

    def _connect(self) -> None:
        if not self.path.exists():
            self._create()
        if self.path.is_file() and self.path.stat().st_size == 0:
            raise self._fail("the file is empty (truncated?); move it away to start a new world")
        try:
            conn = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=30
            )
        except sqlite3.Error as exc:
            raise self._fail(f"cannot open it: {exc}") from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if app_id != APPLICATION_ID:
                raise self._fail("not an apitwin state file (a SQLite file of something else)")
            if version not in (1, SCHEMA_VERSION):
                raise self._fail(f"schema version {version}, this twin reads {SCHEMA_VERSION}")
            if conn.execute("PRAGMA journal_mode = WAL").fetchone()[0].lower() != "wal":
                raise self._fail("cannot switch it to WAL mode")
            conn.execute("PRAGMA synchronous = FULL")
            problems = [row[0] for row in conn.execute("PRAGMA quick_check")]
            if problems != ["ok"]:
                raise self._fail(f"corrupt: {'; '.join(problems[:3])}")
            self._check_rows(conn)
            if version == 1:
                self._upgrade(conn)
        except sqlite3.DatabaseError as exc:
            conn.close()
            raise self._fail(f"corrupt or not a state file: {exc}") from exc
        except StoreError:
            conn.close()
            raise
        self._conn, self._pid, self._depth = conn, os.getpid(), 0

    def _upgrade(self, conn: sqlite3.Connection) -> None:
        """A version 1 file to version 2, in one transaction under the write lock; another
        process may have done it first, so the version is read again under the lock."""
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("PRAGMA user_version").fetchone()[0] == 1:
                for statement in filter(str.strip, _UPGRADE_1.split(";")):
                    conn.execute(statement)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def _check_rows(self, conn: sqlite3.Connection) -> None:
        """Every table there and every row readable, checked at open (SQLite's JSON functions,
        in C: well under a second for a large world), so damage stops the start instead of
        answering 500s later."""
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        missing = [table for table in _TABLES if table not in tables]
        if missing:
            raise self._fail(f"table {missing[0]} is missing; move the file away to start anew")
        checks = (
            (
                "docs",
                "ns || ' ' || collection || ' ' || key",
                "CASE WHEN json_valid(body) THEN json_type(body) IS NOT 'object' ELSE 1 END",
            ),
            ("meta", "ns || ' ' || key", "NOT json_valid(value)"),
            ("logs", "ns || ' ' || name || ' #' || id", "NOT json_valid(entry)"),
            ("sequences", "ns || ' ' || name", "typeof(value) != 'integer'"),
            ("entries", "ns || ' ' || idx", "typeof(score) NOT IN ('integer', 'real')"),
        )
        for table, where, broken in checks:
            try:
                found = conn.execute(f"SELECT {where} FROM {table} WHERE {broken} LIMIT 1")
                row = found.fetchone()
            except sqlite3.DatabaseError as exc:  # a table of the wrong shape
                raise self._fail(f"table {table} is not a twin's: {exc}") from exc
            if row is not None:
                raise self._fail(f"a row of {table} does not parse ({row[0]}); the file is damaged")

    def holds_data(self) -> bool:
        ns = (self.prefix,)
        return any(
            self._read(f"SELECT 1 FROM {table} WHERE ns = ? LIMIT 1", ns)
            for table in ("docs", "sequences", "entries")
        )

    def close(self) -> None:
        with self._guard:
            if self._conn is not None and self._pid == os.getpid():
                # Folds the write-ahead log into the file, so once the twin has stopped the file
                # alone holds the world (to copy or back up), even while another connection of
                # the process (a session registry) keeps the log from being deleted.
                with contextlib.suppress(sqlite3.Error):
                    self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                self._conn.close()
            self._conn = None

    def _db(self) -> sqlite3.Connection:
        if self._conn is None or self._pid != os.getpid():
            self._connect()  # first use after a fork: the parent's connection is not ours
        return self._conn

    # --- transactions ------------------------------------------------------------------------

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; nested calls join the outer one (as inside `lock`)."""
        with self._guard:
            conn = self._db()
            if self._depth:
                self._depth += 1
                try:
                    yield conn
                finally:
                    self._depth -= 1
                return
            conn.execute("BEGIN IMMEDIATE")  # takes the file's write lock now, not on first write
            self._depth = 1
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException:
                # A failed block or commit (disk full): undo it, so the next call starts clean.
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            finally:
                self._depth = 0

    def _read(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._guard:
            return self._db().execute(sql, params).fetchall()

    @contextlib.contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """Holds the file's write lock for the block: every process waits, whatever the name.

        Coarse, but the twin's read-modify-write sequences are short, and the block's reads and
        writes then form one transaction. The block must not await (it holds the connection).
        """
        with self._write():
            yield

    # --- documents ---------------------------------------------------------------------------

    def get(self, collection: str, key: Member) -> Doc | None:
        if not _storable(key):
            return None
        rows = self._read(
            "SELECT body FROM docs WHERE ns = ? AND collection = ? AND key = ?",
            (self.prefix, collection, key),
        )
        return json.loads(rows[0][0]) if rows else None

    def get_many(self, collection: str, keys: list[Member]) -> list[Doc]:
        found: dict[Member, str] = {}
        unique = [key for key in dict.fromkeys(keys) if _storable(key)]
        with self._guard:
            conn = self._db()
            for at in range(0, len(unique), _CHUNK):
                chunk = unique[at : at + _CHUNK]
                marks = ",".join("?" * len(chunk))
                found.update(
                    conn.execute(
                        "SELECT key, body FROM docs WHERE ns = ? AND collection = ? "
                        f"AND key IN ({marks})",
                        (self.prefix, collection, *chunk),
                    ).fetchall()
                )
        return [json.loads(found[k]) for k in keys if k in found]

    def put(self, collection: str, key: Member, doc: Doc) -> None:
        # An update keeps the row (and so its place in `scan`), as a dict assignment does.
        with self._write() as conn:
            conn.execute(
                "INSERT INTO docs (ns, collection, key, body) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (ns, collection, key) DO UPDATE SET body = excluded.body",
                (self.prefix, collection, key, _encode(doc)),
            )

    def delete(self, collection: str, key: Member) -> None:
        if not _storable(key):
            return
        with self._write() as conn:
            conn.execute(
                "DELETE FROM docs WHERE ns = ? AND collection = ? AND key = ?",
                (self.prefix, collection, key),
            )

    def count(self, collection: str) -> int:
        return self._read(
            "SELECT count(*) FROM docs WHERE ns = ? AND collection = ?", (self.prefix, collection)
        )[0][0]

    def scan(self, collection: str) -> Iterator[Doc]:
        rows = self._read(
            "SELECT body FROM docs WHERE ns = ? AND collection = ? ORDER BY rowid",
            (self.prefix, collection),
        )
        for (body,) in rows:
            yield json.loads(body)

    # --- ids ---------------------------------------------------------------------------------

    def next_id(self, sequence: str) -> int:
        with self._write() as conn:
            return conn.execute(
                "INSERT INTO sequences (ns, name, value) VALUES (?, ?, 1) "
                "ON CONFLICT (ns, name) DO UPDATE SET value = value + 1 RETURNING value",
                (self.prefix, sequence),
            ).fetchone()[0]

    # --- ordered indexes ---------------------------------------------------------------------

    def index_add(self, index: str, member: Member, score: float) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO entries (ns, idx, member, score) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (ns, idx, member) DO UPDATE SET score = excluded.score",
                (self.prefix, index, member, score),
            )

    def index_remove(self, index: str, member: Member) -> None:
        if not _storable(member):
            return
        with self._write() as conn:
            conn.execute(
                "DELETE FROM entries WHERE ns = ? AND idx = ? AND member = ?",
                (self.prefix, index, member),
            )

    def index_page(
        self, index: str, offset: int, limit: int | None, descending: bool = False
    ) -> list[Member]:
        order = "score DESC, member DESC" if descending else "score, member"
        rows = self._read(
            f"SELECT member FROM entries WHERE ns = ? AND idx = ? ORDER BY {order} "
            "LIMIT ? OFFSET ?",
            (self.prefix, index, -1 if limit is None else _clamp(limit), _clamp(max(offset, 0))),
        )
        return [member for (member,) in rows]

    def index_range(
        self,
        index: str,
        low: float,
        high: float,
        offset: int = 0,
        limit: int | None = None,
        descending: bool = False,
    ) -> list[Member]:
        order = "score DESC, member DESC" if descending else "score, member"
        rows = self._read(
            "SELECT member FROM entries WHERE ns = ? AND idx = ? AND score BETWEEN ? AND ? "
            f"ORDER BY {order} LIMIT ? OFFSET ?",
            (
                self.prefix,
                index,
                float(low),  # a score bound past 64 bits binds as a float
                float(high),
                -1 if limit is None else _clamp(limit),
                _clamp(max(offset, 0)),
            ),
        )
        return [member for (member,) in rows]

    def index_count(self, index: str) -> int:
        return self._read(
            "SELECT count(*) FROM entries WHERE ns = ? AND idx = ?", (self.prefix, index)
        )[0][0]

    # --- meta --------------------------------------------------------------------------------

    def meta_get(self, key: str, default: Any = None) -> Any:
        rows = self._read("SELECT value FROM meta WHERE ns = ? AND key = ?", (self.prefix, key))
        return json.loads(rows[0][0]) if rows else default

    def meta_set(self, key: str, value: Any) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO meta (ns, key, value) VALUES (?, ?, ?) "
                "ON CONFLICT (ns, key) DO UPDATE SET value = excluded.value",
                (self.prefix, key, _encode(value)),
            )

    def meta_delete(self, key: str) -> None:
        with self._write() as conn:
            conn.execute("DELETE FROM meta WHERE ns = ? AND key = ?", (self.prefix, key))

    # --- logs --------------------------------------------------------------------------------

    def log_append(self, name: str, entry: Doc, cap: int, max_bytes: int | None = None) -> None:
        # A log entry (the request journal) is a diagnostic, not an acknowledged write: committed
        # without waiting for the disk (synchronous=NORMAL keeps it across a kill -9; a power
        # cut may lose the last few, never corrupts the file, and the next write's fsync covers
        # it anyway). One fsync less per request: 0.4-0.6 ms -> 0.15 ms an entry, measured.
        with self._guard:
            relaxed = self._depth == 0  # inside a caller's transaction, its commit decides
            if relaxed:
                self._db().execute("PRAGMA synchronous = NORMAL")
            try:
                encoded = _encode(entry)  # ASCII (json.dumps escapes the rest): bytes = len
                with self._write() as conn:
                    conn.execute(
                        "INSERT INTO logs (ns, name, entry, size) VALUES (?, ?, ?, ?)",
                        (self.prefix, name, encoded, len(encoded)),
                    )
                    # Drop everything older than the newest `cap` entries (through the index).
                    conn.execute(
                        "DELETE FROM logs WHERE ns = ?1 AND name = ?2 AND id <= ("
                        "SELECT id FROM logs WHERE ns = ?1 AND name = ?2 ORDER BY id DESC "
                        "LIMIT 1 OFFSET ?3)",
                        (self.prefix, name, max(cap, 0)),
                    )
                    if max_bytes is not None:
                        self._trim_bytes(conn, name, max_bytes)
            finally:
                if relaxed:
                    self._db().execute("PRAGMA synchronous = FULL")

    def _trim_bytes(self, conn: sqlite3.Connection, name: str, max_bytes: int) -> None:
        """Drops the oldest entries whose sizes make up the excess over `max_bytes`: usually
        one or two, read off the index's oldest end (a sum over all, per append, cost 3x)."""
        excess = self._log_bytes(conn, name) - max_bytes
        if excess <= 0:
            return
        oldest = conn.execute(
            "SELECT id, size FROM logs WHERE ns = ? AND name = ? ORDER BY id", (self.prefix, name)
        )
        dropped = last = 0
        for row_id, size in oldest:
            dropped, last = dropped + size, row_id
            if dropped >= excess:
                break
        oldest.close()
        conn.execute(
            "DELETE FROM logs WHERE ns = ? AND name = ? AND id <= ?", (self.prefix, name, last)
        )

    def _log_bytes(self, conn: sqlite3.Connection, name: str) -> int:
        return conn.execute(
            "SELECT coalesce(sum(size), 0) FROM logs WHERE ns = ? AND name = ?", (self.prefix, name)
        ).fetchone()[0]

    def log_bytes(self, name: str) -> int:
        with self._guard:
            return self._log_bytes(self._db(), name)

    def log_read(self, name: str) -> list[Doc]:
        rows = self._read(
            "SELECT entry FROM logs WHERE ns = ? AND name = ? ORDER BY id", (self.prefix, name)
        )
        return [json.loads(entry) for (entry,) in rows]

    # --- whole state -------------------------------------------------------------------------

    def _clear(self, conn: sqlite3.Connection) -> None:
        for table in _TABLES:
            conn.execute(f"DELETE FROM {table} WHERE ns = ?", (self.prefix,))

    def clear(self) -> None:
        with self._write() as conn:
            self._clear(conn)

    def dump(self) -> Doc:
        # One transaction, so the snapshot is consistent while other processes write.
        with self._write() as conn:
            ns = (self.prefix,)
            docs: dict[str, list] = {}
            for collection, key, body in conn.execute(
                "SELECT collection, key, body FROM docs WHERE ns = ? ORDER BY rowid", ns
            ):
                docs.setdefault(collection, []).append([key, json.loads(body)])
            indexes: dict[str, list] = {}
            for index, score, member in conn.execute(
                "SELECT idx, score, member FROM entries WHERE ns = ? ORDER BY idx, score, member",
                ns,
            ):
                indexes.setdefault(index, []).append([score, member])
            sequences = dict(conn.execute("SELECT name, value FROM sequences WHERE ns = ?", ns))
            meta = {
                key: json.loads(value)
                for key, value in conn.execute("SELECT key, value FROM meta WHERE ns = ?", ns)
            }
        return {"docs": docs, "sequences": sequences, "indexes": indexes, "meta": meta}

    def load(self, data: Doc) -> None:
        docs, seqs, indexes, meta = _parse_dump(data)
        ns = self.prefix
        # All or nothing: a failure part-way rolls the old world back.
        try:
            with self._write() as conn:
                self._clear(conn)
                conn.executemany(
                    "INSERT INTO docs (ns, collection, key, body) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (ns, collection, key) DO UPDATE SET body = excluded.body",
                    ((ns, c, k, _encode(d)) for c, rows in docs.items() for k, d in rows),
                )
                conn.executemany(
                    "INSERT INTO sequences (ns, name, value) VALUES (?, ?, ?)",
                    ((ns, name, value) for name, value in seqs.items()),
                )
                conn.executemany(
                    "INSERT OR REPLACE INTO entries (ns, idx, member, score) VALUES (?, ?, ?, ?)",
                    ((ns, i, m, s) for i, rows in indexes.items() for s, m in rows),
                )
                conn.executemany(
                    "INSERT INTO meta (ns, key, value) VALUES (?, ?, ?)",
                    ((ns, k, _encode(v)) for k, v in meta.items()),
                )
        except (sqlite3.InterfaceError, sqlite3.IntegrityError, TypeError, ValueError) as exc:
            raise StoreError(f"not a twin state dump: {exc}") from exc
