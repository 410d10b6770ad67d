"""Bearer tokens checked against the tokens the twin issued (decision Y8).

Every protected operation names `ylem_oauth2` and `ylem_bearer` in one requirement, so Connexion
runs both checks on the same `Authorization: Bearer` header: the bearer check rejects a missing,
unknown or expired token (401), and the OAuth2 check also compares the token's scopes with the
operation's (403).
"""

from __future__ import annotations

from apitwin.apis.ylem.tokens import Tokens
from apitwin.pipeline.security import security_map as bind


def security_map(twin) -> dict:
    def token_info(token: str) -> dict | None:
        # Both checks of every request come here: the tokens alone, not the whole state.
        return Tokens(twin.world()).info(token)

    return bind(bearer=token_info, oauth2=token_info)
