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
from starlette.types import Scope

from apitwin.pipeline import http


def _bound(base: type, check: Callable) -> type:
    class Bound(base):
        def _resolve_func(self, security_scheme):
            return check

        # OAuth2 resolves its check through get_tokeninfo_func instead of _resolve_func.
        def get_tokeninfo_func(self, security_definition):
            return check

        # Connexion asks inspect.signature about the check on every request; ask once.
        _accepts_kwarg = staticmethod(functools.cache(base._accepts_kwarg))

        twin_check = staticmethod(check)  # for `shortcut`

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


# --- the good credential, checked directly ------------------------------------------------------

Shortcut = Callable[[Scope, dict], bool]


def shortcut(security: list, schemes: dict, handlers: dict) -> Shortcut | None:
    """Connexion's verification (SecurityHandlerFactory.verify_security) of an operation's first
    security requirement, for the request that passes it: `shortcut(scope, context)` puts into
    the request's context what Connexion puts there and answers True. For anything else (no
    credential, a malformed or refused one, too few scopes, a check that raises) it answers
    False, changing nothing, and Connexion's own verification runs from the start and words the
    refusal: the twin's checks only read, so asking one again gives the same answer.

    Connexion's verification of Ylem's two bearer checks takes ~120 Python calls; this takes a
    few. None when the first requirement is not one this knows how Connexion checks (then
    Connexion's verification runs for every request)."""
    if not security:
        return _open  # security_passthrough: nothing checked, nothing put in the context
    if not security[0]:  # `{}` first: verify_none's empty token info
        return _optional
    plan = []
    for name, scopes in security[0].items():
        step = _step(schemes[name], scopes, handlers)
        if step is None:
            return None
        plan.append((name, *step))
    if sum(kind == "oauth2" for _, kind, *_ in plan) > 1:
        return None  # Connexion skips such a requirement
    single = len(plan) == 1

    def verified(scope: Scope, context: dict) -> bool:
        found = {}
        asked = None  # (check, credential, info): Ylem's two schemes ask one check of one token
        for name, kind, field, check, scopes, validate in plan:
            value = header(scope, field)
            if kind != "apikey":  # get_auth_header_value's "Bearer TOKEN"
                parts = value.split(maxsplit=1) if value else ()
                if len(parts) != 2 or parts[0].lower() != "bearer":
                    return False
                value = parts[1]
            elif value is None:
                return False
            try:
                if asked is not None and asked[0] is check and asked[1] == value:
                    info = dict(asked[2])  # the same answer, a dict of its own as Connexion's
                else:
                    info = check(value)
                    asked = (check, value, info)
                if not isinstance(info, dict):
                    return False  # None: refused (Connexion raises); anything else: Connexion's
                if kind == "oauth2":
                    granted = info.get("scope", info.get("scopes", ""))
                    if validate(scopes, granted) is not True:
                        return False
            except Exception:  # noqa: BLE001 - Connexion's verification meets it again
                return False
            found[name] = info
        token_info = next(iter(found.values())) if single else found
        context.update(
            {"user": token_info.get("sub", token_info.get("uid")), "token_info": token_info}
        )
        return True

    return verified


def _open(scope: Scope, context: dict) -> bool:
    return True


def _optional(scope: Scope, context: dict) -> bool:
    context.update({"user": None, "token_info": {}})
    return True


def _step(scheme: dict, scopes: list, handlers: dict) -> tuple | None:
    """(kind, header, check, scopes, scope check) for one scheme of a requirement, where the
    factory (parse_security_scheme) would pick one of the twin's bound handlers; else None."""
    kind = scheme["type"]
    if kind == "http" and scheme.get("scheme", "").lower() == "bearer":
        handler, base, header = handlers.get("bearer"), cs.BearerSecurityHandler, "authorization"
        kind = "bearer"
    elif kind == "apiKey" and scheme.get("in") == "header":
        if scheme.get("x-authentication-scheme", "").lower() == "bearer":
            return None  # Connexion's own bearer handler, not the twin's
        handler, base, header = handlers.get("apiKey"), cs.ApiKeySecurityHandler, scheme["name"]
        kind = "apikey"
    elif kind == "oauth2":
        handler, base, header = handlers.get("oauth2"), cs.OAuthSecurityHandler, "authorization"
    else:
        return None
    check = getattr(handler, "twin_check", None)
    if check is None or not issubclass(handler, base):
        return None
    if any(handler._accepts_kwarg(check, kw) for kw in ("required_scopes", "request")):
        return None  # Connexion would hand it more than the credential
    validate = handler.get_scope_validate_func(scheme) if kind == "oauth2" else None
    return kind, header.lower().encode("latin-1"), check, scopes, validate


def header(scope: Scope, name: bytes) -> str | None:
    """The first value of a header, as Starlette's Headers.get gives it."""
    value = http.header(scope, name)
    return None if value is None else value.decode("latin-1")
