"""Credentials from flags or environment variables, and the redactor that keeps them out of output.

Every secret the suite handles (the ones it is given and every token it obtains) is registered with
one `Redactor`; every string the suite prints or writes goes through it.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import threading
from urllib.parse import quote, quote_plus

# Flag name -> environment variable, so CI can keep secrets out of command lines.
ENVIRONMENT = {
    "client_id": "APITWIN_CLIENT_ID",
    "client_secret": "APITWIN_CLIENT_SECRET",
    "token": "APITWIN_TOKEN",
    "basic_auth": "APITWIN_BASIC_AUTH",
}

REDACTED = "[REDACTED]"


class CredentialError(ValueError):
    """Credentials are missing or malformed: a usage error."""


@dataclasses.dataclass(frozen=True, repr=False)
class Credentials:
    client_id: str | None = None
    client_secret: str | None = None
    token: str | None = None
    basic_auth: tuple[str, str] | None = None

    def __repr__(self) -> str:  # never print a secret by accident
        given = [field.name for field in dataclasses.fields(self) if getattr(self, field.name)]
        return f"Credentials({', '.join(given) or 'none'})"

    def secrets(self) -> list[str]:
        values = [self.client_id, self.client_secret, self.token]
        if self.basic_auth:
            user, password = self.basic_auth
            values += [password, base64.b64encode(f"{user}:{password}".encode()).decode()]
        return [value for value in values if value]


def _parse_basic(value: str) -> tuple[str, str]:
    user, sep, password = value.partition(":")
    if not sep or not user:
        raise CredentialError("--basic-auth takes USER:PASS")
    return user, password


def resolve(
    *,
    client_id: str | None = None,
    client_secret: str | None = None,
    token: str | None = None,
    basic_auth: str | None = None,
    environ: dict[str, str] | None = None,
) -> Credentials:
    """Flags win over environment variables; an empty value counts as absent."""
    environ = os.environ if environ is None else environ
    given = {
        "client_id": client_id,
        "client_secret": client_secret,
        "token": token,
        "basic_auth": basic_auth,
    }
    values = {
        name: value or environ.get(ENVIRONMENT[name]) or None for name, value in given.items()
    }
    basic = values.pop("basic_auth")
    return Credentials(**values, basic_auth=_parse_basic(basic) if basic else None)


class Redactor:
    """Masks every registered secret in a text; thread-safe, as workers add tokens mid-run."""

    def __init__(self, secrets: list[str] | None = None) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()
        for secret in secrets or []:
            self.add(secret)

    def add(self, secret: str | None) -> None:
        # Very short values would blank out ordinary text; no real credential is that short.
        if secret and len(secret) >= 4:
            with self._lock:
                # Also as it appears in a URL or a form body.
                self._secrets.update({secret, quote(secret, safe=""), quote_plus(secret)})

    def __call__(self, text: str | None) -> str | None:
        if not text:
            return text
        with self._lock:
            secrets = sorted(self._secrets, key=len, reverse=True)
        for secret in secrets:
            text = text.replace(secret, REDACTED)
        return text
