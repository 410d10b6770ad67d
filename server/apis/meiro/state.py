"""The Meiro twin's state layer: one object per request over the world's store.

The rules live in one module per resource and are mixed in here; they read and write the store,
raise the typed errors of apitwin.core.errors and never speak HTTP.
"""

from __future__ import annotations

from apitwin.apis.meiro.dawgs import DawgRules
from apitwin.apis.meiro.history import HistoryRules
from apitwin.apis.meiro.jobs import JobRules
from apitwin.apis.meiro.workspaces import WorkspaceRules


class MeiroState(WorkspaceRules, HistoryRules, JobRules, DawgRules):
    def __init__(self, world, now: int | None = None) -> None:
        self.store = world.store
        self.seed = world.seed
        # Whole seconds: every datetime the API shows has no fraction.
        self.now = int(world.clock.now()) if now is None else now
