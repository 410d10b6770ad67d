"""Per-API credentials as schemathesis auth providers.

Credentials go through `schema.auth()` providers, never static headers: schemathesis then knows
which header carries them and can strip it for its `ignored_auth` check (static headers made that
check fail falsely; see the toolchain notes). Ylem's provider fetches its own Bearer token and
gets a new one before it expires, or as soon as the API answers 401.
"""

from __future__ import annotations

import base64
import dataclasses

import httpx

from .credentials import CredentialError, Credentials, Redactor
from .profiles import ApiProfile, AuthKind


class TargetError(RuntimeError):
    """The target or its credentials cannot be used: a usage error, said plainly."""


@dataclasses.dataclass
class Token:
    value: str
    expires_in: int


class TokenSource:
    """Fetches OAuth2 client-credentials tokens from the API's token endpoint."""

    def __init__(
        self,
        url: str,
        client_id: str,
        client_secret: str,
        redactor: Redactor,
        timeout: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url
        self._params = {
            "client_id": client_id,
            "client_secret": client_secret,
            "grant_type": "client_credentials",
        }
        self.redactor = redactor
        self.timeout = timeout
        self.transport = transport
        self.fetched = 0

    def fetch(self) -> Token:
        try:
            # The documented form: credentials in the query string of a POST with an empty body.
            with httpx.Client(timeout=self.timeout, transport=self.transport) as client:
                response = client.post(self.url, params=self._params)
        except httpx.HTTPError as exc:
            raise TargetError(f"cannot reach the token endpoint {self.url}: {exc}") from None
        if response.status_code in (400, 401, 403):
            raise TargetError(
                f"the token endpoint {self.url} rejected the client credentials "
                f"({response.status_code}: {self.redactor(response.text[:200])})"
            )
        try:
            body = response.json()
            token = Token(str(body["access_token"]), int(body.get("expires_in") or 3600))
        except (ValueError, KeyError, TypeError):
            raise TargetError(
                f"the token endpoint {self.url} answered {response.status_code} without a token"
            ) from None
        self.redactor.add(token.value)
        self.redactor.add(str(body.get("refresh_token") or ""))
        self.fetched += 1
        return token


def refresh_interval(expires_in: int) -> int:
    """Seconds to keep a token: well before it expires, never less than one second."""
    return max(1, int(expires_in * 0.8))


def needs_credentials(operation) -> bool:
    """False only for operations whose spec says `security: []` (the token endpoint, a ping)."""
    raw = operation.definition.raw
    security = raw.get("security", operation.schema.raw_schema.get("security"))
    return security != []


def _provider(header: str, value_for):
    class CredentialProvider:
        def get(self, case, context):
            return value_for()

        def set(self, case, data, context):
            case.headers = case.headers or {}
            case.headers[header] = data

    return CredentialProvider


def _register(schema, provider, **caching) -> None:
    # Public operations are filtered out here, not by returning None from `get`: schemathesis'
    # caching wrapper would keep that None for every operation after the first public one.
    schema.auth(**caching).skip_for(lambda ctx: not needs_credentials(ctx.operation))(provider)


def _use_real_client_on_token_endpoint(schema, token_path: str, credentials: Credentials) -> None:
    """Valid requests to the token endpoint carry the real client, so it answers 200 and the
    token response gets checked too; generated ids and secrets could only ever be refused.
    Negative cases keep their generated (wrong) values."""

    def map_case(context, case):
        meta = case.meta
        if (
            case.operation.path == token_path
            and isinstance(case.query, dict)
            and meta is not None
            and meta.generation.mode.is_positive
        ):
            case.query["client_id"] = credentials.client_id
            case.query["client_secret"] = credentials.client_secret
        return case

    schema.hook(map_case)


def check_credentials(profile: ApiProfile, credentials: Credentials) -> None:
    if profile.auth is AuthKind.CLIENT_CREDENTIALS and not (
        credentials.client_id and credentials.client_secret
    ):
        raise CredentialError(f"{profile.name} needs --client-id and --client-secret")
    if profile.auth is AuthKind.HEADER_TOKEN and not credentials.token:
        raise CredentialError(f"{profile.name} needs --token (its {profile.token_header} header)")


def install(
    schema,
    profile: ApiProfile,
    credentials: Credentials,
    base_url: str,
    redactor: Redactor,
    timeout: float = 10.0,
) -> TokenSource | None:
    """Registers the API's auth provider on `schema`; returns the token source, if any."""
    if profile.auth is AuthKind.CLIENT_CREDENTIALS:
        source = TokenSource(
            base_url.rstrip("/") + profile.token_path,
            credentials.client_id,
            credentials.client_secret,
            redactor,
            timeout,
        )
        # One fetch up front: bad credentials stop the run before it starts, and the answer's
        # `expires_in` sets how long schemathesis may keep a token.
        first = source.fetch()
        _use_real_client_on_token_endpoint(schema, profile.token_path, credentials)
        _register(
            schema,
            _provider("Authorization", lambda: f"Bearer {source.fetch().value}"),
            refresh_interval=refresh_interval(first.expires_in),
            retry_on=[401],
        )
        return source
    if profile.auth is AuthKind.HEADER_TOKEN:
        token = credentials.token
        _register(schema, _provider(profile.token_header, lambda: token), refresh_interval=None)
    elif profile.auth is AuthKind.OPTIONAL_BASIC and credentials.basic_auth:
        user, password = credentials.basic_auth
        encoded = base64.b64encode(f"{user}:{password}".encode()).decode()
        _register(
            schema, _provider("Authorization", lambda: f"Basic {encoded}"), refresh_interval=None
        )
    return None


def probe_headers(profile: ApiProfile, credentials: Credentials) -> dict[str, str]:
    """The static credential header, for the pre-run check that the API accepts it."""
    if profile.auth is AuthKind.HEADER_TOKEN and credentials.token:
        return {profile.token_header: credentials.token}
    if profile.auth is AuthKind.OPTIONAL_BASIC and credentials.basic_auth:
        user, password = credentials.basic_auth
        return {
            "Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
        }
    return {}
