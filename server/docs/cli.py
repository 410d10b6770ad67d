"""`apitwin docs`, and the serve flags for CORS and the docs (wired in by
server/cli.py)."""

from __future__ import annotations

import argparse
import sys

from apitwin.docs import assets as docs_assets


def add_serve_arguments(serve: argparse.ArgumentParser) -> None:
    serve.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="an origin (scheme://host[:port]) allowed to send credentials; repeatable "
        "(default: none; every other origin gets Access-Control-Allow-Origin: *)",
    )
    serve.add_argument(
        "--no-cors",
        action="store_true",
        help="send no CORS headers at all (default: CORS on for every API)",
    )


def _docs(args: argparse.Namespace) -> int:
    from apitwin.docs.site import write_static
    from apitwin.options import TwinOptions

    try:
        written = write_static(args.out, TwinOptions())
    except docs_assets.AssetMissing as exc:
        print(f"apitwin docs: {exc}", file=sys.stderr)
        return 1
    print(f"apitwin docs: wrote {len(written)} files; open {written[-1]}")
    return 0


def add_commands(commands, formatter_class=argparse.HelpFormatter) -> None:
    docs = commands.add_parser(
        "docs",
        help="write static HTML docs (Swagger UI and Redoc) of every spec, to open from disk",
        description="Write static HTML docs (Swagger UI and Redoc, the specs inline) of every "
        "spec into a directory, to open from disk: DIR/index.html.",
        formatter_class=formatter_class,
    )
    docs.add_argument(
        "--out", required=True, metavar="DIR", help="directory to write into (required)"
    )
    docs.set_defaults(run=_docs)
