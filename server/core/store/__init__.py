"""The state backends. Every resource of every API lives in one store behind this interface.

Documents are JSON-able dicts kept in named collections; ids come from the store's counters;
ordered indexes (score, member) serve paginated lists without full scans. The interface is small
and synchronous on purpose: a Redis backend maps it to hashes, INCR and sorted sets.

Backends: `memory` (one process), `file:PATH` (SQLite, durable, shared by the processes of one
machine), `redis://HOST:PORT/DB` (shared by every worker and replica). The file and Redis
backends keep their state under a `prefix`, so several worlds can share one file or server.
"""

from __future__ import annotations

from apitwin.core.store.base import Store, StoreError
from apitwin.core.store.memory import MemoryStore

DEFAULT_PREFIX = "apitwin"
USAGE = "use 'memory', 'file:PATH' or 'redis://HOST:PORT/DB'"


# The forms of --store besides "memory" (open_store and the CLI's check read them here).
FILE_PREFIX = "file:"
REDIS_PREFIXES = ("redis://", "rediss://", "unix://")
STORE_PREFIXES = (FILE_PREFIX, *REDIS_PREFIXES)


def open_store(url: str, prefix: str = DEFAULT_PREFIX) -> Store:
    """Open the backend named by `--store`."""
    if url == "memory":
        return MemoryStore()
    if url.startswith(FILE_PREFIX):
        path = url.removeprefix(FILE_PREFIX)
        if path.startswith("//"):  # file:///abs/path, the URL spelling
            path = path[2:]
        if not path:
            raise StoreError(f"store {url!r} names no file: {USAGE}")
        from apitwin.core.store.file import FileStore

        return FileStore(path, prefix=prefix)
    if url.startswith(REDIS_PREFIXES):
        try:  # imported only when asked for, so the other backends need no redis package
            from apitwin.core.store.redis_store import RedisStore
        except ImportError as exc:
            raise StoreError(f"store {url!r} needs the 'redis' package: {exc}") from exc
        return RedisStore(url, prefix=prefix)
    raise StoreError(f"unknown store {url!r}: {USAGE}")


__all__ = ["DEFAULT_PREFIX", "STORE_PREFIXES", "MemoryStore", "Store", "StoreError", "open_store"]
