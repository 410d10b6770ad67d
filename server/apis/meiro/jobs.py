"""Workspace jobs: run, read, cancel, the lists per workspace, project, dawg and dawg job, last
jobs, job history and logs. A job's state at `now` comes from lifecycle.py.

A job's `created` is when it entered its current status and `origin_created` when it was run:
the documents version jobs like workspaces (each history snapshot has its own `created`).
Job history entries and log lines are numbered per job from 1, in the order they happen.
"""

from __future__ import annotations

from typing import NamedTuple

from apitwin.apis.meiro import lifecycle
from apitwin.apis.meiro.records import (
    API_USER_ID,
    JOBS,
    RAN,
    WORKSPACES,
    Page,
    job_scope,
    live,
    locked,
    new_id,
    page_index,
    reindex,
    stamp,
    unique,
    workspace_jobs,
)
from apitwin.core.errors import Conflict, NotFound


class Activity(NamedTuple):  # built on every workspace read: a tuple is cheapest
    """What a workspace's jobs tell about it at `now`."""

    last_run: int | None = None  # when the newest job was run
    duration: int | None = None  # seconds the newest job took, once it ended
    last_event: int | None = None  # when the newest job last changed status
    written: int = 0  # bytes finished jobs wrote since the data was last deleted


def _job_indexes(job: dict, workspace: dict) -> set[str]:
    scopes = [job_scope()]
    if workspace["dawg_id"] is not None:
        scopes.append(job_scope(dawg_id=workspace["dawg_id"]))
    if job["dawg_job_id"] is not None:
        scopes.append(job_scope(dawg_job_id=job["dawg_job_id"]))
    names = {workspace_jobs(workspace["id"]), *scopes}
    if not workspace["deleted"]:
        names.update(live(scope) for scope in scopes)
    return names


class JobRules:
    """Mixed into MeiroState."""

    # ---- the lifecycle at `now` ----
    def _progress(self, job: dict) -> tuple[lifecycle.Plan, list[lifecycle.Version]]:
        run = lifecycle.plan(job["id"], job["queued_at"], self.seed)
        return run, lifecycle.versions(run.timeline, job["canceled_at"], self.now)

    def _job_row(self, job: dict, run: lifecycle.Plan, reached: list) -> dict:
        current = reached[-1]
        return {
            "id": job["id"],
            "user_id": job["user_id"],
            "workspace_id": job["workspace_id"],
            "status": current.status,
            "settings": job["settings"],
            "variables": job["variables"],
            "dawg_job_id": job["dawg_job_id"],
            "stats": lifecycle.stats(run, reached),
            "created": stamp(current.at),
            "origin_created": stamp(job["queued_at"]),
        }

    def job_view(self, job: dict) -> dict:
        return self._job_row(job, *self._progress(job))

    def job_activity(self, workspace: dict) -> Activity:
        """From the workspace's ledger of runs: no job is read and nothing is drawn."""
        cleared, written, last = workspace["data_cleared_at"], 0, None
        for _, canceled, *row in workspace["runs"]:
            timeline = lifecycle.Timeline.from_row(row)
            state = lifecycle.current(timeline, canceled, self.now)
            end = state.at if state.status in lifecycle.ENDED else None
            if state.status == lifecycle.FINISHED and (cleared is None or end > cleared):
                written += timeline.bytes_out
            last = (timeline, state, end)
        if last is None:
            return Activity()
        timeline, state, end = last
        duration = None if end is None else end - timeline.queued
        return Activity(timeline.queued, duration, state.at, written)

    # ---- reading ----
    def _fetch_jobs(self, ids: list[int]) -> list[dict]:
        return self.store.get_many(JOBS, ids)

    def job_of(self, workspace_id: int, job_id: int) -> dict:
        self.live_workspace(workspace_id)
        job = self.store.get(JOBS, job_id)
        if job is None or job["workspace_id"] != workspace_id:
            raise NotFound(f"Job {job_id} of workspace {workspace_id} not found")
        return job

    def get_job(self, workspace_id: int, job_id: int) -> dict:
        return self.job_view(self.job_of(workspace_id, job_id))

    def list_workspace_jobs(self, workspace_id: int, page: Page) -> list[dict]:
        self.live_workspace(workspace_id)
        index = workspace_jobs(workspace_id)
        return page_index(self.store, index, page, self._fetch_jobs, self.job_view)

    def list_jobs(
        self,
        page: Page,
        include_deleted: bool,
        dawg_id: int | None = None,
        dawg_job_id: int | None = None,
    ) -> list[dict]:
        """The project's jobs, or a dawg's, or a dawg job's; trashed workspaces' jobs only when
        asked for."""
        if dawg_job_id is not None:
            self.dawg_job(dawg_id, dawg_job_id)
        elif dawg_id is not None:
            self.dawg(dawg_id)
        scope = job_scope(dawg_id, dawg_job_id)
        index = scope if include_deleted else live(scope)
        return page_index(self.store, index, page, self._fetch_jobs, self.job_view)

    def last_jobs(self, workspace_ids: list[int] | None) -> list[dict]:
        """The newest job of each chosen workspace that is not trashed and has run (M21)."""
        if workspace_ids is None:
            ids = self.store.index_page(RAN, 0, None)
        else:
            ids = unique(workspace_ids)
        rows = []
        for workspace in self.store.get_many(WORKSPACES, ids):
            if workspace["deleted"] or not workspace["runs"]:
                continue
            job = self.store.get(JOBS, workspace["runs"][-1][0])
            rows.append({"workspace_id": workspace["id"], "last_job": self.job_view(job)})
        return rows

    # ---- writing ----
    def add_job(self, workspace: dict, user_id: int, dawg_job_id: int | None = None) -> dict:
        """Queues a job of the workspace at `now` (run, dawg runs, fixtures), and adds it to the
        workspace's ledger of runs: [job id, canceled at, *its seeded timeline]."""
        job = {
            "id": new_id(self.store, JOBS),
            "workspace_id": workspace["id"],
            "user_id": user_id,
            "settings": {},
            "variables": workspace["variables"],
            "dawg_job_id": dawg_job_id,
            "queued_at": self.now,
            "canceled_at": None,
        }
        self.store.put(JOBS, job["id"], job)
        reindex(self.store, job["id"], set(), _job_indexes(job, workspace))
        timeline = lifecycle.plan(job["id"], self.now, self.seed).timeline
        runs = [*workspace["runs"], [job["id"], None, *timeline.row()]]
        self._save_workspace(workspace, {**workspace, "runs": runs, "touched_at": self.now})
        return job

    def run_job(self, workspace_id: int) -> dict:
        with locked(self.store, workspace_id):
            job = self.add_job(self.live_workspace(workspace_id), API_USER_ID)
        return self.job_view(job)

    def cancel_job(self, workspace_id: int, job_id: int) -> None:
        """A waiting or running job becomes canceled; an ended one is a conflict (M15)."""
        with locked(self.store, workspace_id):
            job = self.job_of(workspace_id, job_id)
            status = self._progress(job)[1][-1].status
            if status in lifecycle.ENDED:
                raise Conflict(f"Job {job_id} has already ended ({status})")
            self.store.put(JOBS, job_id, {**job, "canceled_at": self.now})
            workspace = self.live_workspace(workspace_id)
            runs = [
                [job_id, self.now, *run[2:]] if run[0] == job_id else run
                for run in workspace["runs"]
            ]
            self._save_workspace(workspace, {**workspace, "runs": runs, "touched_at": self.now})

    def move_jobs(self, old: dict, new: dict) -> None:
        """A workspace left or entered the trash or a dawg: its jobs follow it in the lists."""
        ids = self.store.index_page(workspace_jobs(new["id"]), 0, None)
        for job in self.store.get_many(JOBS, ids):
            reindex(self.store, job["id"], _job_indexes(job, old), _job_indexes(job, new))

    # ---- job history and logs ----
    def list_job_history(self, workspace_id: int, job_id: int, page: Page) -> list[dict]:
        entries = self._linked_entries(self.job_of(workspace_id, job_id))
        current, stored = entries[0], entries[1:]
        if page.descending:
            stored.reverse()
        return page.slice([current, *stored])

    def get_job_history_item(self, workspace_id: int, job_id: int, history_id: int) -> dict:
        entries = self._linked_entries(self.job_of(workspace_id, job_id))
        for entry in entries[1:]:
            if entry["id"] == history_id:
                return entry
        raise NotFound(f"History entry {history_id} of job {job_id} not found")

    def _linked_entries(self, job: dict) -> list[dict]:
        """Every entry with `previous_history`: the stored state just before it, if any."""
        run, reached = self._progress(job)
        snapshots = [self._job_row(job, run, reached[:n]) for n in range(1, len(reached) + 1)]
        entries = []
        for number, snapshot in enumerate(snapshots, start=1):
            current = number == len(snapshots)
            entry = {"id": None if current else number, "workspace_job": snapshot}
            if number > 1:
                previous = snapshots[number - 2]
                entry["previous_history"] = {"id": number - 1, "workspace_job": previous}
            entries.append(entry)
        return [entries[-1], *entries[:-1]]

    def _log_rows(self, job: dict) -> list[dict]:
        run, reached = self._progress(job)
        return [
            {
                "id": line["id"],
                "workspace_job_id": job["id"],
                "level": line["level"],
                "text": line["text"],
                "created": stamp(line["at"]),
            }
            for line in lifecycle.log_lines(job["id"], run, reached, self.now)
        ]

    def list_logs(self, workspace_id: int, job_id: int, page: Page) -> list[dict]:
        return page.slice(page.sort(self._log_rows(self.job_of(workspace_id, job_id))))

    def get_log(self, workspace_id: int, job_id: int, log_id: int) -> dict:
        for row in self._log_rows(self.job_of(workspace_id, job_id)):
            if row["id"] == log_id:
                return row
        raise NotFound(f"Log {log_id} of job {job_id} not found")
