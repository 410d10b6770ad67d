"""`apitwin docs` and `apitwin assets`, and the serve flags for CORS and the docs (wired in by
server/cli.py)."""

from __future__ import annotations

import argparse
import sys

from . import docs_assets


def add_serve_arguments(serve: argparse.ArgumentParser) -> None:
    serve.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="an origin (scheme://host[:port]) allowed to send credentials; repeatable "
        "(every other origin gets Access-Control-Allow-Origin: *)",
    )
    serve.add_argument("--no-cors", action="store_true", help="send no CORS headers at all")
    serve.add_argument(
        "--docs-assets-dir", help="where `apitwin assets` put Redoc (default: .cache/docs-assets)"
    )


def _docs(args: argparse.Namespace) -> int:
    from .docs import write_static
    from .options import TwinOptions

    options = TwinOptions(docs_assets_dir=args.assets_dir)
    try:
        docs_assets.fetch_redoc(options.docs_assets_dir)
        written = write_static(args.out, options)
    except docs_assets.AssetMissing as exc:
        print(f"apitwin docs: {exc}", file=sys.stderr)
        return 1
    print(f"apitwin docs: wrote {len(written)} files; open {written[-1]}")
    return 0


def _assets(args: argparse.Namespace) -> int:
    try:
        bundle = docs_assets.fetch_redoc(args.assets_dir)
    except docs_assets.AssetMissing as exc:
        print(f"apitwin assets: {exc}", file=sys.stderr)
        return 1
    print(f"apitwin assets: Redoc {docs_assets.REDOC_VERSION} at {bundle}")
    print(f"apitwin assets: Swagger UI {docs_assets.swagger_ui_version()} (Python package)")
    return 0


def add_commands(commands) -> None:
    docs = commands.add_parser(
        "docs",
        help="write static HTML docs (Swagger UI and Redoc) of every spec, to open from disk",
    )
    docs.add_argument("--out", required=True, help="directory to write into")
    docs.add_argument("--assets-dir", help="the asset cache (default: .cache/docs-assets)")
    docs.set_defaults(run=_docs)

    assets = commands.add_parser(
        "assets",
        help="fetch the pinned Redoc bundle from the npm registry into the asset cache (once)",
    )
    assets.add_argument("--assets-dir", help="the asset cache (default: .cache/docs-assets)")
    assets.set_defaults(run=_assets)
