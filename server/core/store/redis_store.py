"""`--store redis://HOST:PORT/DB`: one world in Redis, shared by every worker and replica.

Key layout, all under `<prefix>:` (default `apitwin:`), so a per-session world is the same server
under another prefix and `clear()` drops only its own keys:

    <prefix>:meta             hash   meta key -> JSON value (clock, seed, epoch, tokens)
    <prefix>:seq              hash   sequence -> last id (HINCRBY: atomic across processes)
    <prefix>:doc:<collection> hash   encoded key -> JSON document
    <prefix>:ord:<collection> zset   encoded key, scored by insertion (scan order)
    <prefix>:idx:<index>      zset   encoded member, scored by the caller's score
    <prefix>:log:<name>       list   JSON entries, oldest first, trimmed to the cap and bytes
    <prefix>:log:<name>:bytes string the sizes of its entries added up (kept by _LOG_SCRIPT)
    <prefix>:lock:<name>      string a redis-py Lock (not state: clear and dump skip it)

Keys and members are encoded as `i` + a fixed-width offset integer or `s` + the text, so 7 and "7"
stay apart and members with equal scores sort as the memory backend sorts them (integers in
numeric order before text in code-point order): Redis orders such ties by their bytes.

Each call is one round trip: single commands, a MULTI/EXEC pipeline, or a Lua script (`put`,
which must give a new key the next insertion position atomically; `log_append`, which trims by
the sizes of the entries it drops).
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from typing import Any

import redis

from apitwin.core.store.base import Doc, Member, Store, StoreError

# Long enough for any read-modify-write the twin does; a crashed holder frees it after this.
LOCK_TIMEOUT_S = 30.0
LOCK_WAIT_S = 30.0
# How often a waiter retries a held lock. redis-py's default, 100 ms, is far longer than the
# twin's holds (a few ms), and handlers call the store on the event loop, so the whole process
# waits. A process waits for one lock at a time, so polling costs at most one client per process.
LOCK_RETRY_S = 0.002
_SCAN_BATCH = 1000
_CHUNK = 1000
_KINDS = ("doc", "ord", "idx", "log")
_INT_OFFSET = 2**63
_INT_WIDTH = 20  # digits of 2**64

# A new key goes to the end of its collection's scan order; an update keeps its place.
_PUT_SCRIPT = """
local added = redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if added == 1 then
    local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
    local position = 1
    if last[2] then position = tonumber(last[2]) + 1 end
    redis.call('ZADD', KEYS[2], position, ARGV[1])
end
return added
"""


# Appends ARGV[1] to the log KEYS[1], then drops its oldest entries while there are more than
# ARGV[2] or their sizes (KEYS[2]) add up to more than ARGV[3] (-1: no bound on bytes). Each
# entry is read once more, when dropped; a log kept before its sizes were is summed once.
_LOG_SCRIPT = """
local cap, bound = tonumber(ARGV[2]), tonumber(ARGV[3])
if redis.call('EXISTS', KEYS[2]) == 0 then
    local total = 0
    for _, old in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do total = total + #old end
    redis.call('SET', KEYS[2], total)
end
local length = redis.call('RPUSH', KEYS[1], ARGV[1])
local total = redis.call('INCRBY', KEYS[2], #ARGV[1])
while length > 0 and (length > cap or (bound >= 0 and total > bound)) do
    total = redis.call('DECRBY', KEYS[2], #redis.call('LPOP', KEYS[1]))
    length = length - 1
end
if length == 0 then redis.call('DEL', KEYS[1], KEYS[2]) end
"""


def encode_member(member: Member) -> str:
    if isinstance(member, bool) or not isinstance(member, int | str):
        raise TypeError(f"keys and members are int or str, not {type(member).__name__}")
    if isinstance(member, str):
        return "s" + member
    shifted = member + _INT_OFFSET
    if not 0 <= shifted < 2 * _INT_OFFSET:
        raise ValueError(f"integer key out of 64-bit range: {member}")
    return f"i{shifted:0{_INT_WIDTH}d}"


def decode_member(text: str) -> Member:
    return text[1:] if text[0] == "s" else int(text[1:]) - _INT_OFFSET


def _encode(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _score(value: float) -> float | int:
    """Redis answers floats; give whole numbers back as ints, as they were most likely put."""
    return int(value) if value.is_integer() else value


class RedisStore(Store):
    def __init__(self, url: str, prefix: str = "apitwin") -> None:
        self.prefix = prefix
        self._shown_url = _without_password(url)
        try:
            self._redis = redis.Redis.from_url(url, decode_responses=True)
            self._redis.ping()
        except (redis.RedisError, ValueError) as exc:
            raise StoreError(f"redis store {self._shown_url!r}: {exc}") from exc
        self._put = self._redis.register_script(_PUT_SCRIPT)
        self._log = self._redis.register_script(_LOG_SCRIPT)
        self._held = threading.local()  # lock names this thread holds (lock() is reentrant)

    def close(self) -> None:
        self._redis.close()

    def _key(self, *parts: str) -> str:
        return ":".join((self.prefix, *parts))

    # --- documents ---------------------------------------------------------------------------

    def get(self, collection: str, key: Member) -> Doc | None:
        body = self._redis.hget(self._key("doc", collection), encode_member(key))
        return json.loads(body) if body is not None else None

    def get_many(self, collection: str, keys: list[Member]) -> list[Doc]:
        if not keys:
            return []
        bodies = self._redis.hmget(self._key("doc", collection), [encode_member(k) for k in keys])
        return [json.loads(body) for body in bodies if body is not None]

    def put(self, collection: str, key: Member, doc: Doc) -> None:
        self._put(
            keys=[self._key("doc", collection), self._key("ord", collection)],
            args=[encode_member(key), _encode(doc)],
        )

    def delete(self, collection: str, key: Member) -> None:
        field = encode_member(key)
        with self._redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self._key("doc", collection), field)
            pipe.zrem(self._key("ord", collection), field)
            pipe.execute()

    def count(self, collection: str) -> int:
        return self._redis.hlen(self._key("doc", collection))

    def scan(self, collection: str) -> Iterator[Doc]:
        fields = self._redis.zrange(self._key("ord", collection), 0, -1)
        if not fields:
            return
        with self._redis.pipeline(transaction=False) as pipe:
            for at in range(0, len(fields), _CHUNK):
                pipe.hmget(self._key("doc", collection), fields[at : at + _CHUNK])
            chunks = pipe.execute()
        for bodies in chunks:
            for body in bodies:
                if body is not None:  # deleted between the two reads
                    yield json.loads(body)

    # --- ids ---------------------------------------------------------------------------------

    def next_id(self, sequence: str) -> int:
        return self._redis.hincrby(self._key("seq"), sequence, 1)

    # --- ordered indexes ---------------------------------------------------------------------

    def index_add(self, index: str, member: Member, score: float) -> None:
        self._redis.zadd(self._key("idx", index), {encode_member(member): score})

    def index_remove(self, index: str, member: Member) -> None:
        self._redis.zrem(self._key("idx", index), encode_member(member))

    def index_page(
        self, index: str, offset: int, limit: int | None, descending: bool = False
    ) -> list[Member]:
        if limit is not None and limit <= 0:
            return []
        start = max(offset, 0)
        stop = -1 if limit is None else start + limit - 1
        key = self._key("idx", index)
        members = (
            self._redis.zrevrange(key, start, stop)
            if descending
            else self._redis.zrange(key, start, stop)
        )
        return [decode_member(m) for m in members]

    def index_range(
        self,
        index: str,
        low: float,
        high: float,
        offset: int = 0,
        limit: int | None = None,
        descending: bool = False,
    ) -> list[Member]:
        if limit is not None and limit <= 0:
            return []
        key = self._key("idx", index)
        start, num = max(offset, 0), -1 if limit is None else limit
        members = (
            self._redis.zrevrangebyscore(key, high, low, start=start, num=num)
            if descending
            else self._redis.zrangebyscore(key, low, high, start=start, num=num)
        )
        return [decode_member(m) for m in members]

    def index_count(self, index: str) -> int:
        return self._redis.zcard(self._key("idx", index))

    # --- meta --------------------------------------------------------------------------------

    def meta_get(self, key: str, default: Any = None) -> Any:
        value = self._redis.hget(self._key("meta"), key)
        return json.loads(value) if value is not None else default

    def meta_set(self, key: str, value: Any) -> None:
        self._redis.hset(self._key("meta"), key, _encode(value))

    def meta_delete(self, key: str) -> None:
        self._redis.hdel(self._key("meta"), key)

    # --- logs --------------------------------------------------------------------------------

    def log_append(self, name: str, entry: Doc, cap: int, max_bytes: int | None = None) -> None:
        keys = [self._key("log", name), self._key("log", name, "bytes")]
        self._log(keys=keys, args=[_encode(entry), cap, -1 if max_bytes is None else max_bytes])

    def log_bytes(self, name: str) -> int:
        return int(self._redis.get(self._key("log", name, "bytes")) or 0)

    def log_read(self, name: str) -> list[Doc]:
        return [json.loads(e) for e in self._redis.lrange(self._key("log", name), 0, -1)]

    # --- whole state -------------------------------------------------------------------------

    def _own_keys(self) -> list[str]:
        """Every state key of this prefix; a longer prefix (another session's world) is not ours.

        A SCAN: clear, dump and load are rare, and this needs no registry kept on every write.
        """
        head = self._key("")
        own = []
        for key in self._redis.scan_iter(match=_glob_escape(head) + "*", count=_SCAN_BATCH):
            rest = key[len(head) :]
            if rest in ("meta", "seq") or rest.split(":", 1)[0] in _KINDS and ":" in rest:
                own.append(key)
        return own

    def clear(self) -> None:
        keys = self._own_keys()
        with self._redis.pipeline(transaction=True) as pipe:
            for at in range(0, len(keys), _CHUNK):
                pipe.unlink(*keys[at : at + _CHUNK])
            pipe.execute()

    def holds_data(self) -> bool:
        head = self._key("")
        return any(not key[len(head) :].startswith(("log:", "meta")) for key in self._own_keys())

    def dump(self) -> Doc:
        head = self._key("")
        readable = [k for k in self._own_keys() if not k.startswith(head + "log:")]
        # One MULTI/EXEC: a consistent snapshot while other processes write.
        with self._redis.pipeline(transaction=True) as pipe:
            for key in readable:
                kind = key[len(head) :].split(":", 1)[0]
                if kind in ("ord", "idx"):
                    pipe.zrange(key, 0, -1, withscores=True)
                else:
                    pipe.hgetall(key)
            values = dict(zip(readable, pipe.execute(), strict=True))
        docs: dict[str, list] = {}
        indexes: dict[str, list] = {}
        for key, value in values.items():
            kind, _, name = key[len(head) :].partition(":")
            if kind == "ord":
                bodies = values.get(self._key("doc", name), {})
                rows = [[decode_member(f), json.loads(bodies[f])] for f, _ in value if f in bodies]
                if rows:
                    docs[name] = rows
            elif kind == "idx" and value:
                indexes[name] = [[_score(s), decode_member(m)] for m, s in value]
        seqs = {name: int(v) for name, v in values.get(self._key("seq"), {}).items()}
        meta = {k: json.loads(v) for k, v in values.get(self._key("meta"), {}).items()}
        return {"docs": docs, "sequences": seqs, "indexes": indexes, "meta": meta}

    def load(self, data: Doc) -> None:
        try:
            docs = {
                c: [(encode_member(k), _encode(d)) for k, d in rows]
                for c, rows in data["docs"].items()
            }
            seqs = {k: int(v) for k, v in data["sequences"].items()}
            indexes = {
                i: {encode_member(m): float(s) for s, m in rows}
                for i, rows in data["indexes"].items()
            }
            meta = {k: _encode(v) for k, v in dict(data["meta"]).items()}
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise StoreError(f"not a twin state dump: {exc}") from exc
        old = self._own_keys()
        # One MULTI/EXEC: other processes see the old world or the new one, never a mix.
        with self._redis.pipeline(transaction=True) as pipe:
            for at in range(0, len(old), _CHUNK):
                pipe.unlink(*old[at : at + _CHUNK])
            for collection, rows in docs.items():
                if rows:
                    pipe.hset(self._key("doc", collection), mapping=dict(rows))
                    order = {field: n for n, (field, _) in enumerate(rows, start=1)}
                    pipe.zadd(self._key("ord", collection), order)
            for index, entries in indexes.items():
                if entries:
                    pipe.zadd(self._key("idx", index), entries)
            if seqs:
                pipe.hset(self._key("seq"), mapping=seqs)
            if meta:
                pipe.hset(self._key("meta"), mapping=meta)
            pipe.execute()

    @contextlib.contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """A Redis lock with a timeout, so a crashed holder cannot block the others for ever.

        Reentrant within a thread (the memory backend's no-op lock nests, so callers may nest).
        """
        held = self._held.__dict__.setdefault("names", set())
        if name in held:
            yield
            return
        lock = self._redis.lock(
            self._key("lock", name),
            timeout=LOCK_TIMEOUT_S,
            sleep=LOCK_RETRY_S,
            blocking_timeout=LOCK_WAIT_S,
        )
        if not lock.acquire():
            raise StoreError(f"redis store: lock {name!r} still held after {LOCK_WAIT_S:g} s")
        held.add(name)
        try:
            yield
        finally:
            held.discard(name)
            # Held past its timeout: another process may have taken it since; nothing to undo.
            with contextlib.suppress(redis.exceptions.LockNotOwnedError):
                lock.release()


def _glob_escape(text: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in text)


def _without_password(url: str) -> str:
    head, sep, tail = url.partition("@")
    if not sep:
        return url
    scheme, _, _ = head.partition("://")
    return f"{scheme}://***@{tail}"
