"""The Ylem / Datamin twin (specs/ylem.yaml): OAuth2 tokens, pipeline runs, run logs, statistics."""

from __future__ import annotations

from apitwin.apis.ylem.auth import security_map
from apitwin.apis.ylem.errors import render_error
from apitwin.apis.ylem.handlers import Handlers
from apitwin.apis.ylem.state import YlemState
from apitwin.apis.ylem.tokens import SCOPES


def catalog(world) -> dict:
    """Pipelines with their tasks, and the OAuth clients with their secrets (this is a twin)."""
    pipelines = [
        {
            "uuid": pipeline["uuid"],
            "name": pipeline["name"],
            "tasks": [
                {"uuid": task["uuid"], "type": task["type"], "name": task["name"]}
                for task in pipeline["tasks"]
            ],
        }
        for pipeline in YlemState(world).pipelines()
    ]
    clients = [
        {"client_id": client_id, "client_secret": secret}
        for client_id, secret in world.options.ylem_clients.items()
    ]
    return {"pipelines": pipelines, "clients": clients, "scopes": list(SCOPES)}


__all__ = ["Handlers", "catalog", "render_error", "security_map"]
