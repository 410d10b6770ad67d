"""A seeded world (its store, clock, seed and epoch), and the builds of seeds it is reset to."""

from __future__ import annotations

import datetime as dt

from apitwin.core.clock import UTC, Clock
from apitwin.core.state_check import Shape, shapes_of
from apitwin.core.store import MemoryStore, Store, StoreError
from apitwin.fixtures import build_world
from apitwin.options import TwinOptions


def _midnight_today() -> float:
    today = dt.datetime.now(UTC).date()
    return dt.datetime(today.year, today.month, today.day, tzinfo=UTC).timestamp()


class SeededWorlds:
    """What a seed grows into, built once and copied into every world reset to it.

    The build is a pure function of (seed, epoch, size), so it is kept: a new session or a reset
    (the test suites reset before each test) costs a copy, not a fixture build. Only the last
    build is kept, in a memory store of its own, which nothing writes to after the build: a
    memory world copies its tables (no JSON decoded or encoded again), the other stores load
    its dump.
    """

    def __init__(self, options: TwinOptions) -> None:
        self.options = options
        self._last: tuple[tuple, MemoryStore] | None = None  # ((seed, epoch, size), the build)
        self._shapes: dict[str, Shape] | None = None

    def build(self, seed: int, epoch_ts: float, size: str) -> MemoryStore:
        """The seed's world, to copy from (`Store.load_from`), never to write to."""
        key = (seed, epoch_ts, size)
        last = self._last
        if last is None or last[0] != key:
            # Two threads building at once both build the same: the second assignment is alike.
            last = self._last = (key, self._build(seed, epoch_ts, size))
        return last[1]

    def shapes(self) -> dict[str, Shape]:
        """Each collection's stored shape (what imports are checked against), learnt once from a
        standard world: the code that writes documents is the one fact, not a second list."""
        if self._shapes is None:
            built = self._build(self.options.seed, _midnight_today(), "standard")
            self._shapes = shapes_of(built.dump())
        return self._shapes

    def _build(self, seed: int, epoch_ts: float, size: str) -> dict:
        built = World(MemoryStore(), self.options, self)
        built.store.meta_set("seed", seed)
        built.store.meta_set("epoch", epoch_ts)
        built.store.meta_set("world", size)
        build_world(built)
        return built.store


class World:
    """One seeded world: the store, its clock, its seed and epoch.

    The epoch is the instant the seeded history ends: fixture timestamps are drawn before it, so
    the same seed and epoch give the same world, byte for byte.
    """

    def __init__(
        self, store: Store, options: TwinOptions, seeded: SeededWorlds | None = None
    ) -> None:
        self.store = store
        self.options = options
        self.seeded = seeded or SeededWorlds(options)
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
        seeded = self.seeded.build(seed, epoch_ts, size)
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
