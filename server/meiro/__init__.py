"""The Meiro Integrations workspaces API twin (specs/meiro.yaml)."""

from __future__ import annotations

from .auth import security_map
from .catalog import catalog
from .errors import render_error
from .handlers import Handlers

__all__ = ["Handlers", "catalog", "render_error", "security_map"]
