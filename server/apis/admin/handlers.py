"""The admin API (specs/admin.yaml): reset, clock, catalog, state export/import, journal, faults."""

from __future__ import annotations

from apitwin.apis import APIS
from apitwin.apis.admin.faults import FaultHandlers
from apitwin.core.clock import iso, parse_instant
from apitwin.core.errors import BadRequest
from apitwin.core.state_check import check_state
from apitwin.core.store import StoreError
from apitwin.pipeline.http import optional_body, reply
from apitwin.pipeline.journal import JOURNAL


class AdminHandlers(FaultHandlers):
    def __init__(self, twin) -> None:
        self.twin = twin

    def _world_info(self, world) -> tuple:
        return reply({"seed": world.seed, "epoch": iso(world.epoch), "world": world.size})

    async def reset(self, body: dict | None = None):
        world = self.twin.world()
        body = optional_body(body)
        world.reset(body.get("seed"), body.get("world"))
        world.clock.reset()
        return self._world_info(world)

    def _clock(self, world):
        return reply({"now": iso(world.clock.now()), "frozen": world.clock.frozen})

    async def get_clock(self):
        return self._clock(self.twin.world())

    async def set_clock(self, body: dict):
        clock = self.twin.world().clock
        if "freeze" in body:
            clock.freeze(body["freeze"])
        if "set" in body:
            clock.set(parse_instant(body["set"]))
        if "advance_seconds" in body:
            clock.advance(body["advance_seconds"])
        return self._clock(self.twin.world())

    async def get_catalog(self):
        world = self.twin.world()
        catalog = {"seed": world.seed}
        for name, api in APIS.items():
            catalog[name] = api.module().catalog(world)
        return reply(catalog)

    async def export_state(self):
        return reply(self.twin.world().store.dump())

    async def import_state(self, body: dict):
        world = self.twin.world()
        check_state(body, world.shapes())  # before anything changes
        backup = world.store.dump()
        try:
            world.store.load(body)
            if world.seed is None or world.epoch is None:
                raise StoreError("the state has no seed or epoch")
        except StoreError as exc:
            world.store.load(backup)  # a bad import loses nothing
            raise BadRequest(f"not a twin state export: {exc}") from exc
        return self._world_info(world)

    async def list_requests(self, limit: int = 100, operation_id=None, status=None):
        entries = self.twin.world().store.log_read(JOURNAL)
        picked = []
        for entry in reversed(entries):
            if operation_id is not None and entry["operation_id"] != operation_id:
                continue
            if status is not None and entry["status"] != status:
                continue
            picked.append({**entry, "at": iso(entry["at"])})
            if len(picked) >= limit:
                break
        return reply({"requests": picked})

    # Plain functions: Connexion runs them in its threadpool. They wait for the sessions' lock,
    # which a first request holds while it seeds a world; the event loop must not wait with them.
    def list_sessions(self):
        sessions = self.twin.sessions
        listed = [
            {"name": e["name"], **{at: iso(e[at]) for at in ("created", "last_used", "expires")}}
            for e in sessions.list()
        ]
        return reply(
            {"sessions": listed, "idle_seconds": sessions.idle, "max_sessions": sessions.limit}
        )

    def drop_session(self, name: str):
        self.twin.sessions.drop(name)
        return None, 204
