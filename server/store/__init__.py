"""The state backends. Every resource of every API lives in one store behind this interface.

Documents are JSON-able dicts kept in named collections; ids come from the store's counters;
ordered indexes (score, member) serve paginated lists without full scans. The interface is small
and synchronous on purpose: a Redis backend maps it to hashes, INCR and sorted sets.
"""

from __future__ import annotations

from .base import Store, StoreError
from .memory import MemoryStore


def open_store(url: str) -> Store:
    """Open the backend named by `--store` (memory; file:PATH and redis://... come later)."""
    if url == "memory":
        return MemoryStore()
    raise StoreError(f"unknown store {url!r}: use 'memory'")


__all__ = ["MemoryStore", "Store", "StoreError", "open_store"]
