"""Per-session worlds: `X-Twin-Session: NAME` gives a caller its own copy of the seeded world.

A session's world is the twin's backend under its own prefix (a MemoryStore of its own on
`memory`), seeded on first use from the twin's seed, epoch and size: the same bytes a fresh
default world has. The registry of live sessions (name, created, last used) is a small store of
its own on the same backend, so every process sharing a file or Redis sees the same sessions,
and a reset, export or import of the default world never touches it. Each process keeps only a
cache of the World objects it opened.

Costs kept off the hot path: a cached session's request reads one registry entry on a shared
store (a session another process dropped must not be served from its emptied prefix) and none
on memory; its last use is written at most every `_touch_every` seconds (a file-store write is
an fsync); idle sessions are swept lazily (on a session's first use, a stale touch, or a
listing), at most every `_sweep_every`.
Idle times are wall-clock, not the virtual clock: they are about callers, not the world.
"""

from __future__ import annotations

import re
import threading
import time

from apitwin.core.errors import NotFound, TwinError
from apitwin.core.store import DEFAULT_PREFIX, Store, open_store
from apitwin.core.world import World

HEADER = "x-twin-session"
NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
_SESSIONS = "sessions"  # the registry's collection: name -> {name, created, last_used}


class InvalidSession(TwinError):
    status = 400


class TooManySessions(TwinError):
    status = 429  # with Retry-After: when the least recently used session would go idle


def _close(store: Store) -> None:
    close = getattr(store, "close", None)  # the memory backend holds no connection
    if close is not None:
        close()


class Sessions:
    """The live sessions of one twin and the World objects this process has opened for them."""

    def __init__(self, twin) -> None:
        self.twin = twin
        options = twin.options
        self.idle = float(options.session_idle)
        self.limit = options.max_sessions
        # Well inside the idle time, so a session in use is never swept for a lagging write.
        self._touch_every = min(5.0, self.idle / 4)
        self._sweep_every = min(30.0, self.idle / 2)
        self._registry: Store | None = None  # opened on the first session: most twins use none
        self._shared = options.store != "memory"  # other processes may drop sessions
        self._worlds: dict[str, object] = {}  # name -> World (this process's cache)
        self._written: dict[str, float] = {}  # name -> when this process last wrote last_used
        self._used: dict[str, float] = {}  # name -> last use in this process
        self._next_sweep = 0.0
        # Creation, touches and drops of this process, one at a time (seeding is not re-entrant
        # on the memory backend, whose store lock is a no-op).
        self._guard = threading.RLock()

    # --- naming --------------------------------------------------------------------------------

    @staticmethod
    def check_name(name: str) -> str:
        if not NAME.fullmatch(name):
            raise InvalidSession(
                f"X-Twin-Session {name[:80]!r} is not a session name: 1 to 64 characters "
                "from A-Z, a-z, 0-9, '.', '_' and '-'"
            )
        return name

    def _prefix(self, name: str) -> str:
        return f"{DEFAULT_PREFIX}:session:{name}"

    @property
    def registry(self) -> Store:
        if self._registry is None:
            with self._guard:
                if self._registry is None:
                    self._registry = open_store(
                        self.twin.options.store, prefix=f"{DEFAULT_PREFIX}:registry"
                    )
        return self._registry

    # --- the world of a request ------------------------------------------------------------------

    def cached(self, name: str):
        """The session's World if this process wrote its last use recently and the session is
        still registered, else None (then `open` registers it again and seeds it afresh).

        The hot path: dict reads, and on a shared store one registry read: another process may
        have dropped the session, emptying its prefix (measured: ~0.04 ms on file, 0.1-0.3 ms on
        Redis, against ~2 ms a request)."""
        now = time.time()
        world = self._worlds.get(name)
        if world is None or now - self._written.get(name, 0.0) >= self._touch_every:
            return None
        if self._shared and self.registry.get(_SESSIONS, name) is None:
            return None
        self._used[name] = now
        return world

    def open(self, name: str):
        """The session's World: created and seeded on first use, its last use recorded.

        Blocking (a first use seeds a world): the middleware runs it in a thread."""
        with self._guard:
            now = time.time()
            self._sweep(now)
            registry = self.registry
            with registry.lock(_SESSIONS):
                entry = registry.get(_SESSIONS, name)
                if entry is None:
                    if registry.count(_SESSIONS) >= self.limit:
                        raise self._too_many(registry, now)
                    entry = {"name": name, "created": now, "last_used": now}
                else:
                    entry["last_used"] = now
                registry.put(_SESSIONS, name, entry)
            world = self._worlds.get(name)
            if world is None:
                store = open_store(self.twin.options.store, self._prefix(name))
                # Seeded from the process's kept build: a load, not a fixture build.
                world = World(store, self.twin.options)
            # Not nested in the registry lock: on the file store both are the file's one write
            # lock, held by two connections. Seeding checks again under the world's lock, so two
            # first requests (in any processes) seed once.
            with world.store.lock("world"):
                seeding = world.store.meta_get("seed") is None
                if seeding:
                    world.reset()
            if seeding:  # idle from now, not from before the seeding (seconds on a large world)
                now = time.time()
                with registry.lock(_SESSIONS):
                    if registry.get(_SESSIONS, name) is not None:
                        registry.put(_SESSIONS, name, {**entry, "last_used": now})
            self._worlds[name] = world
            self._written[name] = self._used[name] = now
            return world

    def _too_many(self, registry: Store, now: float) -> TooManySessions:
        oldest = min((e["last_used"] for e in registry.scan(_SESSIONS)), default=now)
        error = TooManySessions(
            f"{self.limit} sessions are live (apitwin serve --max-sessions); drop one with "
            "DELETE /_twin/sessions/{name}, or wait for one to be idle for "
            f"{self.idle:g} s (--session-idle)"
        )
        error.headers["Retry-After"] = str(max(1, int(oldest + self.idle - now) + 1))
        return error

    # --- listing and dropping ----------------------------------------------------------------

    def list(self) -> list[dict]:
        with self._guard:
            now = time.time()
            self._sweep(now, force=True)
            entries = []
            for entry in self.registry.scan(_SESSIONS):
                # Uses this process has not written yet count too.
                last = max(entry["last_used"], self._used.get(entry["name"], 0.0))
                entries.append({**entry, "last_used": last, "expires": last + self.idle})
        return sorted(entries, key=lambda e: (e["created"], e["name"]))

    def drop(self, name: str) -> None:
        """Drops the session now, its data too. Another process that has it open notices on
        its next request for it (`cached`), which then makes the session afresh."""
        with self._guard:
            registry = self.registry
            with registry.lock(_SESSIONS):
                if registry.get(_SESSIONS, name) is None:
                    raise NotFound(f"no session {name!r}")
                registry.delete(_SESSIONS, name)
            self._forget(name)

    def _sweep(self, now: float, force: bool = False) -> None:
        if not force and now < self._next_sweep:
            return
        self._next_sweep = now + self._sweep_every
        if self._registry is None and not force:
            return
        registry = self.registry
        with registry.lock(_SESSIONS):
            idle = [
                entry["name"]
                for entry in registry.scan(_SESSIONS)
                if max(entry["last_used"], self._used.get(entry["name"], 0.0)) + self.idle <= now
            ]
            for name in idle:
                registry.delete(_SESSIONS, name)
        for name in idle:
            self._forget(name)

    def _forget(self, name: str) -> None:
        """Drops the session's data from the backend and its World from this process's cache."""
        self._written.pop(name, None)
        self._used.pop(name, None)
        world = self._worlds.pop(name, None)
        store = world.store if world is not None else None
        if store is None:
            if self.twin.options.store == "memory":
                return  # nothing outside this process's cache
            store = open_store(self.twin.options.store, self._prefix(name))
        try:
            # Under the world's lock, and only if no process re-created the session meanwhile
            # (it seeds under the same lock): a session in use is never emptied.
            with store.lock("world"):
                if self.registry.get(_SESSIONS, name) is None:
                    store.clear()
        finally:
            _close(store)
