"""The `apitwin` command: serve the twin, run the conformance suite, compare and proxy
deployments, write docs."""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import socket
import sys

from apitwin import __version__
from apitwin.apis import APIS
from apitwin.conformance import cli as conform_cli  # light: schemathesis loads at a run
from apitwin.conformance import diff_cli, proxy_cli
from apitwin.conformance.options import port_number
from apitwin.core.store import STORE_PREFIXES, StoreError
from apitwin.docs import cli as docs_cli
from apitwin.options import ADMIN_TOKEN_ENV, DEFAULT_SEED, WORLD_SIZES, TwinOptions, cache_dir
from apitwin.pipeline.admin_guard import LOOPBACK, host_name
from apitwin.serve.workers import (
    DIVERGING,
    closing_store,
    freeze_startup,
    hand_over,
    shared_store,
)


def _serve(args: argparse.Namespace) -> int:
    options = TwinOptions(
        host=args.host,
        port=args.port,
        api=args.api,
        seed=args.seed,
        store=args.store,
        epoch=args.epoch,
        world=args.world,
        session_idle=args.session_idle,
        max_sessions=args.max_sessions,
        max_body_bytes=args.max_body_bytes,
        max_connections=args.max_connections,
        header_timeout=args.header_timeout,
        journal_max_bytes=args.journal_max_bytes,
        validate_responses=args.validate_responses,
        director_basic_auth=args.director_basic_auth,
        admin_token=args.admin_token or os.environ.get(ADMIN_TOKEN_ENV) or None,
        cors=not args.no_cors,
        cors_origins=args.cors_origin,
    )
    if args.workers < 1:
        print("apitwin serve: --workers must be 1 or more", file=sys.stderr)
        return 2
    if args.workers > 1 and not shared_store(options.store):
        print(DIVERGING.format(n=args.workers), file=sys.stderr)
        return 2
    import uvicorn

    from apitwin.app import create_app
    from apitwin.serve.uvicorn_adapter import log_config, protocol

    try:
        if args.workers == 1:
            app = closing_store(create_app(options))
            freeze_startup()
        else:
            _seed_once(options)
    except StoreError as exc:  # a damaged state file, an unreachable Redis: one clear line
        print(f"apitwin serve: {exc}", file=sys.stderr)
        return 1
    finally:
        gc.enable()  # off while starting (__main__.py)
    try:
        # Bound before the banner: a busy port is said plainly, and --port 0 shows the real one.
        family = socket.AF_INET6 if ":" in options.host else socket.AF_INET
        sock = socket.create_server((options.host, options.port), family=family)
    except OSError as exc:
        print(
            f"apitwin serve: cannot listen on {options.host}:{options.port}: {exc}", file=sys.stderr
        )
        return 1
    options.port = sock.getsockname()[1]
    warning = exposure_warning(options)
    if warning:
        print(warning, file=sys.stderr)
    print(banner(options, args.workers), flush=True)
    # uvloop + httptools: with asyncio's loop, uvicorn's workers lose TCP_NODELAY (a 40 ms
    # stall per keep-alive request). The protocol is uvicorn's httptools one with a deadline on
    # each request's head (serve/uvicorn_adapter.py).
    server = dict(
        host=options.host, port=options.port, loop="uvloop",
        http=protocol(options.header_timeout), log_level=args.log_level, log_config=log_config(),
        limit_concurrency=options.max_connections,
    )  # fmt: skip
    if args.workers == 1:
        uvicorn.Server(uvicorn.Config(app, **server)).run(sockets=[sock])
    else:
        # uvicorn's supervisor binds for its workers itself (its socket hand-over is not a
        # stable interface): the port found free above is handed to it.
        sock.close()
        hand_over(options)
        uvicorn.run(
            "apitwin.serve.workers:app_from_environment",
            factory=True,
            workers=args.workers,
            **server,
        )
    return 0


def exposure_warning(options: TwinOptions) -> str | None:
    """What to say when the admin API is open to other machines."""
    if options.admin_token is not None or host_name(options.host) in LOOPBACK:
        return None
    return (
        f"apitwin serve: warning: {options.host} is reachable from other machines and the admin "
        f"API (/_twin: reset, state import) has no token; set --admin-token or ${ADMIN_TOKEN_ENV}"
    )


def banner(options: TwinOptions, workers: int = 1) -> str:
    """What `serve` prints on start: the APIs it serves and only their credentials."""
    base = f"http://{options.host}:{options.port}"
    alone = options.api is not None
    served = [options.api] if alone else list(APIS)
    several = f", {workers} workers" if workers > 1 else ""
    lines = [
        f"apitwin: seed {options.seed}, {options.world} world, store {options.store}{several}, "
        f"listening on {base}"
    ]
    lines += [
        f"  {APIS[name].title}: {base}{APIS[name].base_path(alone) or '/'}" for name in served
    ]
    if "ylem" in served:
        clients = ", ".join(f"{c}:{s}" for c, s in options.ylem_clients.items())
        lines.append(f"  Ylem OAuth2 client_id:client_secret: {clients}")
    if "meiro" in served:
        lines.append(f"  Meiro X-Access-Token: {', '.join(options.meiro_tokens)}")
    if "director" in served and options.director_basic_auth:
        user = options.director_basic_auth.partition(":")[0]
        lines.append(f"  Director basic auth user: {user}")
    lines.append(f"  Admin API: {base}/_twin (catalog: {base}/_twin/catalog)")
    names = ", ".join(f"/{name}/docs" for name in [*served, "_twin"])
    lines.append(f"  Docs (Swagger UI; Redoc at /<api>/redoc): {base}/ and {names}")
    return "\n".join(lines)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps descriptions as written and ends each option's help with its default, unless the
    help already says it in words or there is none to show (a flag, an unset option)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if "default" in text:
            return text
        if isinstance(action, argparse._StoreTrueAction):
            return f"{text} (default: off)"
        if action.default in (None, False, [], argparse.SUPPRESS):
            return text
        if action.option_strings and action.nargs != 0:
            return f"{text} (default: %(default)s)"
        return text


STORE_HELP = (
    "where the world lives: memory (in the process; starts fresh each time), file:PATH (one "
    "SQLite file that outlives restarts), redis://HOST:PORT/DB (shared by workers and replicas)"
)


def _seed_once(options: TwinOptions) -> None:
    """The parent seeds the shared world before any worker starts (and so reports a damaged
    store once, before forking); the workers then find it seeded."""
    from apitwin.core.store import open_store
    from apitwin.core.world import World

    store = open_store(options.store)
    try:
        World(store, options).ensure_seeded()
    finally:
        store.close()


def _positive(kind):
    def parse(value: str):
        try:
            number = kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {value!r}") from None
        if not number > 0:
            raise argparse.ArgumentTypeError(f"must be above 0, got {value!r}")
        return number

    return parse


def _date(value: str) -> str:
    try:
        dt.date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {value!r}") from None
    return value


def _store(value: str) -> str:
    if value == "memory" or value.startswith(STORE_PREFIXES):
        return value
    raise argparse.ArgumentTypeError(f"{value!r}: use memory, file:PATH or redis://HOST:PORT/DB")


def _user_pass(value: str) -> str:
    if ":" not in value or value.startswith(":"):
        raise argparse.ArgumentTypeError("expected USER:PASS")
    return value


class _Parser(argparse.ArgumentParser):
    """Usage errors in one line (exit 2); its subcommands' parsers are of this class too."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="apitwin", description=__doc__)
    parser.add_argument("--version", action="version", version=f"apitwin {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser(
        "serve",
        help="start the twin",
        description="Start the twin: Ylem, Celery Director and Meiro (each under its prefix,\n"
        "or one alone with --api) and the admin API under /_twin, on one port.",
        formatter_class=HelpFormatter,
    )
    serve.add_argument("--host", default=TwinOptions.host, help="address to listen on")
    serve.add_argument(
        "--port",
        type=port_number,
        default=TwinOptions.port,
        help="port to listen on (0: a free one, shown in the banner)",
    )
    serve.add_argument(
        "--api",
        choices=sorted(APIS),
        help="serve only this API, at its documented root (default: all three, each under "
        "its prefix /ylem/v1, /director, /meiro)",
    )
    serve.add_argument(
        "--seed", type=int, default=DEFAULT_SEED, help="chooses the world: same seed, same world"
    )
    serve.add_argument(
        "--store", type=_store, default=TwinOptions.store, metavar="STORE", help=STORE_HELP
    )
    serve.add_argument(
        "--epoch",
        type=_date,
        metavar="YYYY-MM-DD",
        help="day the seeded history ends (default: today, UTC)",
    )
    serve.add_argument(
        "--world",
        choices=WORLD_SIZES,
        default=TwinOptions.world,
        help="how much data: empty (for empty states), standard, large (thousands of items)",
    )
    serve.add_argument(
        "--session-idle",
        type=_positive(float),
        default=TwinOptions.session_idle,
        metavar="SECONDS",
        help="drop an X-Twin-Session world after this long without a request",
    )
    serve.add_argument(
        "--max-sessions",
        type=_positive(int),
        default=TwinOptions.max_sessions,
        metavar="N",
        help="live X-Twin-Session worlds at most; a new one beyond is a 429",
    )
    serve.add_argument(
        "--max-body-bytes",
        type=_positive(int),
        default=TwinOptions.max_body_bytes,
        metavar="N",
        help="largest request body; a larger one is a 413 in the API's own error shape",
    )
    serve.add_argument(
        "--max-connections",
        type=_positive(int),
        default=TwinOptions.max_connections,
        metavar="N",
        help="open connections and requests in flight at most; beyond, uvicorn answers 503",
    )
    serve.add_argument(
        "--header-timeout",
        type=_positive(float),
        default=TwinOptions.header_timeout,
        metavar="SECONDS",
        help="time a connection has to send a request's head (line and headers), from its "
        "opening or the next request's first byte; then it is closed (a 408 if it began one). "
        "Real clients take milliseconds; stalled sockets cannot pile up to the file limit",
    )
    serve.add_argument(
        "--journal-max-bytes",
        type=_positive(int),
        default=TwinOptions.journal_max_bytes,
        metavar="N",
        help="bytes the request journal of a world holds at most (its newest entries, as "
        f"stored), beside its {TwinOptions.journal_size} entries; each session's world has its own",
    )
    serve.add_argument(
        "--validate-responses",
        action="store_true",
        help="check every response against the spec too (slower; on in the tests)",
    )
    serve.add_argument(
        "--admin-token",
        metavar="TOKEN",
        help=f"require this token on every /_twin call (X-Twin-Admin-Token or Bearer); "
        f"default: ${ADMIN_TOKEN_ENV}, else none (the admin API then answers loopback names only)",
    )
    serve.add_argument(
        "--director-basic-auth",
        metavar="USER:PASS",
        type=_user_pass,
        help="require these basic credentials on Director, every operation but the ping "
        "(default: Director open, as documented)",
    )
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="worker processes sharing one world (above 1 needs --store file:PATH or redis://)",
    )
    serve.add_argument(
        "--log-level",
        default="warning",
        choices=("critical", "error", "warning", "info", "debug", "trace"),
        help="uvicorn's log level (info logs every request)",
    )
    docs_cli.add_serve_arguments(serve)
    serve.set_defaults(run=_serve)
    docs_cli.add_commands(commands, HelpFormatter)

    conform = commands.add_parser(
        "conform",
        help="run the conformance suite against a twin (default) or a deployment",
        description=conform_cli.__doc__,
        formatter_class=HelpFormatter,
    )
    conform_cli.add_arguments(conform)
    conform.set_defaults(run=conform_cli.run_from_args)
    diff = commands.add_parser(
        "diff",
        help="compare a deployment's answers with a twin's: a HAR replay or live requests",
        description=diff_cli.__doc__,
        formatter_class=HelpFormatter,
    )
    diff_cli.add_arguments(diff)
    diff.set_defaults(run=diff_cli.run_from_args)
    proxy = commands.add_parser(
        "proxy",
        help="a reverse proxy that checks the requests clients send and the answers a deployment "
        "gives against the spec, and records them",
        description=proxy_cli.__doc__,
        formatter_class=HelpFormatter,
    )
    proxy_cli.add_arguments(proxy)
    proxy.set_defaults(run=proxy_cli.run_from_args)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.run is not _serve:
        gc.enable()  # off while starting (__main__.py); `serve` turns it on once built
    # hypothesis writes its caches to ./.hypothesis unless told; read when first needed.
    os.environ.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(cache_dir() / "hypothesis"))
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
