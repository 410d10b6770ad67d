"""The one virtual clock: real time by default; it can be frozen, set and advanced.

Its state lives in the store, so every worker process sharing the store reads the same time.
"""

from __future__ import annotations

import datetime as dt
import math
import time

from apitwin.core.errors import BadRequest

UTC = dt.UTC
_KEY = "clock"
# The instants the clock may show: what a datetime holds (years 1-9999), a day inside each end
# so that dates drawn around "now" still exist. Outside them every answer would fail to format.
EARLIEST = dt.datetime(1, 1, 2, tzinfo=UTC).timestamp()
LATEST = dt.datetime(9999, 12, 30, tzinfo=UTC).timestamp()


def check_instant(ts: float, what: str = "the clock") -> float:
    if not (isinstance(ts, int | float) and math.isfinite(ts) and EARLIEST <= ts <= LATEST):
        raise BadRequest(f"{what} must stay between years 0001 and 9999, got {ts!r}")
    return float(ts)


def parse_instant(text: str) -> float:
    """ISO 8601 to a POSIX timestamp; a value without an offset is read as UTC."""
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"not an ISO 8601 instant: {text!r}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def to_datetime(ts: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts, UTC)


def iso(ts: float) -> str:
    """RFC 3339 with a Z, whole seconds, the year in four digits (strftime drops the zeros of
    years before 1000, which the specs' date patterns refuse)."""
    return to_datetime(ts).replace(microsecond=0).isoformat().replace("+00:00", "Z")


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
        ts = check_instant(ts)
        state = self._state()
        if state["frozen_at"] is not None:
            state["frozen_at"] = ts
        else:
            state["offset"] = ts - time.time()
        self._store.meta_set(_KEY, state)

    def advance(self, seconds: float) -> None:
        if not math.isfinite(seconds):
            raise BadRequest(f"advance_seconds must be a finite number, got {seconds!r}")
        self.set(self.now() + seconds)

    def freeze(self, frozen: bool) -> None:
        now = self.now()
        state = {"offset": now - time.time(), "frozen_at": now if frozen else None}
        self._store.meta_set(_KEY, state)

    def reset(self) -> None:
        self._store.meta_delete(_KEY)
