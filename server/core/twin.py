"""The twin's runtime: its options, the default world, the sessions' worlds, and which of them
the current request acts on."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

from apitwin.core.sessions import Sessions
from apitwin.core.store import Store, open_store
from apitwin.core.world import World
from apitwin.options import TwinOptions


class Twin:
    def __init__(self, options: TwinOptions, store: Store | None = None) -> None:
        self.options = options
        self.default_world = World(store or open_store(options.store), options)
        self.default_world.ensure_seeded()
        self.sessions = Sessions(self)
        # The world of the request being served, set by pipeline.session.SessionMiddleware; asyncio
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
