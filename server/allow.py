"""The methods each served path allows, read from the specs, for 405 answers.

Connexion routes every operation separately, so its 405 names only the methods of the first route
that matched the path; clients (and schemathesis) expect the path's full list.
"""

from __future__ import annotations

import re

from starlette.routing import compile_path

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class AllowedMethods:
    def __init__(self) -> None:
        self._routes: list[tuple[re.Pattern, list[str]]] = []

    def add_spec(self, base_path: str, spec: dict) -> None:
        for template, item in spec.get("paths", {}).items():
            methods = [m.upper() for m in _METHODS if m in item]
            if "GET" in methods and "HEAD" not in methods:
                methods.append("HEAD")
            regex, _, _ = compile_path(base_path.rstrip("/") + template)
            self._routes.append((regex, methods))

    def for_path(self, path: str) -> list[str]:
        allowed: list[str] = []
        for regex, methods in self._routes:
            if regex.match(path):
                allowed += [m for m in methods if m not in allowed]
        return allowed
