"""The Celery Director twin: workflow instances run from the definitions in the world."""

from __future__ import annotations

from .auth import security_map
from .definitions import task_keys
from .errors import render_error
from .handlers import Handlers
from .state import DirectorState


def catalog(world) -> dict:
    """What /_twin/catalog lists: every definition's `project.name` and its task keys."""
    found = DirectorState(world).definitions()
    return {
        "workflows": [fullname for fullname, _ in found],
        "tasks": {fullname: task_keys(definition) for fullname, definition in found},
    }


__all__ = ["Handlers", "catalog", "render_error", "security_map"]
