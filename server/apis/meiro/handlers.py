"""One handler per operationId of specs/meiro.yaml: parse, call the state layer, shape, reply.

Connexion has validated everything before a handler runs, and fills in the query parameters'
documented defaults; query parameters arrive in `**query` (which also carries Connexion's
`user`/`token_info`, ignored). `load_full_structure` changes nothing (M6).
"""

from __future__ import annotations

from apitwin.apis.meiro.records import Page
from apitwin.apis.meiro.shapes import WorkspaceShapes
from apitwin.apis.meiro.state import MeiroState
from apitwin.core.errors import BadRequest
from apitwin.pipeline.http import reply

OK = {"message": "OK"}
# Free-form members (`settings`, `variables`...) may nest; a few hundred levels would overflow
# the recursion of the store's copies, so deeper bodies are refused up front.
MAX_DEPTH = 64


def _shallow(body):
    """The body, if it nests at most MAX_DEPTH levels (checked without recursion)."""
    pending = [(body, 1)]
    while pending:
        value, depth = pending.pop()
        if depth > MAX_DEPTH:
            raise BadRequest(f"Request body nests deeper than {MAX_DEPTH} levels")
        children = value.values() if isinstance(value, dict) else value
        if isinstance(value, dict | list):
            pending += [(child, depth + 1) for child in children]
    return body


def _include_deleted(query: dict) -> bool:
    # Either spelling turns the flag on (M7).
    return bool(
        query.get("include_deleted_workspaces_jobs") or query.get("include_deleted_workspace_jobs")
    )


class Handlers:
    def __init__(self, twin) -> None:
        self.twin = twin
        self.shapes = WorkspaceShapes.load()

    def _state(self) -> MeiroState:
        return MeiroState(self.twin.world())

    def _workspace(self, row: dict, status: int = 200, shape: str = "Workspace"):
        return reply({"workspace": self.shapes.cut(shape, row)}, status)

    def _workspaces(self, key: str, rows: list[dict], page: Page, shape: str = "Workspace"):
        listed = [self.shapes.cut(shape, row) for row in rows]
        return reply({key: listed, "selection_settings": page.selection()})

    def _jobs(self, rows: list[dict], page: Page):
        return reply({"workspace_jobs": rows, "selection_settings": page.selection()})

    # ---- workspaces ----
    async def list_workspaces(self, **query):
        page = Page.of(query)
        selection = {
            "name_filter": query.get("name_filter"),
            "tag_ids": query.get("tag_ids"),
            "show_enabled": query.get("show_enabled", True),
            "show_disabled": query.get("show_disabled", True),
        }
        rows = self._state().list_workspaces(page, **selection)
        listed = [self.shapes.cut("Workspace", row) for row in rows]
        return reply({"workspaces": listed, "selection_settings": page.selection() | selection})

    async def create_workspace(self, body: dict, **query):
        return self._workspace(self._state().create_workspace(_shallow(body)), 201, "NewWorkspace")

    async def update_workspaces(self, body: list, **query):
        rows = self._state().update_workspaces(_shallow(body))
        return reply({"workspaces": [self.shapes.cut("Workspace", row) for row in rows]})

    async def get_workspace(self, workspace_id: int, **query):
        return self._workspace(self._state().get_workspace(workspace_id))

    async def modify_workspace(self, workspace_id: int, body: dict, **query):
        return self._workspace(self._state().modify_workspace(workspace_id, _shallow(body)))

    async def delete_workspace(self, workspace_id: int, **query):
        self._state().trash_workspace(workspace_id)
        return reply(OK)

    async def clone_workspace(self, workspace_id: int, **query):
        return self._workspace(self._state().clone_workspace(workspace_id))

    async def change_workspace_owner(self, workspace_id: int, body: dict, **query):
        return self._workspace(self._state().change_owner(workspace_id, body["user_id"]))

    async def delete_workspace_data(self, workspace_id: int):
        self._state().delete_workspace_data(workspace_id)
        return reply({"message": "ok"})

    async def list_dawg_workspaces(self, dawg_id: int, **query):
        page = Page.of(query)
        rows = self._state().list_dawg_workspaces(dawg_id, page)
        return self._workspaces("workspaces", rows, page)

    # ---- trash ----
    async def list_trashed_workspaces(self, **query):
        page = Page.of(query)
        rows = self._state().list_trashed_workspaces(page)
        return self._workspaces("trashed_workspaces", rows, page, "TrashedWorkspace")

    async def restore_trashed_workspace(self, workspace_id: int, **query):
        row = self._state().restore_workspace(workspace_id)
        return self._workspace(row, shape="RestoredWorkspace")

    # ---- workspace history ----
    async def list_workspace_history(self, workspace_id: int, **query):
        page = Page.of(query)
        rows = self._state().list_workspace_history(workspace_id, page)
        return reply({"history_list": rows, "selection_settings": page.selection()})

    async def get_workspace_history_item(self, workspace_id: int, history_id: int, **query):
        entry = self._state().get_workspace_history_item(workspace_id, history_id)
        return reply({"history": entry})

    async def revert_workspace_history_item(self, workspace_id: int, history_id: int, **query):
        return reply({"workspace": self._state().revert_workspace(workspace_id, history_id)})

    # ---- jobs ----
    async def list_workspace_jobs(self, workspace_id: int, **query):
        page = Page.of(query)
        return self._jobs(self._state().list_workspace_jobs(workspace_id, page), page)

    async def run_workspace_job(self, workspace_id: int, **query):
        return reply({"workspace_job": self._state().run_job(workspace_id)}, 201)

    async def get_workspace_job(self, workspace_id: int, job_id: int, **query):
        return reply({"workspace_job": self._state().get_job(workspace_id, job_id)})

    async def cancel_workspace_job(self, workspace_id: int, job_id: int, **query):
        self._state().cancel_job(workspace_id, job_id)
        return reply(OK)

    async def list_workspace_job_history(self, workspace_id: int, job_id: int, **query):
        page = Page.of(query)
        rows = self._state().list_job_history(workspace_id, job_id, page)
        return reply({"history_list": rows, "selection_settings": page.selection()})

    async def get_workspace_job_history_item(
        self, workspace_id: int, job_id: int, history_id: int, **query
    ):
        entry = self._state().get_job_history_item(workspace_id, job_id, history_id)
        return reply({"history": entry})

    async def list_project_workspace_jobs(self, **query):
        page = Page.of(query)
        return self._jobs(self._state().list_jobs(page, _include_deleted(query)), page)

    async def list_dawg_workspace_jobs(self, dawg_id: int, **query):
        page = Page.of(query)
        rows = self._state().list_jobs(page, _include_deleted(query), dawg_id=dawg_id)
        return self._jobs(rows, page)

    async def list_dawg_job_workspace_jobs(self, dawg_id: int, dawg_job_id: int, **query):
        page = Page.of(query)
        state = self._state()
        rows = state.list_jobs(page, _include_deleted(query), dawg_id, dawg_job_id)
        return self._jobs(rows, page)

    async def list_workspaces_last_jobs(self, **query):
        workspace_ids = query.get("workspace_ids")
        rows = self._state().last_jobs(workspace_ids)
        selection = {"workspace_ids": workspace_ids}
        return reply({"last_workspace_jobs": rows, "selection_settings": selection})

    # ---- logs ----
    async def list_workspace_logs(self, workspace_id: int, job_id: int, **query):
        page = Page.of(query)
        rows = self._state().list_logs(workspace_id, job_id, page)
        return reply({"workspace_logs": rows, "selection_settings": page.selection()})

    async def get_workspace_log(self, workspace_id: int, job_id: int, log_id: int, **query):
        row = self._state().get_log(workspace_id, job_id, log_id)
        return reply({"workspace_log": row})
