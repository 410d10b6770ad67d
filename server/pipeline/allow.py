"""The methods each served path allows, read from the specs, for 405 answers.

Connexion routes every operation separately, so its 405 names only the methods of the first route
that matched the path; clients (and schemathesis) expect the path's full list. As OpenAPI says,
a concrete path wins over a templated one (`/workspaces/trash` is not `/workspaces/{id}`), so
only the matching templates with the fewest parameters count.
"""

from __future__ import annotations

import re

from starlette.routing import compile_path

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


class AllowedMethods:
    def __init__(self) -> None:
        self._routes: list[tuple[re.Pattern, int, list[str]]] = []

    def add_spec(self, base_path: str, spec: dict) -> None:
        for template, item in spec.get("paths", {}).items():
            methods = [m.upper() for m in _METHODS if m in item]
            if "GET" in methods and "HEAD" not in methods:
                methods.append("HEAD")
            regex, _, params = compile_path(base_path.rstrip("/") + template)
            self._routes.append((regex, len(params), methods))

    def for_path(self, path: str) -> list[str]:
        matching = [(n, methods) for regex, n, methods in self._routes if regex.match(path)]
        fewest = min((n for n, _ in matching), default=0)
        allowed: list[str] = []
        for n, methods in matching:
            if n == fewest:
                allowed += [m for m in methods if m not in allowed]
        return allowed
