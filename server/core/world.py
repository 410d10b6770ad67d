"""A seeded world (its store, clock, seed and epoch), and the builds of seeds it is reset to."""

from __future__ import annotations

import datetime as dt
import functools

from apitwin.core.clock import UTC, Clock
from apitwin.core.state_check import Shape, shapes_of
from apitwin.core.store import MemoryStore, Store, StoreError
from apitwin.fixtures import build_world
from apitwin.options import TwinOptions


def _midnight_today() -> float:
    today = dt.datetime.now(UTC).date()
    return dt.datetime(today.year, today.month, today.day, tzinfo=UTC).timestamp()


# A seed's build is a pure function of (seed, epoch, size), so the process keeps the last few:
# a reset (test suites reset before each test), a new session or another app in the same process
# (a test suite's twins) then costs a copy, not a fixture build. What is kept is a memory store
# that nothing writes to after its build: a memory world copies its tables (no JSON decoded or
# encoded again), the other stores load its dump.
@functools.lru_cache(maxsize=3)
def seeded_store(seed: int, epoch_ts: float, size: str) -> MemoryStore:
    """The seed's world, to copy from (`Store.load_from`), never to write to."""
    built = World(MemoryStore(), TwinOptions())
    built.store.meta_set("seed", seed)
    built.store.meta_set("epoch", epoch_ts)
    built.store.meta_set("world", size)
    build_world(built)
    return built.store


@functools.lru_cache(maxsize=2)
def _stored_shapes(seed: int, epoch_ts: float) -> dict[str, Shape]:
    return shapes_of(seeded_store(seed, epoch_ts, "standard").dump())


class World:
    """One seeded world: the store, its clock, its seed and epoch.

    The epoch is the instant the seeded history ends: fixture timestamps are drawn before it, so
    the same seed and epoch give the same world, byte for byte.
    """

    def __init__(self, store: Store, options: TwinOptions) -> None:
        self.store = store
        self.options = options
        self.clock = Clock(store)

    @property
    def seed(self) -> int:
        return self.store.meta_get("seed")

    @property
    def epoch(self) -> float:
        return self.store.meta_get("epoch")

    @property
    def size(self) -> str:
        """How much the seed grew: `empty`, `standard` or `large` (options.WORLD_SIZES)."""
        return self.store.meta_get("world") or self.options.world

    def shapes(self) -> dict[str, Shape]:
        """Each collection's stored shape (what imports are checked against), learnt from a
        standard world: the code that writes documents is the one fact, not a second list."""
        return _stored_shapes(self.options.seed, _midnight_today())

    def reset(self, seed: int | None = None, size: str | None = None) -> None:
        """Back to the seeded world: state, counters and clock all re-made from the seed."""
        seed = self.options.seed if seed is None else seed
        size = self.options.world if size is None else size
        epoch = self.options.epoch
        epoch_ts = (
            dt.datetime.fromisoformat(epoch).replace(tzinfo=UTC).timestamp()
            if epoch
            else _midnight_today()
        )
        seeded = seeded_store(seed, epoch_ts, size)
        # Stored in one load: one transaction on the file store, one MULTI/EXEC on Redis (not
        # 18,000 round trips); other workers, which take no lock to read, see the old world or
        # the new, never half.
        with self.store.lock("world"):
            self.store.load_from(seeded)

    def ensure_seeded(self) -> None:
        if self.store.meta_get("seed") is not None:
            return
        with self.store.lock("world"):
            # Checked again under the lock: two workers starting together seed once.
            if self.store.meta_get("seed") is None:
                if self.store.holds_data():  # seeding would wipe a world that lost its seed
                    raise StoreError(
                        f"{self.options.store}: holds a world but no seed; "
                        "move it away (or import a state export) to start anew"
                    )
                self.reset()
