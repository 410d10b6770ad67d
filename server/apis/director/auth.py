"""Director's optional HTTP basic auth (D14): off unless `director_basic_auth` is "user:pass".

The spec offers the credential as optional (`[{}, {basicAuth: []}]`), and Connexion lets the
empty alternative through without looking at the header; so when auth is on the handlers call
`require` themselves, and answer Director's 401 with `WWW-Authenticate: Basic`.
"""

from __future__ import annotations

import base64
import binascii
import hmac

from apitwin.core.errors import Unauthorized
from apitwin.pipeline.security import security_map as bind_security

MESSAGE = "Please authenticate to access this API."
CHALLENGE = 'Basic realm="Authentication Required"'  # Flask-HTTPAuth's default realm


def _configured(twin) -> tuple[str, str] | None:
    setting = twin.options.director_basic_auth
    if not setting:
        return None
    username, _, password = setting.partition(":")
    return username, password


def _matches(expected: tuple[str, str], username: str, password: str) -> bool:
    # Both compared, in constant time, so the answer's timing tells nothing about either.
    user_ok = hmac.compare_digest(username.encode(), expected[0].encode())
    password_ok = hmac.compare_digest(password.encode(), expected[1].encode())
    return user_ok and password_ok


def _parse(authorization: str | None) -> tuple[str, str] | None:
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("latin-1")
    except (binascii.Error, ValueError):
        return None
    username, colon, password = decoded.partition(":")
    return (username, password) if colon else None


def unauthorized() -> Unauthorized:
    error = Unauthorized(MESSAGE, error="unauthorized", message=MESSAGE)
    error.headers["WWW-Authenticate"] = CHALLENGE
    return error


def require(twin, authorization: str | None) -> str | None:
    """The user a request acts as (None when auth is off); raises Director's 401 otherwise."""
    expected = _configured(twin)
    if expected is None:
        return None
    given = _parse(authorization)
    if given is None or not _matches(expected, *given):
        raise unauthorized()
    return given[0]


def security_map(twin) -> dict:
    """The basic scheme bound to the same check (Connexion reaches it only if no `{}` precedes)."""

    def basic(username: str, password: str) -> dict | None:
        expected = _configured(twin)
        if expected is None or _matches(expected, username, password):
            return {"sub": username}
        return None

    return bind_security(basic=basic)
