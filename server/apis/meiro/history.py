"""Workspace history: the states a workspace's configuration went through, and reverting.

Each change stores the state it replaces as an entry (integer id, `previous_id` the entry stored
before it). The current state is not stored: lists show it first with `id` null (M8). A
snapshot's `created` is when that state was saved, which is why the documented entries differ.
"""

from __future__ import annotations

from apitwin.apis.meiro.records import HISTORY, Page, locked, stamp, workspace_history
from apitwin.apis.meiro.workspaces import CONFIG
from apitwin.core.errors import NotFound


class HistoryRules:
    """Mixed into MeiroState."""

    def _snapshot(self, workspace_id: int, state: dict, saved_at: int) -> dict:
        return {"id": workspace_id, **state, "created": stamp(saved_at)}

    def snapshot_view(self, doc: dict) -> dict:
        """The workspace's current configuration in the history's snapshot form."""
        state = {key: doc[key] for key in CONFIG}
        return self._snapshot(doc["id"], state, doc["version_at"])

    def _stored(self, entry: dict) -> dict:
        state = {key: entry["state"][key] for key in CONFIG}
        return self._snapshot(entry["workspace_id"], state, entry["state"]["saved_at"])

    def _entry_row(self, entry_id: int | None, snapshot: dict, previous_id: int | None) -> dict:
        row = {"id": entry_id, "workspace": snapshot}
        if previous_id is not None:
            previous = self.store.get(HISTORY, previous_id)
            row["previous_history"] = {"id": previous_id, "workspace": self._stored(previous)}
        return row

    def _entry(self, workspace_id: int, history_id: int) -> dict:
        entry = self.store.get(HISTORY, history_id)
        if entry is None or entry["workspace_id"] != workspace_id:
            raise NotFound(f"History entry {history_id} of workspace {workspace_id} not found")
        return entry

    def list_workspace_history(self, workspace_id: int, page: Page) -> list[dict]:
        """The current state first, then the stored entries by id in the order asked for."""
        doc = self.live_workspace(workspace_id)
        index = workspace_history(workspace_id)
        rows = []
        if page.start == 0:
            rows.append(self._entry_row(None, self.snapshot_view(doc), doc["history_id"]))
            ids = self.store.index_page(index, 0, page.limit - 1, page.descending)
        else:
            ids = self.store.index_page(index, page.start - 1, page.limit, page.descending)
        for entry in self.store.get_many(HISTORY, ids):
            rows.append(self._entry_row(entry["id"], self._stored(entry), entry["previous_id"]))
        return rows

    def get_workspace_history_item(self, workspace_id: int, history_id: int) -> dict:
        self.live_workspace(workspace_id)
        entry = self._entry(workspace_id, history_id)
        return self._entry_row(entry["id"], self._stored(entry), entry["previous_id"])

    def revert_workspace(self, workspace_id: int, history_id: int) -> dict:
        """The workspace takes the entry's state; the state it leaves is stored like any change."""
        with locked(self.store, workspace_id):
            doc = self.live_workspace(workspace_id)
            entry = self._entry(workspace_id, history_id)
            changes = {key: entry["state"][key] for key in CONFIG}
            return self.snapshot_view(self.change_workspace(doc, changes))
