"""A conformance session for pytest: the same preparation as a CLI run, from pytest's options."""

from __future__ import annotations

import contextlib
import dataclasses
import types

from . import cli, known, runner
from .auth import check_credentials
from .credentials import Redactor, resolve
from .options import OPTIONS
from .profiles import PROFILES, ApiProfile
from .settings import RunSettings
from .target import TWIN, Target, open_target


class SessionError(ValueError):
    """The pytest options do not describe a run."""


@dataclasses.dataclass
class ConformSession:
    profile: ApiProfile
    settings: RunSettings
    target: Target
    schema: object  # the schemathesis schema, auth and hooks installed
    known: known.KnownDeviations
    redactor: Redactor


def args_from_pytest(config) -> types.SimpleNamespace:
    """pytest's `conform_*` option values under the CLI's names."""
    names = [flags[0].lstrip("-").replace("-", "_") for flags, _, _ in OPTIONS]
    values = {name: config.getoption("conform_" + name, default=None) for name in names}
    values["workers"] = 1
    return types.SimpleNamespace(**values)


@contextlib.contextmanager
def open_session(args):
    if not args.api:
        raise SessionError("pass --api (ylem, director or meiro) to run the conformance suite")
    profile = PROFILES[args.api]
    try:
        kind = cli.target_kind(args.target, args.base_url)
    except cli.UsageError as exc:
        raise SessionError(str(exc)) from None
    credentials = resolve(
        client_id=args.client_id,
        client_secret=args.client_secret,
        token=args.token,
        basic_auth=args.basic_auth,
    )
    if kind == TWIN:
        credentials = cli.twin_credentials(credentials)
    check_credentials(profile, credentials)
    unknown = profile.unknown_operations(args.operation)
    if unknown:
        raise SessionError(f"{profile.name} has no operation {', '.join(unknown)}")
    deviations = known.load(args.known)
    redactor = Redactor(credentials.secrets())
    with open_target(profile, kind, args.base_url) as target:
        settings = cli.settings_from(args, target.base_url)
        prepared = runner.prepare(profile, settings, credentials, redactor, deviations)
        yield ConformSession(profile, settings, target, prepared.schema, prepared.known, redactor)
