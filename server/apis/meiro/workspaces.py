"""Workspaces: create, read, list, change (recording history), clone, owner, trash, data.

A stored workspace holds what clients set plus bookkeeping (`version_at`: when its current
configuration was saved, `history_id`: its newest stored history entry,
`touched_at`, `disk_base`, `data_cleared_at`) and `runs`, the ledger of its jobs. What its jobs
did (`last_run`, `disk_usage`...) is derived from that ledger when read (jobs.py), never stored.
"""

from __future__ import annotations

import json

from apitwin.apis.meiro.records import (
    API_USER_ID,
    CARDS,
    DISABLED,
    ENABLED,
    HISTORY,
    LIVE,
    RAN,
    TRASH,
    WORKSPACES,
    Page,
    dawg_workspaces,
    locked,
    new_id,
    page_index,
    reindex,
    stamp,
    workspace_history,
)
from apitwin.core.errors import NotFound
from apitwin.core.memo import InstantMemo

# What a history entry saves and a revert restores: everything a client can change.
# Workspace views by stored text and instant (server/core/memo.py).
_VIEWS = InstantMemo()

CONFIG = (
    "user_id",
    "name",
    "description",
    "settings",
    "frontend_settings",
    "variables",
    "dawg_id",
    "input_settings",
    "continue_on_failure",
    "disabled",
)
# Fields a bulk update item carries that are not changes.
_BULK_KEYS = ("id", "workspace_id")
# At or above this many bytes a workspace's `high_disk_usage` is 1.
HIGH_DISK_USAGE = 1 << 30
# Columns whose values come from the jobs at `now`: ordering by them views every workspace.
DERIVED_COLUMNS = frozenset(
    {"disk_usage", "high_disk_usage", "last_run", "last_run_duration", "last_activity"}
)
_CARD_FIELDS = (
    "id",
    "name",
    "description",
    "tags",
    "user_id",
    "author_id",
    "dawg_id",
    "continue_on_failure",
    "disabled",
    "deleted",
)


def _card(doc: dict) -> dict:
    """The stored columns lists filter and order on, flat: cheap to read by the thousand."""
    return {**{name: doc[name] for name in _CARD_FIELDS}, "created": doc["created_at"]}


def _indexes(doc: dict) -> set[str]:
    if doc["deleted"]:
        return {TRASH}
    names = {LIVE, DISABLED if doc["disabled"] else ENABLED}
    if doc["dawg_id"] is not None:
        names.add(dawg_workspaces(doc["dawg_id"]))
    if doc["runs"]:
        names.add(RAN)
    return names


class WorkspaceRules:
    """Mixed into MeiroState: needs `store`, `now`, `seed` and the job rules."""

    # ---- reading ----
    def _fetch_workspaces(self, ids: list[int]) -> list[dict]:
        return self.store.get_many(WORKSPACES, ids)

    def _fetch_cards(self, ids: list[int]) -> list[dict]:
        return self.store.get_many(CARDS, ids)

    def _workspace_rows(self, ids: list[int]) -> list[dict]:
        """The views of the workspaces that exist, in the order of `ids`: each computed once per
        stored version and second (a view is a pure function of both), shared between readers,
        so never changed in place."""
        return [
            _VIEWS.get(text, self.now, lambda text=text: self.workspace_view(json.loads(text)))
            for text in self.store.get_many_raw(WORKSPACES, ids)
        ]

    def _page_of_workspaces(self, index: str, page: Page, keep=None) -> list[dict]:
        """A page of an index's workspaces. Plain pages read only their own workspaces;
        filters and stored columns read the small cards, and only the page is viewed."""
        if keep is None and page.order_by == "id":
            ids = self.store.index_page(index, page.start, page.limit, page.descending)
            return self._workspace_rows(ids)
        if page.order_by in DERIVED_COLUMNS:
            return page_index(
                self.store, index, page, self._fetch_workspaces, self.workspace_view, keep
            )
        cards = page_index(self.store, index, page, self._fetch_cards, dict, keep)
        return self._workspace_rows([card["id"] for card in cards])

    def live_workspace(self, workspace_id: int) -> dict:
        """A workspace that is not in the trash; trashed ones live only there (M16)."""
        doc = self.store.get(WORKSPACES, workspace_id)
        if doc is None or doc["deleted"]:
            raise NotFound(f"Workspace {workspace_id} not found")
        return doc

    def trashed_workspace(self, workspace_id: int) -> dict:
        doc = self.store.get(WORKSPACES, workspace_id)
        if doc is None or not doc["deleted"]:
            raise NotFound(f"Workspace {workspace_id} is not in the trash")
        return doc

    def workspace_view(self, doc: dict) -> dict:
        """Every field a workspace answer may carry, with what its jobs did at `now`."""
        activity = self.job_activity(doc)
        disk_usage = doc["disk_base"] + activity.written
        last_activity = max(doc["touched_at"], activity.last_event or doc["touched_at"])
        return {
            "id": doc["id"],
            "user_id": doc["user_id"],
            "name": doc["name"],
            "description": doc["description"],
            "settings": doc["settings"],
            "frontend_settings": doc["frontend_settings"],
            "variables": doc["variables"],
            "dawg_id": doc["dawg_id"],
            "input_settings": doc["input_settings"],
            "disk_usage": disk_usage,
            "high_disk_usage": int(disk_usage >= HIGH_DISK_USAGE),
            "continue_on_failure": doc["continue_on_failure"],
            "disabled": doc["disabled"],
            "deleted": doc["deleted"],
            "last_run": stamp(activity.last_run),
            "last_run_duration": activity.duration,
            "last_activity": stamp(last_activity),
            "author_id": doc["author_id"],
            "tags": doc["tags"],
            "created": stamp(doc["created_at"]),
        }

    def get_workspace(self, workspace_id: int) -> dict:
        """A live workspace's view (live_workspace's 404 otherwise), from the lists' memo of
        views: shared, so never changed in place."""
        rows = self._workspace_rows([workspace_id])
        if not rows or rows[0]["deleted"]:
            raise NotFound(f"Workspace {workspace_id} not found")
        return rows[0]

    def list_workspaces(
        self,
        page: Page,
        name_filter: str | None = None,
        tag_ids: list[int] | None = None,
        show_enabled: bool = True,
        show_disabled: bool = True,
    ) -> list[dict]:
        if show_enabled and show_disabled:
            index = LIVE
        elif show_enabled or show_disabled:
            index = ENABLED if show_enabled else DISABLED
        else:
            return []
        keep = None
        if name_filter or tag_ids:
            needle, wanted_tags = (name_filter or "").casefold(), set(tag_ids or ())

            def keep(doc: dict) -> bool:
                if needle not in doc["name"].casefold():
                    return False
                return not wanted_tags or not wanted_tags.isdisjoint(doc["tags"])

        return self._page_of_workspaces(index, page, keep)

    def list_trashed_workspaces(self, page: Page) -> list[dict]:
        return self._page_of_workspaces(TRASH, page)

    def list_dawg_workspaces(self, dawg_id: int, page: Page) -> list[dict]:
        self.dawg(dawg_id)
        return self._page_of_workspaces(dawg_workspaces(dawg_id), page)

    # ---- writing ----
    def _save_workspace(self, old: dict | None, new: dict) -> None:
        self.store.put(WORKSPACES, new["id"], new)
        self.store.put(CARDS, new["id"], _card(new))
        reindex(self.store, new["id"], _indexes(old) if old else set(), _indexes(new))
        if old is not None and (
            old["deleted"] != new["deleted"] or old["dawg_id"] != new["dawg_id"]
        ):
            self.move_jobs(old, new)

    def add_workspace(self, fields: dict) -> dict:
        """A new workspace: `fields` as sent (create, clone, fixtures), the rest defaulted."""
        workspace_id = new_id(self.store, WORKSPACES)
        doc = {
            "id": workspace_id,
            "user_id": API_USER_ID,
            "author_id": API_USER_ID,
            "name": "",
            "description": "",
            "settings": {},
            "frontend_settings": {},
            "variables": {},
            "dawg_id": None,
            "input_settings": {"inputs": []},
            "continue_on_failure": 0,
            "disabled": 0,
            "tags": [],
            "disk_base": 0,
            **fields,
            "deleted": 0,
            "created_at": self.now,
            "version_at": self.now,
            "touched_at": self.now,
            "history_id": None,
            "runs": [],
            "data_cleared_at": None,
            "deleted_at": None,
        }
        if doc["dawg_id"] is not None:
            self.dawg(doc["dawg_id"])
        self._save_workspace(None, doc)
        return doc

    def create_workspace(self, body: dict) -> dict:
        return self.workspace_view(self.add_workspace(body))

    def change_workspace(self, doc: dict, changes: dict) -> dict:
        """Applies a client's changes, first saving the state they replace as a history entry
        (`previous_history` links each entry to the one saved before it)."""
        entry_id = new_id(self.store, HISTORY)
        saved = {key: doc[key] for key in CONFIG}
        entry = {
            "id": entry_id,
            "workspace_id": doc["id"],
            "previous_id": doc["history_id"],
            "state": {**saved, "saved_at": doc["version_at"]},
        }
        self.store.put(HISTORY, entry_id, entry)
        self.store.index_add(workspace_history(doc["id"]), entry_id, entry_id)
        new = {**doc, **changes, "history_id": entry_id}
        new.update(version_at=self.now, touched_at=self.now)
        self._save_workspace(doc, new)
        return new

    def modify_workspace(self, workspace_id: int, changes: dict) -> dict:
        with locked(self.store, workspace_id):
            doc = self.change_workspace(self.live_workspace(workspace_id), changes)
        return self.workspace_view(doc)

    def change_owner(self, workspace_id: int, user_id: int) -> dict:
        return self.modify_workspace(workspace_id, {"user_id": user_id})

    def update_workspaces(self, items: list[dict]) -> list[dict]:
        """All or nothing: every id and dawg is checked before anything changes (M13)."""
        with locked(self.store, *(item["id"] for item in items)):
            for item in items:
                self.live_workspace(item["id"])
                if item.get("dawg_id") is not None:
                    self.dawg(item["dawg_id"])
            for item in items:
                changes = {k: v for k, v in item.items() if k not in _BULK_KEYS}
                self.change_workspace(self.live_workspace(item["id"]), changes)
            docs = self._fetch_workspaces([item["id"] for item in items])
        return [self.workspace_view(doc) for doc in docs]

    def clone_workspace(self, workspace_id: int) -> dict:
        """A copy of the configuration and tags under a new id, named `clone_<name>`, made by
        the caller; the copy has no history, jobs or data."""
        source = self.live_workspace(workspace_id)
        fields = {key: source[key] for key in CONFIG}
        fields.update(name="clone_" + source["name"], tags=source["tags"])
        return self.workspace_view(self.add_workspace(fields))

    def trash_workspace(self, workspace_id: int) -> None:
        with locked(self.store, workspace_id):
            doc = self.live_workspace(workspace_id)
            new = {**doc, "deleted": 1, "deleted_at": self.now, "touched_at": self.now}
            self._save_workspace(doc, new)

    def restore_workspace(self, workspace_id: int) -> dict:
        with locked(self.store, workspace_id):
            doc = self.trashed_workspace(workspace_id)
            new = {**doc, "deleted": 0, "deleted_at": None, "touched_at": self.now}
            self._save_workspace(doc, new)
        return self.workspace_view(new)

    def delete_workspace_data(self, workspace_id: int) -> None:
        """Deletes what the jobs wrote so far: `disk_usage` is 0 until a job finishes again."""
        with locked(self.store, workspace_id):
            doc = self.live_workspace(workspace_id)
            new = {**doc, "disk_base": 0, "data_cleared_at": self.now, "touched_at": self.now}
            self._save_workspace(doc, new)
