"""The one virtual clock: real time by default; it can be frozen, set and advanced.

Its state lives in the store, so every worker process sharing the store reads the same time.
"""

from __future__ import annotations

import datetime as dt
import time

UTC = dt.UTC
_KEY = "clock"


def parse_instant(text: str) -> float:
    """ISO 8601 to a POSIX timestamp; a value without an offset is read as UTC."""
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def to_datetime(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, UTC)


def iso(ts: float) -> str:
    """RFC 3339 with a Z, whole seconds."""
    return to_datetime(ts).strftime("%Y-%m-%dT%H:%M:%SZ")


class Clock:
    def __init__(self, store) -> None:
        self._store = store

    def _state(self) -> dict:
        return self._store.meta_get(_KEY) or {"offset": 0.0, "frozen_at": None}

    def now(self) -> float:
        state = self._state()
        if state["frozen_at"] is not None:
            return state["frozen_at"]
        return time.time() + state["offset"]

    @property
    def frozen(self) -> bool:
        return self._state()["frozen_at"] is not None

    def set(self, ts: float) -> None:
        state = self._state()
        if state["frozen_at"] is not None:
            state["frozen_at"] = ts
        else:
            state["offset"] = ts - time.time()
        self._store.meta_set(_KEY, state)

    def advance(self, seconds: float) -> None:
        self.set(self.now() + seconds)

    def freeze(self, frozen: bool) -> None:
        now = self.now()
        state = {"offset": now - time.time(), "frozen_at": now if frozen else None}
        self._store.meta_set(_KEY, state)

    def reset(self) -> None:
        self._store.meta_delete(_KEY)
