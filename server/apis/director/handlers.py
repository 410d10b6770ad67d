"""Director's operations (specs/director.yaml): parse, call the state layer, shape the answer."""

from __future__ import annotations

import datetime as dt
import functools

from apitwin.apis.director import auth
from apitwin.apis.director.state import DirectorState
from apitwin.core.clock import UTC
from apitwin.pipeline.http import optional_body, reply

# A run read with the clock set near the end of year 9999 may end past it: shown at the end.
_LAST_SECOND = dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC).timestamp()


@functools.lru_cache(maxsize=1 << 14)  # a list shows two times per instance and per task
def _timestamp(ts: float) -> str:
    """Director on SQLite: `isoformat()` of a naive UTC time, whole seconds (D6)."""
    moment = dt.datetime.fromtimestamp(min(ts, _LAST_SECOND), UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="seconds")


def _workflow(view: dict) -> dict:
    body = {
        "id": view["id"],
        "created": _timestamp(view["created"]),
        "updated": _timestamp(view["updated"]),
        "project": view["project"],
        "name": view["name"],
        "fullname": f"{view['project']}.{view['name']}",
        "status": view["status"],
        "periodic": view["periodic"],
        "payload": view["payload"],
    }
    if view["comment"] is not None:
        body["comment"] = view["comment"]  # Director sends it only when there is one (D7)
    return body


def _task(task: dict) -> dict:
    return {
        "id": task["id"],
        "task": task["id"],  # Director's Celery task id is its own id
        "key": task["key"],
        "previous": task["previous"],
        "status": task["status"],
        "created": _timestamp(task["created"]),
        "updated": _timestamp(task["updated"]),
        "result": task["result"],
        "is_hook": False,  # the twin models no hooks
    }


class Handlers:
    def __init__(self, twin) -> None:
        self.twin = twin

    # Every operation here but the ping needs the basic credential when auth is on: the request
    # pipeline hands a handler that names `authorization` the request's Authorization header.
    def _state(self, authorization: str | None) -> DirectorState:
        auth.require(self.twin, authorization)
        return DirectorState(self.twin.world())

    async def list_workflows(self, authorization=None, per_page: int = 1000, page: int = 1, **_):
        # The rows are kept with the views they come from (state.py): shared, never changed.
        return reply(self._state(authorization).page(page, per_page, _workflow))

    async def start_workflow(self, body, authorization=None, **_context):
        # Without a Content-Type the body arrives as the bytes Connexion's validator read as JSON.
        body = optional_body(body)
        view = self._state(authorization).start(
            body["project"], body["name"], body["payload"], body.get("comment")
        )
        return reply(_workflow(view), 201)

    async def get_workflow(self, workflow_id: str, authorization=None, **_context):
        view = self._state(authorization).get(workflow_id)
        return reply({**_workflow(view), "tasks": [_task(task) for task in view["tasks"]]})

    async def relaunch_workflow(self, workflow_id: str, authorization=None, **_context):
        view = self._state(authorization).relaunch(workflow_id)
        return reply(_workflow(view), 201)

    async def ping(self, **_context):
        return reply({"message": "pong"})
