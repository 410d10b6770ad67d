"""Binds Connexion's security handlers to the twin's own credential checks.

Connexion normally finds check functions by dotted name in the spec (`x-bearerInfoFunc`...), which
would put Python paths into the product's specs. Instead each API hands its checks to
`security_map`, closed over the twin, so they see the same store as the handlers.

Check functions return a dict (the token info) for a good credential and None for a bad one:
    bearer(token) / apikey(key) / oauth2(token) -> dict | None   (oauth2 dicts carry "scope")
    basic(username, password) -> dict | None
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from connexion import security as cs


def _bound(base: type, check: Callable) -> type:
    class Bound(base):
        def _resolve_func(self, security_scheme):
            return check

        # OAuth2 resolves its check through get_tokeninfo_func instead of _resolve_func.
        def get_tokeninfo_func(self, security_definition):
            return check

        # Connexion asks inspect.signature about the check on every request; ask once.
        _accepts_kwarg = staticmethod(functools.cache(base._accepts_kwarg))

    Bound.__name__ = f"Bound{base.__name__}"
    return Bound


def security_map(
    *,
    bearer: Callable | None = None,
    apikey: Callable | None = None,
    oauth2: Callable | None = None,
    basic: Callable | None = None,
) -> dict[str, type]:
    handlers = {}
    if bearer:
        handlers["bearer"] = _bound(cs.BearerSecurityHandler, bearer)
    if apikey:
        handlers["apiKey"] = _bound(cs.ApiKeySecurityHandler, apikey)
    if oauth2:
        handlers["oauth2"] = _bound(cs.OAuthSecurityHandler, oauth2)
    if basic:
        handlers["basic"] = _bound(cs.BasicSecurityHandler, basic)
    return handlers
