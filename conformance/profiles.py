"""What the suite must know about each API: its spec, where the twin serves it, how it logs in."""

from __future__ import annotations

import dataclasses
import enum
import pathlib

from apitwin.apis import APIS, SPECS_DIR, spec_index


class AuthKind(enum.StrEnum):
    # OAuth2 client credentials: the suite fetches a Bearer token from `token_path` itself.
    CLIENT_CREDENTIALS = "client-credentials"
    # A static token sent in a header (Meiro's X-Access-Token).
    HEADER_TOKEN = "header-token"
    # HTTP basic auth, optional (Director runs open unless its operator turns auth on).
    OPTIONAL_BASIC = "optional-basic"


@dataclasses.dataclass(frozen=True)
class ApiProfile:
    name: str
    title: str
    spec_path: pathlib.Path
    # Path under the twin's URL where the API is served when the twin serves it alone.
    twin_root: str
    auth: AuthKind
    # CLIENT_CREDENTIALS: the token endpoint, relative to the base URL.
    token_path: str | None = None
    # HEADER_TOKEN: the header that carries the token.
    token_header: str | None = None

    def operation_ids(self) -> list[str]:
        return [operation.operation_id for operation in spec_index.operations(self.name)]

    def unknown_operations(self, wanted) -> list[str]:
        known = set(self.operation_ids())
        return [operation for operation in wanted or () if operation not in known]


def _profile(name: str, auth: AuthKind, **extra) -> ApiProfile:
    api = APIS[name]
    return ApiProfile(
        name=name,
        title=api.title,
        spec_path=SPECS_DIR / api.spec,
        twin_root=api.base_path(alone=True),
        auth=auth,
        **extra,
    )


PROFILES: dict[str, ApiProfile] = {
    "ylem": _profile("ylem", AuthKind.CLIENT_CREDENTIALS, token_path="/oauth/token"),
    "director": _profile("director", AuthKind.OPTIONAL_BASIC),
    "meiro": _profile("meiro", AuthKind.HEADER_TOKEN, token_header="X-Access-Token"),
}
