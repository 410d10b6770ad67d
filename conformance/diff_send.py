"""Requests as `apitwin diff` sends them: one plain form for replayed and generated requests, the
two sides with their own credentials, and the spec's paths to name each request's operation."""

from __future__ import annotations

import base64
import dataclasses
import json
import re
import shlex
import urllib.parse

import httpx

from apitwin.apis.spec_index import HTTP_METHODS, load_spec, spec_file
from apitwin.pipeline.journal import is_secret

from .auth import TokenSource
from .credentials import Credentials, Redactor
from .diff_compare import Answer
from .diff_ids import IdMap
from .profiles import ApiProfile, AuthKind

# Not sent on: the connection's own headers, and every credential (each side brings its own).
_DROPPED = {
    "host",
    "content-length",
    "connection",
    "transfer-encoding",
    "accept-encoding",
    "cookie",
}


@dataclasses.dataclass
class Request:
    method: str
    path: str  # relative to the API's root, as the spec names it, percent-encoded
    query: list[tuple[str, str]]
    headers: list[tuple[str, str]]
    body: bytes = b""
    operation: str = ""  # operationId
    origin: str = ""  # what made it: "recording #3", "example", "generated", "link X"

    def json(self):
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None

    def line(self) -> str:
        """What known-difference `request` patterns see: METHOD /path?query, then the body."""
        query = urllib.parse.urlencode(self.query)
        head = f"{self.method} {self.path}" + (f"?{query}" if query else "")
        return f"{head}\n{self.body.decode('utf-8', 'replace')}" if self.body else head

    def translated(self, ids: IdMap) -> Request:
        body = self.body
        document = self.json()
        if document is not None:
            body = json.dumps(ids.body(document)).encode()
        return dataclasses.replace(
            self, path=ids.path(self.path), query=ids.query(self.query), body=body
        )


class Side:
    """One deployment: its root URL and the credentials it takes."""

    def __init__(
        self,
        name: str,
        base_url: str,
        profile: ApiProfile,
        credentials: Credentials,
        redactor: Redactor,
        timeout: float,
    ) -> None:
        self.name, self.base_url, self.profile = name, base_url.rstrip("/"), profile
        self.credentials, self.redactor, self.timeout = credentials, redactor, timeout
        self.client = httpx.Client(timeout=timeout)
        self._tokens = None
        self._token = None
        if profile.auth is AuthKind.CLIENT_CREDENTIALS:
            self._tokens = TokenSource(
                self.base_url + profile.token_path,
                credentials.client_id,
                credentials.client_secret,
                redactor,
                timeout,
            )

    def close(self) -> None:
        self.client.close()

    def credential_headers(self, renew: bool = False) -> dict[str, str]:
        profile, credentials = self.profile, self.credentials
        if self._tokens is not None:
            if self._token is None or renew:
                self._token = self._tokens.fetch().value
            return {"Authorization": f"Bearer {self._token}"}
        if profile.auth is AuthKind.HEADER_TOKEN and credentials.token:
            return {profile.token_header: credentials.token}
        if profile.auth is AuthKind.OPTIONAL_BASIC and credentials.basic_auth:
            encoded = base64.b64encode(":".join(credentials.basic_auth).encode()).decode()
            return {"Authorization": f"Basic {encoded}"}
        return {}

    def prepared(self, request: Request) -> httpx.Request:
        """The request as this side gets it: its credentials, its client on the token endpoint."""
        query = request.query
        if self._tokens is not None and request.path.rstrip("/") == self.profile.token_path:
            mine = {"client_id": self.credentials.client_id}
            mine["client_secret"] = self.credentials.client_secret
            query = [(k, mine[k]) if k in mine else (k, v) for k, v in query]
        headers = [
            (k, v) for k, v in request.headers if k.lower() not in _DROPPED and not is_secret(k)
        ]
        url = self.base_url + request.path + ("?" + urllib.parse.urlencode(query) if query else "")
        return self.client.build_request(
            request.method, url, headers=headers, content=request.body or None
        )

    def send(self, request: Request) -> tuple[httpx.Request, Answer]:
        prepared = self.prepared(request)
        needs = not (
            self._tokens is not None and request.path.rstrip("/") == self.profile.token_path
        )
        if needs:
            prepared.headers.update(self.credential_headers())
        response = self.client.send(prepared)
        if response.status_code == 401 and self._tokens is not None and needs:
            prepared.headers.update(self.credential_headers(renew=True))  # expired: once more
            response = self.client.send(prepared)
        answer = Answer(
            response.status_code, response.headers.get("content-type", ""), response.content
        )
        return prepared, answer


def curl(request: httpx.Request, redactor: Redactor) -> str:
    words = ["curl", "-X", request.method, str(request.url)]
    for name, value in request.headers.items():
        if name.lower() in _DROPPED or name.lower() in ("user-agent", "accept"):
            continue
        words += ["-H", f"{name}: {'[REDACTED]' if is_secret(name) else value}"]
    if request.content:
        words += ["-d", request.content.decode("utf-8", "replace")]
    return redactor(shlex.join(words))


class SpecIndex:
    """The spec's operations by method and path template, to name a request's operation."""

    def __init__(self, profile: ApiProfile) -> None:
        spec = load_spec(spec_file(profile.name))
        self.spec = spec
        self.routes: list[tuple[str, re.Pattern, str]] = []
        for template, item in spec.get("paths", {}).items():
            pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
            for method, operation in item.items():
                if method in HTTP_METHODS:
                    compiled = re.compile(f"(.*?){pattern}")
                    self.routes.append((method.upper(), compiled, operation.get("operationId", "")))

    def split(self, method: str, path: str) -> tuple[str, str, str] | None:
        """(root prefix, API path, operationId) of a full URL path, or None if no operation.
        The shortest prefix wins (the longest API path), then the fewest path parameters:
        /meiro/workspaces/trash is /workspaces/trash, not a /trash under /meiro/workspaces."""
        found = []
        for route_method, pattern, operation in self.routes:
            match = pattern.fullmatch(path) if route_method == method else None
            if match:
                prefix = match.group(1)
                rank = (len(prefix), pattern.pattern.count("[^/]+"))
                found.append((rank, prefix, path[len(prefix) :], operation))
        if not found:
            return None
        _, prefix, api_path, operation = min(found)
        return prefix, api_path, operation

    def operation(self, operation_id: str) -> dict:
        for item in self.spec.get("paths", {}).values():
            for method, operation in item.items():
                if method in HTTP_METHODS and operation.get("operationId") == operation_id:
                    return operation
        return {}


def _resolve(spec: dict, node, depth: int = 0):
    while isinstance(node, dict) and "$ref" in node and depth < 20:
        target = spec
        for step in node["$ref"].lstrip("#/").split("/"):
            target = target.get(step, {}) if isinstance(target, dict) else {}
        node, depth = target, depth + 1
    return node if isinstance(node, dict) else {}


def required_paths(spec: dict, schema, path: str = "", depth: int = 0) -> set[str]:
    """Paths (diff_compare's notation) of the fields a response schema requires."""
    schema = _resolve(spec, schema)
    if depth > 12 or not schema:
        return set()
    found: set[str] = set()
    for part in schema.get("allOf") or []:
        found |= required_paths(spec, part, path, depth + 1)
    alternatives = schema.get("oneOf") or schema.get("anyOf")
    if alternatives:  # what every alternative requires
        each = [required_paths(spec, part, path, depth + 1) for part in alternatives]
        found |= set.intersection(*each)
    properties = schema.get("properties") or {}
    for name in schema.get("required") or []:
        found.add(f"{path}.{name}")
    for name, child in properties.items():
        found |= required_paths(spec, child, f"{path}.{name}", depth + 1)
    if "items" in schema:
        found |= required_paths(spec, schema["items"], path + "[]", depth + 1)
    return found


def response_schema(spec: dict, operation: dict, status: int, media_type: str):
    """The schema the spec gives an operation's answer, or None where it gives none."""
    responses = operation.get("responses") or {}
    response = responses.get(str(status)) or responses.get(f"{str(status)[0]}XX")
    response = _resolve(spec, response or responses.get("default"))
    content = response.get("content") or {}
    chosen = content.get(media_type) or next(iter(content.values()), None)
    return (chosen or {}).get("schema")
