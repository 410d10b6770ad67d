"""`apitwin proxy`: a reverse proxy in front of a deployment that checks every request and
answer against the spec while clients (a frontend, a test suite, a person with curl) use it, and
records the traffic.

Each request is forwarded unchanged to --upstream and its answer returned unchanged; each request
is checked with the twin's own request validation (parameters, media type, body; not the
credentials, which are the upstream's), each answer with `apitwin conform`'s checks of one answer
(documented status, content type, headers, body schema); each violation is printed in one line as
it happens.
Exit status, at the stop (SIGTERM or Ctrl-C): 0 every violation a known one, 1 a violation or a
request the upstream did not answer, 2 a usage error.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import signal
import socket
import sys
import urllib.parse

from . import known
from .options import API_NAMES, port_number
from .profiles import PROFILES

USAGE = 2
DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8080


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--api", choices=API_NAMES, help="the API the upstream serves (required)")
    add(
        "--upstream",
        metavar="URL",
        help="the deployment's documented root, as `conform --base-url` takes it (required)",
    )
    add("--host", default=DEFAULT_HOST, help="address to listen on")
    add("--port", type=port_number, default=DEFAULT_PORT, help="port to listen on (0: a free one)")
    add(
        "--record",
        metavar="FILE",
        help="write every exchange to this HAR 1.2 file, credentials redacted (default: none)",
    )
    add("--report", metavar="FILE", help="keep a JSON report here (default: none)")
    add("--junit", metavar="FILE", help="write a JUnit XML report at the stop (default: none)")
    add(
        "--known",
        metavar="FILE",
        help="known deviations (default: the package's conformance/known_deviations.yaml)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="apitwin proxy", description=__doc__.split("\n")[0])
    add_arguments(parser)
    return parser


def _error(message: str) -> int:
    print(f"apitwin proxy: error: {message}", file=sys.stderr)
    return USAGE


def upstream_error(url: str | None) -> str | None:
    """What is wrong with an --upstream value, or None."""
    if not url:
        return "--upstream URL is required (the deployment's documented root)"
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"--upstream {url!r} is not an http(s) URL"
    if parts.username or parts.password:
        # httpx would send them as basic auth over the client's own Authorization header.
        return "--upstream takes no user:password@; clients send their own credentials"
    if parts.query or parts.fragment:
        return f"--upstream {url!r}: a root URL has no query or fragment"
    return None


def run_from_args(args) -> int:
    if not args.api:
        return _error("--api is required (ylem, director or meiro)")
    problem = upstream_error(args.upstream)
    if problem:
        return _error(problem)
    try:
        deviations = known.load(args.known)
    except known.DeviationFileError as exc:
        return _error(str(exc))
    if args.junit and not os.access(pathlib.Path(args.junit).resolve().parent, os.W_OK):
        # Written only at the stop: found unwritable now, not after a session.
        return _error(f"cannot write {args.junit}: its folder is missing or read-only")
    try:
        family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
        sock = socket.create_server((args.host, args.port), family=family)
    except OSError as exc:
        return _error(f"cannot listen on {args.host}:{args.port}: {exc}")
    with sock:
        return _serve(args, deviations, sock)


def _build(profile, upstream: str, deviations, args):
    """The app and the run it reports to, for one API and upstream."""
    import httpx

    from .credentials import Redactor
    from .known import KnownDeviations
    from .proxy import ProxyApp, Route
    from .proxy_check import Checker
    from .proxy_run import ProxyRun
    from .runner import load_schema
    from .settings import RunSettings

    schema = load_schema(profile, RunSettings(base_url=upstream))
    matched = KnownDeviations(profile.name, deviations)
    redactor = Redactor()  # learns each credential the traffic carries
    checker = Checker(profile.name, schema, matched, redactor)
    run = ProxyRun(
        profile.name,
        upstream,
        checker,
        matched,
        redactor,
        record=args.record,
        report_path=args.report,
        junit=args.junit,
    )
    route = Route(profile.twin_root, httpx.URL(upstream))
    return ProxyApp(route, run), run, route


def _serve(args, deviations, sock: socket.socket) -> int:
    # Heavy imports (schemathesis, uvicorn) only once the arguments are good.
    import uvicorn

    profile = PROFILES[args.api]
    app, run, route = _build(profile, args.upstream.rstrip("/"), deviations, args)
    try:
        run.start()
    except OSError as exc:
        return _error(f"cannot write {exc.filename}: {exc.strerror}")
    port = sock.getsockname()[1]
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(banner(profile, f"http://{host}:{port}", route, args), flush=True)
    config = uvicorn.Config(
        app,
        log_level="warning",
        lifespan="off",
        # The upstream's own Server and Date headers go back, not uvicorn's.
        server_header=False,
        date_header=False,
        timeout_graceful_shutdown=10,
    )
    # uvicorn stops on SIGTERM/SIGINT and then raises the signal again for the handler it
    # found: a no-op here, so the reports are still written after it has stopped.
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return run.finish()


def banner(profile, url: str, route, args) -> str:
    lines = [
        f"apitwin proxy: {profile.title} at {url}{route.root or '/'} -> {route.upstream}",
        "  checks: " + ", ".join(_checks()),
        f"  known deviations: {args.known or 'the package list'}",
    ]
    if args.record:
        lines.append(f"  recording (HAR, credentials redacted): {args.record}")
    if args.report:
        lines.append(f"  JSON report: {args.report}")
    lines.append("  Stop with Ctrl-C or SIGTERM: the reports are written and the exit status says.")
    return "\n".join(lines)


def _checks():
    from .proxy_check import CHECKS

    return CHECKS


def main(argv: list[str] | None = None) -> int:
    return run_from_args(build_parser().parse_args(argv))
