"""`apitwin diff`: the same requests to two deployments, and every answer that differs.

--replay FILE.har sends a recording's requests, in order, to the target (default: a fresh twin)
and compares each answer with the recorded one (side A: the recording, side B: the target).
--base-url URL sends generated requests (documented examples, valid generated ones, the specs'
links) to the deployment (side A) and to the target (side B, default: a fresh twin).
Exit status: 0 no difference beyond the known ones, 1 a difference, 2 a usage error.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

from . import har, known
from .auth import TargetError, check_credentials
from .cli import twin_credentials
from .credentials import CredentialError, resolve
from .options import API_NAMES, positive_int
from .profiles import PROFILES

OK, DIFFERENT, USAGE = 0, 1, 2
DEFAULT_KNOWN = pathlib.Path(__file__).with_name("known_differences.yaml")
DEFAULT_MAX_EXAMPLES = 5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--api", choices=API_NAMES, help="the API to compare (required)")
    add("--replay", metavar="FILE", help="replay this HAR recording (default: none)")
    add(
        "--base-url",
        metavar="URL",
        help="live: generated requests to the deployment at URL and to the target (default: none)",
    )
    add(
        "--target",
        metavar="URL",
        help="side B, a running deployment's documented root "
        "(default: a fresh twin on a free port)",
    )
    add("--twin-seed", type=int, metavar="N", help="the fresh twin's --seed (default: its own)")
    add(
        "--client-id",
        metavar="ID",
        help="Ylem OAuth2 client id (or $APITWIN_CLIENT_ID); default: none",
    )
    add(
        "--client-secret",
        metavar="SECRET",
        help="Ylem OAuth2 client secret (or $APITWIN_CLIENT_SECRET); default: none",
    )
    add("--token", metavar="TOKEN", help="Meiro X-Access-Token (or $APITWIN_TOKEN); default: none")
    add(
        "--basic-auth",
        metavar="USER:PASS",
        help="Director basic auth, if enabled (or $APITWIN_BASIC_AUTH); default: none",
    )
    add(
        "--max-examples",
        type=positive_int,
        default=DEFAULT_MAX_EXAMPLES,
        metavar="N",
        help=f"live: generated requests per operation (default {DEFAULT_MAX_EXAMPLES})",
    )
    add("--seed", type=int, default=0, metavar="N", help="live: the generation seed (default 0)")
    add(
        "--request-timeout",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="per request (default 10)",
    )
    add(
        "--known",
        metavar="FILE",
        help="known differences (default: the package's conformance/known_differences.yaml)",
    )
    add("--report", metavar="FILE", help="write a JSON report (default: none)")


def _error(message: str) -> int:
    print(f"apitwin diff: error: {message}", file=sys.stderr)
    return USAGE


def run_from_args(args) -> int:
    if not args.api:
        return _error("--api is required (ylem, director or meiro)")
    if bool(args.replay) == bool(args.base_url):
        return _error("give one of --replay FILE.har or --base-url URL")
    profile = PROFILES[args.api]
    try:
        given = resolve(
            client_id=args.client_id,
            client_secret=args.client_secret,
            token=args.token,
            basic_auth=args.basic_auth,
        )
        deviations = known.load(args.known or DEFAULT_KNOWN)
        recording = har.exchanges(pathlib.Path(args.replay)) if args.replay else None
        if args.replay and not recording:
            raise har.HarError(f"{args.replay}: the recording holds no requests")
        # Given credentials belong to the deployment: --base-url live, --target in replay.
        side_a = given if args.base_url else None
        side_b = given if args.target else twin_credentials(given)
        for credentials in filter(None, (side_a, side_b)):
            check_credentials(profile, credentials)
    except (CredentialError, known.DeviationFileError, har.HarError) as exc:
        return _error(str(exc))
    from . import diff_output

    return diff_output.run(args, profile, side_a, side_b, deviations)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="apitwin diff", description=__doc__.split("\n")[0])
    add_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    return run_from_args(build_parser().parse_args(argv))


__all__ = ["TargetError", "add_arguments", "main", "run_from_args"]
