"""The registry of served APIs: where each one's spec, code and URLs are."""

from __future__ import annotations

import dataclasses
import importlib
import pathlib
from importlib import resources

# The specs ship as package data; pip installs packages unzipped, so this is a real folder (which
# Connexion and schemathesis need: they open spec files by path).
SPECS_DIR = pathlib.Path(str(resources.files("apitwin.specs")))


@dataclasses.dataclass(frozen=True)
class ApiDef:
    name: str
    title: str
    spec: str  # file in specs/
    prefix: str  # mount point when every API is served on one port
    root: str  # the documented root, used when this API is served alone
    package: str  # server.<name>: handlers, errors, auth

    def base_path(self, alone: bool) -> str:
        return self.root if alone else self.prefix

    def module(self):
        return importlib.import_module(self.package)


APIS: dict[str, ApiDef] = {
    api.name: api
    for api in (
        ApiDef(
            "ylem", "Ylem / Datamin API v1", "ylem.yaml", "/ylem/v1", "/v1", "apitwin.apis.ylem"
        ),
        ApiDef(
            "director",
            "Celery Director API",
            "director.yaml",
            "/director",
            "",
            "apitwin.apis.director",
        ),
        ApiDef(
            "meiro",
            "Meiro Integrations workspaces API",
            "meiro.yaml",
            "/meiro",
            "",
            "apitwin.apis.meiro",
        ),
    )
}

ADMIN_SPEC = "admin.yaml"


def selected(name: str | None) -> list[ApiDef]:
    if name is None:
        return list(APIS.values())
    if name not in APIS:
        raise KeyError(f"unknown API {name!r}; choose from {', '.join(APIS)}")
    return [APIS[name]]
