"""The suite's command-line options, declared once for `apitwin conform` and for the suite as
pytest tests (`pytest -p apitwin.conformance.plugin --pyargs apitwin.conformance`).

Both argparse and pytest's option parser take argparse-style declarations, so one table serves
both; options marked CLI-only have a pytest counterpart already (--junit-xml, -n) or no meaning
there.
"""

from __future__ import annotations

import argparse

from .credentials import ENVIRONMENT
from .settings import CHECKS, DEFAULT_MAX_EXAMPLES, PHASES

API_NAMES = ("ylem", "director", "meiro")


def comma_list(allowed: tuple[str, ...]):
    def parse(value: str) -> tuple[str, ...]:
        items = tuple(item.strip() for item in value.split(",") if item.strip())
        if items == ("all",):
            return allowed
        unknown = [item for item in items if item not in allowed]
        if unknown or not items:
            raise argparse.ArgumentTypeError(
                f"{', '.join(unknown) or 'nothing'} not among: all, {', '.join(allowed)}"
            )
        return items

    parse.__name__ = "list"  # argparse names the type in its error messages
    return parse


def positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


def port_number(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {value!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is 0-65535, got {value}")
    return port


def _env(name: str) -> str:
    return f" (or ${ENVIRONMENT[name]})"


_TWIN = "; default on a twin: its seeded one"


# (flags, argparse keyword arguments, cli_only)
OPTIONS: list[tuple[tuple[str, ...], dict, bool]] = [
    (("--api",), {"choices": API_NAMES, "help": "the API to test (required)"}, False),
    (
        ("--base-url",),
        {
            "metavar": "URL",
            "help": "test the deployment at URL, its documented root (default: none, test a twin)",
        },
        False,
    ),
    (
        ("--target",),
        {
            "choices": ("twin", "url"),
            "help": "twin: start a twin on a free port and test it (default without --base-url); "
            "url: test --base-url",
        },
        False,
    ),
    (
        ("--client-id",),
        {"metavar": "ID", "help": "Ylem OAuth2 client id" + _env("client_id") + _TWIN},
        False,
    ),
    (
        ("--client-secret",),
        {"metavar": "SECRET", "help": "Ylem OAuth2 client secret" + _env("client_secret") + _TWIN},
        False,
    ),
    (
        ("--token",),
        {"metavar": "TOKEN", "help": "Meiro X-Access-Token" + _env("token") + _TWIN},
        False,
    ),
    (
        ("--basic-auth",),
        {
            "metavar": "USER:PASS",
            "help": "Director basic auth, if enabled" + _env("basic_auth") + "; default: none",
        },
        False,
    ),
    (
        ("--max-examples",),
        {
            "type": positive_int,
            "default": DEFAULT_MAX_EXAMPLES,
            "metavar": "N",
            "help": f"generated cases per operation and phase (default {DEFAULT_MAX_EXAMPLES})",
        },
        False,
    ),
    (
        ("--seed",),
        {
            "type": int,
            "metavar": "N",
            "help": "seed for data generation: the same seed, the same run (default: a random "
            "one, printed in the summary)",
        },
        False,
    ),
    (
        ("--workers",),
        {
            "type": positive_int,
            "default": 1,
            "metavar": "N",
            "help": "operations tested in parallel (default 1)",
        },
        True,
    ),
    (
        ("--phases",),
        {
            "type": comma_list(PHASES),
            "default": PHASES,
            "help": f"comma-separated, of: {', '.join(PHASES)} (default all)",
        },
        False,
    ),
    (
        ("--checks",),
        {
            "type": comma_list(CHECKS),
            "default": CHECKS,
            "help": "comma-separated schemathesis checks (default all: " + ", ".join(CHECKS) + ")",
        },
        False,
    ),
    (
        ("--request-timeout",),
        {"type": float, "default": 10.0, "metavar": "SECONDS", "help": "per request (default 10)"},
        False,
    ),
    (
        ("--rate-limit",),
        {
            "metavar": "N/UNIT",
            "help": "at most N requests per s, m or h, e.g. 20/s (default: no limit)",
        },
        False,
    ),
    (
        ("--read-only",),
        {
            "action": "store_true",
            "help": "safe mode for production and shared environments: GET/HEAD only, valid "
            "data only, no deliberately wrong requests",
        },
        False,
    ),
    (
        ("--operation",),
        {
            "action": "append",
            "metavar": "OPERATION_ID",
            "help": "test only this operation; repeatable (default: every operation)",
        },
        False,
    ),
    (
        ("--known",),
        {
            "metavar": "FILE",
            "help": "known deviations (default: the package's conformance/known_deviations.yaml)",
        },
        False,
    ),
    (("--junit",), {"metavar": "FILE", "help": "write a JUnit XML report (default: none)"}, True),
    (("--report",), {"metavar": "FILE", "help": "write a JSON report (default: none)"}, True),
]


def add_to(parser, *, pytest: bool = False) -> None:
    """Declares the options on an argparse parser, or on a pytest option group."""
    for flags, kwargs, cli_only in OPTIONS:
        if pytest and cli_only:
            continue
        kwargs = dict(kwargs)
        if pytest:
            # pytest keeps every plugin's options in one namespace: prefix the destinations.
            kwargs["dest"] = "conform_" + flags[0].lstrip("-").replace("-", "_")
        parser.addoption(*flags, **kwargs) if pytest else parser.add_argument(*flags, **kwargs)
