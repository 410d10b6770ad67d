"""The twin's runtime: options, the store, and the seeded world it holds."""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
from collections.abc import Iterator

from .clock import UTC, Clock
from .options import TwinOptions
from .store import MemoryStore, Store, open_store


def _midnight_today() -> float:
    today = dt.datetime.now(UTC).date()
    return dt.datetime(today.year, today.month, today.day, tzinfo=UTC).timestamp()


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

    def reset(self, seed: int | None = None, size: str | None = None) -> None:
        """Back to the seeded world: state, counters and clock all re-made from the seed."""
        from fixtures import build_world  # fixtures depend on the state layer, not vice versa

        seed = self.options.seed if seed is None else seed
        size = self.options.world if size is None else size
        epoch = self.options.epoch
        epoch_ts = (
            dt.datetime.fromisoformat(epoch).replace(tzinfo=UTC).timestamp()
            if epoch
            else _midnight_today()
        )
        # A shared store gets the world built in memory, then stored in one load: one
        # transaction on the file store, one MULTI/EXEC on Redis (0.6 s, not 18,000 round trips
        # and 6-11 s); other workers, which take no lock to read, see the old world or the new.
        built = self if isinstance(self.store, MemoryStore) else World(MemoryStore(), self.options)
        with self.store.lock("world"):
            built.store.clear()
            built.store.meta_set("seed", seed)
            built.store.meta_set("epoch", epoch_ts)
            built.store.meta_set("world", size)
            build_world(built)
            if built is not self:
                self.store.load(built.store.dump())

    def ensure_seeded(self) -> None:
        if self.store.meta_get("seed") is not None:
            return
        with self.store.lock("world"):
            # Checked again under the lock: two workers starting together seed once.
            if self.store.meta_get("seed") is None:
                self.reset()


class Twin:
    def __init__(self, options: TwinOptions, store: Store | None = None) -> None:
        from .sessions import Sessions  # sessions make Worlds: imported here, not at the top

        self.options = options
        self.default_world = World(store or open_store(options.store), options)
        self.default_world.ensure_seeded()
        self.sessions = Sessions(self)
        # The world of the request being served, set by sessions.SessionMiddleware; asyncio
        # tasks and the threadpool that runs handlers get a copy of the context, so every layer
        # of one request sees it.
        self._current: contextvars.ContextVar[World | None] = contextvars.ContextVar(
            "twin_world", default=None
        )

    def world(self) -> World:
        """The world the current request acts on: its session's, or the default one."""
        return self._current.get() or self.default_world

    @contextlib.contextmanager
    def acting_on(self, world: World) -> Iterator[None]:
        token = self._current.set(world)
        try:
            yield
        finally:
            self._current.reset(token)
