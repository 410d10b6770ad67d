"""The store interface every backend implements."""

from __future__ import annotations

import abc
import contextlib
import json
from collections.abc import Iterator
from typing import Any

Doc = dict[str, Any]
Member = int | str


class StoreError(Exception):
    """The store cannot be opened or read (bad URL, corrupt file, unreachable server)."""


class Store(abc.ABC):
    # documents
    @abc.abstractmethod
    def get(self, collection: str, key: Member) -> Doc | None: ...

    @abc.abstractmethod
    def get_many(self, collection: str, keys: list[Member]) -> list[Doc]:
        """The documents that exist, in the order of `keys`."""

    def get_many_raw(self, collection: str, keys: list[Member]) -> list[bytes]:
        """The documents that exist, in the order of `keys`, as JSON text (`json.loads` reads
        it back). The text changes whenever the document does, so a reader can remember what it
        derives from a document by its text (server/core/memo.py). A backend that keeps the text
        hands it over instead of encoding it again."""
        return [
            json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()
            for doc in self.get_many(collection, keys)
        ]

    @abc.abstractmethod
    def put(self, collection: str, key: Member, doc: Doc) -> None: ...

    @abc.abstractmethod
    def delete(self, collection: str, key: Member) -> None: ...

    @abc.abstractmethod
    def count(self, collection: str) -> int: ...

    @abc.abstractmethod
    def scan(self, collection: str) -> Iterator[Doc]:
        """Every document of a collection, in insertion order (for filters and fixtures)."""

    # ids
    @abc.abstractmethod
    def next_id(self, sequence: str) -> int:
        """1, 2, 3...: unique across every process sharing the store."""

    # ordered indexes
    @abc.abstractmethod
    def index_add(self, index: str, member: Member, score: float) -> None: ...

    @abc.abstractmethod
    def index_remove(self, index: str, member: Member) -> None: ...

    @abc.abstractmethod
    def index_page(
        self, index: str, offset: int, limit: int | None, descending: bool = False
    ) -> list[Member]: ...

    @abc.abstractmethod
    def index_count(self, index: str) -> int: ...

    @abc.abstractmethod
    def index_range(
        self,
        index: str,
        low: float,
        high: float,
        offset: int = 0,
        limit: int | None = None,
        descending: bool = False,
    ) -> list[Member]:
        """Members scored within [low, high], in score order (time windows; Redis ZRANGEBYSCORE)."""

    # small values: the clock, the seed, issued tokens
    @abc.abstractmethod
    def meta_get(self, key: str, default: Any = None) -> Any: ...

    @abc.abstractmethod
    def meta_set(self, key: str, value: Any) -> None: ...

    @abc.abstractmethod
    def meta_delete(self, key: str) -> None: ...

    # capped logs, newest last: the request journal
    @abc.abstractmethod
    def log_append(self, name: str, entry: Doc, cap: int, max_bytes: int | None = None) -> None:
        """Adds `entry`, then drops the oldest entries until at most `cap` are left and their
        sizes (each entry's JSON as this backend stores it) add up to at most `max_bytes`; an
        entry larger than `max_bytes` alone is not kept."""

    @abc.abstractmethod
    def log_read(self, name: str) -> list[Doc]: ...

    @abc.abstractmethod
    def log_bytes(self, name: str) -> int:
        """The sizes of a log's entries added up, as `log_append` bounds them."""

    # whole state
    @abc.abstractmethod
    def clear(self) -> None: ...

    @abc.abstractmethod
    def holds_data(self) -> bool:
        """Whether any document, sequence or index entry is stored (meta and logs aside)."""

    @abc.abstractmethod
    def dump(self) -> Doc:
        """The whole state as JSON-able data (export)."""

    @abc.abstractmethod
    def load(self, data: Doc) -> None:
        """Replace the whole state with a `dump()` (import)."""

    def load_from(self, source: Store) -> None:
        """Replace the whole state with another store's (a reset to a seed's build)."""
        self.load(source.dump())

    @contextlib.contextmanager
    def lock(self, name: str) -> Iterator[None]:
        """Serialise read-modify-write sequences on one resource across processes.

        One process runs each state call without awaiting, so memory needs no lock.
        """
        yield

    @abc.abstractmethod
    def close(self) -> None:
        """Releases what the store holds (a file, a connection) at a clean stop."""
