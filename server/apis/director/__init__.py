"""The Celery Director twin: workflow instances run from the definitions in the world."""

from __future__ import annotations

from apitwin.apis.director.auth import security_map
from apitwin.apis.director.definitions import task_keys
from apitwin.apis.director.errors import render_error
from apitwin.apis.director.handlers import Handlers
from apitwin.apis.director.state import DirectorState


def catalog(world) -> dict:
    """What /_twin/catalog lists: every definition's `project.name` and its task keys."""
    found = DirectorState(world).definitions()
    return {
        "workflows": [fullname for fullname, _ in found],
        "tasks": {fullname: task_keys(definition) for fullname, definition in found},
    }


__all__ = ["Handlers", "catalog", "render_error", "security_map"]
