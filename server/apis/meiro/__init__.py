"""The Meiro Integrations workspaces API twin (specs/meiro.yaml)."""

from __future__ import annotations

from apitwin.apis.meiro.auth import security_map
from apitwin.apis.meiro.catalog import catalog
from apitwin.apis.meiro.errors import render_error
from apitwin.apis.meiro.handlers import Handlers

__all__ = ["Handlers", "catalog", "render_error", "security_map"]
