"""`apitwin conform`: run the conformance suite against a twin (the default) or a deployment.

Exit status: 0 nothing failed, 1 a violation (or an error mid-run), 2 a usage error: bad flags,
an unreachable URL, rejected credentials. Usage errors are one plain line, never a traceback.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from apitwin.options import TwinOptions

from . import known, options
from .auth import TargetError, check_credentials
from .credentials import CredentialError, Credentials, Redactor, resolve
from .profiles import PROFILES
from .settings import CHECKS, PHASES, RunSettings
from .target import TWIN, URL

OK, VIOLATIONS, USAGE = 0, 1, 2
INTERRUPTED = 130


class UsageError(ValueError):
    pass


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.add_to(parser)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="apitwin conform", description=__doc__.split("\n")[0])
    add_arguments(parser)
    return parser


def target_kind(target: str | None, base_url: str | None) -> str:
    kind = target or (URL if base_url else TWIN)
    if kind == URL and not base_url:
        raise UsageError("--target url needs --base-url")
    if kind == TWIN and base_url:
        raise UsageError("--base-url tests a deployment; leave out --target twin")
    return kind


def twin_credentials(credentials: Credentials) -> Credentials:
    """A twin started here accepts its seeded credentials; given ones still win."""

    defaults = TwinOptions()
    client_id, client_secret = next(iter(defaults.ylem_clients.items()))
    return Credentials(
        client_id=credentials.client_id or client_id,
        client_secret=credentials.client_secret or client_secret,
        token=credentials.token or defaults.meiro_tokens[0],
        basic_auth=credentials.basic_auth,
    )


def settings_from(args, base_url: str = "") -> RunSettings:
    return RunSettings(
        base_url=base_url,
        seed=args.seed,
        max_examples=args.max_examples,
        workers=getattr(args, "workers", 1),
        phases=tuple(args.phases),
        checks=tuple(args.checks),
        request_timeout=args.request_timeout,
        rate_limit=args.rate_limit,
        read_only=args.read_only,
        operations=tuple(args.operation or ()),
    )


def reproduce_prefix(args, kind: str, seed: int) -> str:
    """The command that repeats this run (credentials left to flags or environment)."""
    words = ["apitwin", "conform", "--api", args.api]
    words += ["--base-url", args.base_url] if kind == URL else []
    words += ["--seed", str(seed), "--max-examples", str(args.max_examples)]
    if tuple(args.phases) != PHASES:
        words += ["--phases", ",".join(args.phases)]
    if tuple(args.checks) != CHECKS:
        words += ["--checks", ",".join(args.checks)]
    if args.read_only:
        words.append("--read-only")
    if args.known:
        words += ["--known", args.known]
    return shlex.join(words)


def _error(message: str) -> int:
    print(f"apitwin conform: error: {message}", file=sys.stderr)
    return USAGE


def run_from_args(args) -> int:
    if not args.api:
        return _error("--api is required (ylem, director or meiro)")
    profile = PROFILES[args.api]
    try:
        kind = target_kind(args.target, args.base_url)
        credentials = resolve(
            client_id=args.client_id,
            client_secret=args.client_secret,
            token=args.token,
            basic_auth=args.basic_auth,
        )
        if kind == TWIN:
            credentials = twin_credentials(credentials)
        check_credentials(profile, credentials)
        deviations = known.load(args.known)
        if not profile.spec_path.exists():
            raise UsageError(f"no spec for {profile.name} at {profile.spec_path}")
        unknown = profile.unknown_operations(args.operation)
        if unknown:
            raise UsageError(f"{profile.name} has no operation {', '.join(unknown)}")
    except (UsageError, CredentialError, known.DeviationFileError) as exc:
        return _error(str(exc))
    return _run(args, profile, kind, credentials, deviations)


def _run(args, profile, kind, credentials, deviations) -> int:
    # Heavy imports (schemathesis) only once the arguments are known to be good.
    from . import report, runner
    from .progress import Progress
    from .target import open_target

    redactor = Redactor(credentials.secrets())
    progress = Progress()
    try:
        with open_target(profile, kind, args.base_url) as target:
            settings = settings_from(args, target.base_url)
            where = "a twin on " + target.base_url if kind == TWIN else target.base_url
            print(f"apitwin conform: {profile.title} at {where}", file=sys.stderr)
            result = runner.run(
                profile,
                settings,
                credentials,
                target_kind=kind,
                deviations=deviations,
                listeners=[progress.on_event],
                redactor=redactor,
            )
    except TargetError as exc:
        return _error(redactor(str(exc)))
    except KeyboardInterrupt:
        print("apitwin conform: interrupted", file=sys.stderr)
        return INTERRUPTED
    result.reproduce = reproduce_prefix(args, kind, result.seed)
    exit_code = OK if result.passed else VIOLATIONS
    print(report.summary(result))
    if args.report:
        report.write_json(result, exit_code, args.report)
    if args.junit:
        report.write_junit(result, args.junit)
    return exit_code


def main(argv: list[str] | None = None) -> int:
    return run_from_args(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
