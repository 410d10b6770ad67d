"""`apitwin serve --workers N`: each of uvicorn's worker processes builds its own app.

uvicorn starts its workers with the `spawn` method, so a worker shares nothing with the parent but
what it is given: the parent hands over the whole options object as JSON in an environment
variable, and each worker rebuilds the app from it in `app_from_environment` (uvicorn's
`factory=True`). The parent has already opened the store and seeded the world, so a worker
finds it seeded (World.ensure_seeded checks again under the store's lock anyway).
"""

from __future__ import annotations

import dataclasses
import gc
import json
import os

from apitwin.options import TwinOptions

OPTIONS_VARIABLE = "APITWIN_WORKER_OPTIONS"
# What the workers of one process share is the store: with `memory` each would have its own.
DIVERGING = (
    "apitwin serve: --workers {n} with --store memory would give each worker its own world "
    "(their worlds would diverge); use --store file:PATH or --store redis://HOST:PORT/DB"
)


def shared_store(store: str) -> bool:
    return store != "memory"


def hand_over(options: TwinOptions) -> None:
    """Puts the options where spawned workers find them (they inherit the environment)."""
    os.environ[OPTIONS_VARIABLE] = json.dumps(dataclasses.asdict(options))


def app_from_environment():
    """uvicorn's app factory, called once in each worker process."""
    from apitwin.app import create_app

    options = TwinOptions(**json.loads(os.environ[OPTIONS_VARIABLE]))
    app = closing_store(create_app(options))
    freeze_startup()
    return app


def closing_store(app):
    """The app, wrapped so that a clean stop closes the store: SQLite then folds its write-ahead
    log back into the state file, and the file alone holds the world (to copy or back up).

    At the ASGI lifespan's shutdown, not at exit: after a graceful stop on SIGTERM uvicorn
    raises the signal again, and the process dies of it without running atexit handlers.
    """
    store = app.twin.default_world.store

    async def closing(scope, receive, send):
        if scope["type"] != "lifespan":
            return await app(scope, receive, send)

        async def send_then_close(message):
            await send(message)
            if message["type"] == "lifespan.shutdown.complete":
                store.close()

        return await app(scope, receive, send_then_close)

    closing.twin = app.twin
    return closing


def freeze_startup() -> None:
    """What start-up built (specs, Connexion's tables) lives as long as the process: kept out of
    the cyclic collector, whose full passes over it paused every request for ~20 ms now and then
    (p99 under load)."""
    gc.collect()
    gc.freeze()
