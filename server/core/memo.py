"""Remembering what is derived from stored documents, for one instant of the clock.

A workspace's answer row is a pure function of its stored document and the clock's `now` (whole
seconds): the same stored text at the same instant gives the same row. Keyed by the text, such a
memo needs no invalidation: a changed document is new text, a new second a fresh table. Lists
read the same rows over and over (a frontend polling, a load test), and a row costs a JSON decode
and a pass over the workspace's runs (README "Performance").
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")


# A memo keyed by what a client sent (a path, a query, a parameter's value) keeps no key longer
# than this: its entries are bounded in count, and so, with this, in bytes.
KEPT_TEXT_CHARS = 1024


def remember(table: dict, key, value: T, limit: int, text: int = 0) -> T:
    """Keeps `value` under `key` in a bounded table (full: it starts afresh) and returns it.
    `text`: the length of the client's text in the key; past KEPT_TEXT_CHARS nothing is kept."""
    if text <= KEPT_TEXT_CHARS:
        if len(table) >= limit:
            table.clear()
        table[key] = value
    return value


class InstantMemo:
    """Derived values by (stored text, instant). Values are shared between readers: read-only."""

    def __init__(self, limit: int = 4096) -> None:
        self._limit = limit
        self._at: Hashable = None
        self._values: dict[bytes, object] = {}

    def get(self, text: bytes, now: Hashable, derive: Callable[[], T]) -> T:
        if now != self._at or len(self._values) >= self._limit:
            self._at, self._values = now, {}
        value = self._values.get(text)
        if value is None:
            value = self._values[text] = derive()
        return value
