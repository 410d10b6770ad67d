"""Every default of the twin lives here, in one options object (as Connexion does)."""

from __future__ import annotations

import dataclasses
import os
import pathlib

DEFAULT_SEED = 1337
# The environment variable that sets --admin-token (so it need not show in a process list).
ADMIN_TOKEN_ENV = "APITWIN_ADMIN_TOKEN"
# How much data a seed grows into (fixtures/__init__.py says what each holds).
WORLD_SIZES = ("empty", "standard", "large")


@dataclasses.dataclass
class TwinOptions:
    host: str = "127.0.0.1"
    port: int = 8000
    # None serves every API under its prefix (/ylem/v1, /director, /meiro);
    # a name serves that API alone at its documented root.
    api: str | None = None
    seed: int = DEFAULT_SEED
    store: str = "memory"
    # Day the seeded history ends on (ISO date). None: today (UTC), so the world looks recent.
    epoch: str | None = None
    # How much data the seed grows into: one of WORLD_SIZES.
    world: str = "standard"
    validate_responses: bool = False
    # Ylem OAuth2 clients: client_id -> client_secret.
    ylem_clients: dict[str, str] = dataclasses.field(
        default_factory=lambda: {"twin-client": "twin-secret"}
    )
    # Meiro X-Access-Token values the twin accepts.
    meiro_tokens: list[str] = dataclasses.field(default_factory=lambda: ["twin-token"])
    # Optional Director basic auth ("user:pass"); None leaves Director open, as documented.
    director_basic_auth: str | None = None
    # The request journal of each world keeps the newest entries: this many, and at most this
    # many bytes of them (JSON as stored). An entry is ~1 KB; cut values make the largest ~125 KB.
    journal_size: int = 500
    journal_max_bytes: int = 8 * 1024 * 1024
    # Bounds: a request body (413 beyond), open connections (uvicorn answers 503 beyond).
    max_body_bytes: int = 10 * 1024 * 1024
    max_connections: int = 1000
    # Seconds a connection may take to send a request's head (request line and headers), from
    # its opening or the next request's first byte: real clients take milliseconds.
    header_timeout: float = 10.0
    # X-Twin-Session worlds: dropped after this many seconds without a request; at most this many.
    # When set, every /_twin call must carry it (pipeline/admin_guard.py).
    admin_token: str | None = None
    session_idle: float = 1800.0
    max_sessions: int = 100
    # CORS, on for every API: these origins get credentials (cookies, Authorization) allowed;
    # any other origin gets `*` without credentials.
    cors: bool = True
    cors_origins: list[str] = dataclasses.field(default_factory=list)
    # Where `apitwin assets` put the Redoc bundle; None: the project's .cache/docs-assets.


def cache_dir() -> pathlib.Path:
    """Where apitwin's runs keep caches (hypothesis' data, for `conform` and generated answers):
    $APITWIN_CACHE_DIR, else the user's cache directory; never the working directory or the
    installed package."""
    chosen = os.environ.get("APITWIN_CACHE_DIR")
    if chosen:
        return pathlib.Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache"
    return pathlib.Path(base) / "apitwin"


def admin_headers(token: str | None = None) -> dict[str, str]:
    """What a call to a twin's admin API carries: its admin token (given, else from
    $APITWIN_ADMIN_TOKEN), or nothing when there is none."""
    token = token or os.environ.get(ADMIN_TOKEN_ENV)
    return {"X-Twin-Admin-Token": token} if token else {}
