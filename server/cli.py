"""The `apitwin` command: serve the twin, run the conformance suite, write docs."""

from __future__ import annotations

import argparse
import gc
import sys

from . import docs_cli
from .apis import APIS
from .options import DEFAULT_SEED, WORLD_SIZES, TwinOptions


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from .app import create_app

    options = TwinOptions(
        host=args.host,
        port=args.port,
        api=args.api,
        seed=args.seed,
        store=args.store,
        epoch=args.epoch,
        world=args.world,
        validate_responses=args.validate_responses,
        fast_lane=not args.no_fast_lane,
        director_basic_auth=args.director_basic_auth,
        cors=not args.no_cors,
        cors_origins=args.cors_origin,
        docs_assets_dir=args.docs_assets_dir,
    )
    app = create_app(options)
    # What start-up built (specs, the seeded world, Connexion's tables) lives as long as the
    # process: kept out of the cyclic collector, whose full passes over it paused every request
    # for ~20 ms now and then (p99 under load).
    gc.collect()
    gc.freeze()
    base = f"http://{options.host}:{options.port}"
    alone = options.api is not None
    print(
        f"apitwin: seed {options.seed}, {options.world} world, store {options.store}, "
        f"listening on {base}"
    )
    for name in [options.api] if alone else list(APIS):
        print(f"  {APIS[name].title}: {base}{APIS[name].base_path(alone) or '/'}")
    clients = ", ".join(f"{c}:{s}" for c, s in options.ylem_clients.items())
    print(f"  Ylem OAuth2 client_id:client_secret: {clients}")
    print(f"  Meiro X-Access-Token: {', '.join(options.meiro_tokens)}")
    if options.director_basic_auth:
        print(f"  Director basic auth user: {options.director_basic_auth.partition(':')[0]}")
    print(f"  Admin API: {base}/_twin (catalog: {base}/_twin/catalog)")
    names = ", ".join(f"/{name}/docs" for name in [*([options.api] if alone else APIS), "_twin"])
    print(f"  Docs (Swagger UI; Redoc at /<api>/redoc): {base}/ and {names}", flush=True)
    uvicorn.run(
        app,
        host=options.host,
        port=options.port,
        loop="uvloop",
        http="httptools",
        log_level=args.log_level,
    )
    return 0


def _user_pass(value: str) -> str:
    if ":" not in value or value.startswith(":"):
        raise argparse.ArgumentTypeError("expected USER:PASS")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="apitwin", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="start the twin")
    serve.add_argument("--host", default=TwinOptions.host)
    serve.add_argument("--port", type=int, default=TwinOptions.port)
    serve.add_argument("--api", choices=sorted(APIS), help="serve one API at its documented root")
    serve.add_argument("--seed", type=int, default=DEFAULT_SEED, help="chooses the world")
    serve.add_argument("--store", default="memory", help="state backend (default: memory)")
    serve.add_argument("--epoch", help="day the seeded history ends (YYYY-MM-DD; default today)")
    serve.add_argument(
        "--world",
        choices=WORLD_SIZES,
        default=TwinOptions.world,
        help="how much data: empty (for empty states), standard, large (thousands of items)",
    )
    serve.add_argument(
        "--validate-responses",
        action="store_true",
        help="check every response against the spec (slower; on in tests)",
    )
    serve.add_argument(
        "--no-fast-lane",
        action="store_true",
        help="send every request through Connexion's full pipeline (for comparisons)",
    )
    serve.add_argument(
        "--director-basic-auth",
        metavar="USER:PASS",
        type=_user_pass,
        help="require these basic credentials on Director (every operation but the ping)",
    )
    serve.add_argument("--log-level", default="warning")
    docs_cli.add_serve_arguments(serve)
    serve.set_defaults(run=_serve)
    docs_cli.add_commands(commands)

    from conformance import cli as conform_cli  # light: schemathesis loads only when a run starts

    conform = commands.add_parser(
        "conform",
        help="run the conformance suite against a twin (default) or a deployment",
        description=conform_cli.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    conform_cli.add_arguments(conform)
    conform.set_defaults(run=conform_cli.run_from_args)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    sys.exit(main())
