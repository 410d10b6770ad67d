"""OAuth2 client credentials: issuing access tokens and checking them (decisions Y3-Y8).

Clients come from the twin's options (`ylem_clients`: client id -> secret). Issued tokens live in
the world's store with their virtual-clock issue time, so every worker process sharing the store
knows them, and advancing the clock past `expires_in` expires them.
"""

from __future__ import annotations

import base64
import dataclasses
import hmac

from apitwin.core.draws import uuid_for
from apitwin.core.errors import BadRequest, Unauthorized

TOKENS = "ylem.tokens"
LIFETIME = 86_400  # seconds, as documented
GRANT = "client_credentials"
# The scopes every client may have (the open-source server's names, decision Y6).
SCOPES = ("pipelines:run", "stats:read")

# RFC 6749 section 5.2 descriptions, worded as the real server (go-oauth2) words them.
DESCRIPTIONS = {
    "invalid_request": (
        "The request is missing a required parameter, includes an invalid parameter value, "
        "includes a parameter more than once, or is otherwise malformed"
    ),
    "invalid_client": "Client authentication failed",
    "unsupported_grant_type": (
        "The authorization grant type is not supported by the authorization server"
    ),
    "invalid_scope": "The requested scope is invalid, unknown, or malformed",
}


def oauth_error(error_class: type, code: str) -> Exception:
    description = DESCRIPTIONS[code]
    return error_class(description, error=code, error_description=description)


@dataclasses.dataclass(frozen=True)
class IssuedToken:
    access_token: str
    refresh_token: str
    expires_in: int
    scopes: tuple[str, ...]


class Tokens:
    def __init__(self, world) -> None:
        self.world = world
        self.store = world.store

    def _opaque(self, kind: str, number: int) -> str:
        # The real server's shape: base64 of a UUID's text, upper case, without padding.
        text = uuid_for(self.world.seed, kind, number).encode()
        return base64.urlsafe_b64encode(text).decode().upper().rstrip("=")

    def _granted(self, scope: str | None) -> tuple[str, ...]:
        wanted = [name.strip() for name in (scope or "").split(",") if name.strip()]
        if not wanted:
            return SCOPES
        if any(name not in SCOPES for name in wanted):
            raise oauth_error(BadRequest, "invalid_scope")
        return tuple(name for name in SCOPES if name in wanted)

    def issue(self, client_id: str, client_secret: str, grant_type: str, scope: str | None):
        # The real server's order: grant type, then the client, then the scope.
        if grant_type != GRANT:
            raise oauth_error(Unauthorized, "unsupported_grant_type")
        secret = self.world.options.ylem_clients.get(client_id)
        if secret is None or not hmac.compare_digest(secret.encode(), client_secret.encode()):
            raise oauth_error(Unauthorized, "invalid_client")
        scopes = self._granted(scope)
        number = self.store.next_id(TOKENS)
        token = IssuedToken(
            access_token=self._opaque("ylem.access_token", number),
            refresh_token=self._opaque("ylem.refresh_token", number),
            expires_in=LIFETIME,
            scopes=scopes,
        )
        record = {
            "client_id": client_id,
            "scopes": list(scopes),
            "issued_at": self.world.clock.now(),
            "expires_in": LIFETIME,
        }
        self.store.put(TOKENS, token.access_token, record)
        return token

    def info(self, access_token: str) -> dict | None:
        """Connexion's token info for a live token (`scope` a list), None for any other."""
        record = self.store.get(TOKENS, access_token)
        if record is None:
            return None
        if self.world.clock.now() >= record["issued_at"] + record["expires_in"]:
            return None
        return {"sub": record["client_id"], "scope": record["scopes"]}
