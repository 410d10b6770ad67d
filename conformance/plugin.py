"""The suite as pytest tests, from any directory:
`pytest -p apitwin.conformance.plugin --pyargs apitwin.conformance --api NAME [--base-url URL] ...`

A plugin (`-p`) rather than a conftest.py: pytest reads the options of a conftest only in folders
named on the command line, never in a package found with --pyargs.

The same options as `apitwin conform` (minus --junit/--report: use pytest's --junit-xml), so a
team can put its own tests next to test_contract.py and use the fixtures below:
`conform_session` (target, settings, the prepared schemathesis schema) and `conformance_schema`.
"""

from __future__ import annotations

import pytest

from apitwin.conformance import options
from apitwin.conformance.auth import TargetError
from apitwin.conformance.credentials import CredentialError
from apitwin.conformance.known import DeviationFileError
from apitwin.conformance.session import SessionError, args_from_pytest, open_session

KNOWN_HITS = pytest.StashKey[object]()


def pytest_addoption(parser):
    options.add_to(parser.getgroup("apitwin conform"), pytest=True)


@pytest.fixture(scope="session")
def conform_session(request):
    try:
        with open_session(args_from_pytest(request.config)) as session:
            request.config.stash[KNOWN_HITS] = session.known
            yield session
    except (SessionError, CredentialError, DeviationFileError, TargetError) as exc:
        pytest.exit(f"apitwin conform: error: {exc}", returncode=2)


@pytest.fixture(scope="session")
def conformance_schema(conform_session):
    return conform_session.schema


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    known = config.stash.get(KNOWN_HITS, None)
    if known is None or not known.hits:
        return
    terminalreporter.section("known deviations (do not fail the run)")
    for hit in known.hits.values():
        terminalreporter.line(
            f"{hit.deviation.check} · {hit.operation} · {hit.count} time(s): {hit.deviation.reason}"
        )
