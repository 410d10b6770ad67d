"""Dawgs (chains of workspaces run together) and dawg jobs (one run of a dawg).

The documented section has no route that makes either; they come from the fixtures, and the
twin knows them so that an unknown dawg or dawg job is a 404 (M16).
"""

from __future__ import annotations

from apitwin.apis.meiro.records import (
    ALL_DAWGS,
    DAWG_JOBS,
    DAWGS,
    WORKSPACES,
    dawg_dawg_jobs,
    dawg_workspaces,
    new_id,
)
from apitwin.core.errors import NotFound


class DawgRules:
    """Mixed into MeiroState."""

    def dawg(self, dawg_id: int) -> dict:
        doc = self.store.get(DAWGS, dawg_id)
        if doc is None:
            raise NotFound(f"Dawg {dawg_id} not found")
        return doc

    def dawg_job(self, dawg_id: int, dawg_job_id: int) -> dict:
        self.dawg(dawg_id)
        doc = self.store.get(DAWG_JOBS, dawg_job_id)
        if doc is None or doc["dawg_id"] != dawg_id:
            raise NotFound(f"Dawg job {dawg_job_id} of dawg {dawg_id} not found")
        return doc

    def add_dawg(self, name: str) -> dict:
        doc = {"id": new_id(self.store, DAWGS), "name": name, "created_at": self.now}
        self.store.put(DAWGS, doc["id"], doc)
        self.store.index_add(ALL_DAWGS, doc["id"], doc["id"])
        return doc

    def run_dawg(self, dawg_id: int, user_id: int) -> list[dict]:
        """A dawg job at `now`: a job of each of the dawg's live, enabled workspaces."""
        self.dawg(dawg_id)
        doc = {"id": new_id(self.store, DAWG_JOBS), "dawg_id": dawg_id, "created_at": self.now}
        self.store.put(DAWG_JOBS, doc["id"], doc)
        self.store.index_add(dawg_dawg_jobs(dawg_id), doc["id"], doc["id"])
        jobs = []
        for workspace_id in self.store.index_page(dawg_workspaces(dawg_id), 0, None):
            workspace = self.store.get(WORKSPACES, workspace_id)
            if not workspace["disabled"]:
                jobs.append(self.add_job(workspace, user_id, dawg_job_id=doc["id"]))
        return jobs

    def dawg_index(self) -> list[dict]:
        """Every dawg with its live workspaces and its dawg jobs (the admin catalog)."""
        rows = []
        for dawg_id in self.store.index_page(ALL_DAWGS, 0, None):
            rows.append(
                {
                    "id": dawg_id,
                    "workspace_ids": self.store.index_page(dawg_workspaces(dawg_id), 0, None),
                    "dawg_job_ids": self.store.index_page(dawg_dawg_jobs(dawg_id), 0, None),
                }
            )
        return rows
