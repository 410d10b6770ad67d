"""The default backend: one process, plain dicts and sorted lists.

Documents, meta values and log entries are kept as JSON, as the file and Redis backends keep
them: a caller can never change the stored state by accident, every backend hands back the same
values (a tuple put comes back a list everywhere), a copy in or out is one call to orjson (a
tenth of a deep copy's time), and a stored workspace takes a fraction of its dict tree's memory.
"""

from __future__ import annotations

import bisect
import copy
import json
import operator
from collections import defaultdict, deque
from collections.abc import Iterator
from typing import Any

import orjson

from apitwin.core.store.base import Doc, Member, Store, StoreError

# Marks text the json module wrote: orjson reads an integer beyond 64 bits back as a float.
_BIG = b"\x00"


def _dumps(value: Any) -> bytes:
    try:  # int keys become strings, as json.dumps makes them for the other backends
        encoded = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
        # A right-sized copy: orjson's own buffer keeps ~4 KB of heap per document (measured:
        # 100,000 small documents held 390 MB resident, their copies 18 MB).
        return memoryview(encoded).tobytes()
    except TypeError:  # an integer beyond 64 bits
        return _BIG + json.dumps(value, separators=(",", ":")).encode()


def _loads(raw: bytes) -> Any:
    return json.loads(raw[1:]) if raw[:1] == _BIG else orjson.loads(raw)


_MEMBER = operator.itemgetter(1)  # of an index entry, (score, member)


class MemoryStore(Store):
    def __init__(self) -> None:
        self.clear()

    def close(self) -> None:
        """Nothing to release: the world lives as long as the process."""

    def clear(self) -> None:
        self._docs: dict[str, dict[Member, bytes]] = defaultdict(dict)  # documents as JSON
        self._seqs: dict[str, int] = defaultdict(int)
        # index -> sorted [(score, member)], and member -> score to find entries fast
        self._index: dict[str, list[tuple[float, Member]]] = defaultdict(list)
        self._scores: dict[str, dict[Member, float]] = defaultdict(dict)
        self._meta: dict[str, bytes] = {}  # JSON, like the documents
        self._logs: dict[str, deque[bytes]] = {}
        self._log_bytes: dict[str, int] = {}  # each log's entries' sizes added up
        self._marked: set[str] = set()  # collections that ever held text the json module wrote

    def get(self, collection: str, key: Member) -> Doc | None:
        doc = self._docs[collection].get(key)
        return _loads(doc) if doc is not None else None

    def get_many(self, collection: str, keys: list[Member]) -> list[Doc]:
        docs = self._docs[collection]
        return [_loads(docs[k]) for k in keys if k in docs]

    def get_many_raw(self, collection: str, keys: list[Member]) -> list[bytes]:
        # Immutable bytes: shared, not copied, and gathered in C (a statistics read takes
        # hundreds of texts; a stored text is never empty). Text the json module wrote loses its
        # marker, a first byte 0, which no JSON text has.
        found = list(filter(None, map(self._docs[collection].get, keys)))
        if collection in self._marked:
            return [raw if raw[0] else raw[1:] for raw in found]
        return found

    def put(self, collection: str, key: Member, doc: Doc) -> None:
        encoded = self._docs[collection][key] = _dumps(doc)
        if encoded[:1] == _BIG:
            self._marked.add(collection)

    def delete(self, collection: str, key: Member) -> None:
        self._docs[collection].pop(key, None)

    def count(self, collection: str) -> int:
        return len(self._docs[collection])

    def scan(self, collection: str) -> Iterator[Doc]:
        for doc in list(self._docs[collection].values()):
            yield _loads(doc)

    def next_id(self, sequence: str) -> int:
        self._seqs[sequence] += 1
        return self._seqs[sequence]

    def index_add(self, index: str, member: Member, score: float) -> None:
        self.index_remove(index, member)
        bisect.insort(self._index[index], (score, member))
        self._scores[index][member] = score

    def index_remove(self, index: str, member: Member) -> None:
        score = self._scores[index].pop(member, None)
        if score is None:
            return
        entries = self._index[index]
        at = bisect.bisect_left(entries, (score, member))
        if at < len(entries) and entries[at] == (score, member):
            del entries[at]

    def index_page(
        self, index: str, offset: int, limit: int | None, descending: bool = False
    ) -> list[Member]:
        entries = self._index[index]
        n = len(entries)
        if descending:
            stop = n - offset
            start = 0 if limit is None else max(stop - limit, 0)
            picked = entries[start : max(stop, 0)][::-1]
        else:
            picked = entries[offset : None if limit is None else offset + limit]
        return list(map(_MEMBER, picked))

    def index_count(self, index: str) -> int:
        return len(self._index[index])

    def index_range(
        self,
        index: str,
        low: float,
        high: float,
        offset: int = 0,
        limit: int | None = None,
        descending: bool = False,
    ) -> list[Member]:
        entries = self._index[index]
        start = bisect.bisect_left(entries, low, key=lambda entry: entry[0])
        stop = bisect.bisect_right(entries, high, key=lambda entry: entry[0])
        if descending:
            stop -= offset
            start = start if limit is None else max(stop - limit, start)
            picked = entries[start : max(stop, start)][::-1]
        else:
            start += offset
            end = stop if limit is None else min(start + limit, stop)
            picked = entries[start:end]
        return list(map(_MEMBER, picked))

    def meta_get(self, key: str, default: Any = None) -> Any:
        value = self._meta.get(key)
        if value is None:  # the clock's state, until it is set: on every request
            return default if default is None else copy.deepcopy(default)
        return _loads(value)

    def meta_set(self, key: str, value: Any) -> None:
        self._meta[key] = _dumps(value)

    def meta_delete(self, key: str) -> None:
        self._meta.pop(key, None)

    def log_append(self, name: str, entry: Doc, cap: int, max_bytes: int | None = None) -> None:
        log = self._logs.setdefault(name, deque())
        encoded = _dumps(entry)
        log.append(encoded)
        total = self._log_bytes.get(name, 0) + len(encoded)
        bound = float("inf") if max_bytes is None else max_bytes
        while log and (len(log) > cap or total > bound):
            total -= len(log.popleft())
        self._log_bytes[name] = total

    def log_read(self, name: str) -> list[Doc]:
        return [_loads(entry) for entry in self._logs.get(name, ())]

    def log_bytes(self, name: str) -> int:
        return self._log_bytes.get(name, 0)

    def holds_data(self) -> bool:
        return any(self._docs.values()) or any(self._seqs.values()) or any(self._index.values())

    def dump(self) -> Doc:
        return {
            "docs": {
                c: [[k, _loads(d)] for k, d in docs.items()]
                for c, docs in self._docs.items()
                if docs
            },
            "sequences": dict(self._seqs),
            "indexes": {i: [[s, m] for s, m in e] for i, e in self._index.items() if e},
            "meta": {key: _loads(value) for key, value in self._meta.items()},
        }

    def load_from(self, source: Store) -> None:
        if not isinstance(source, MemoryStore):
            return super().load_from(source)
        # Stored values are immutable bytes, shared; only the containers are copied.
        self.clear()
        self._docs.update((c, dict(docs)) for c, docs in source._docs.items())
        self._seqs.update(source._seqs)
        self._index.update((i, list(entries)) for i, entries in source._index.items())
        self._scores.update((i, dict(scores)) for i, scores in source._scores.items())
        self._meta.update(source._meta)
        self._marked.update(source._marked)

    def load(self, data: Doc) -> None:
        try:
            docs = {c: {k: _dumps(d) for k, d in rows} for c, rows in data["docs"].items()}
            seqs = {k: int(v) for k, v in data["sequences"].items()}
            indexes = {i: sorted((s, m) for s, m in rows) for i, rows in data["indexes"].items()}
            meta = {key: _dumps(value) for key, value in dict(data["meta"]).items()}
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise StoreError(f"not a twin state dump: {exc}") from exc
        self.clear()
        self._docs.update(docs)
        self._marked.update(c for c, d in docs.items() if any(t[:1] == _BIG for t in d.values()))
        self._seqs.update(seqs)
        for name, entries in indexes.items():
            self._index[name] = entries
            self._scores[name] = {m: s for s, m in entries}
        self._meta.update(meta)
