"""The suite's options against the twin: safe mode sends nothing but GET/HEAD, a run that tests
nothing fails, a seed repeats a run, Ylem tokens are renewed when they expire, Director's basic
auth, and the pytest entry point runs the same suite.
"""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
from breaker import BrokenDeployment, WrongStatus, conform
from support import CLI_CREDENTIALS, served_in_thread

from apitwin.apis.spec_index import operations
from apitwin.conformance.profiles import PROFILES
from apitwin.options import TwinOptions

pytestmark = pytest.mark.slow  # starts processes of its own


def test_read_only_sends_only_safe_methods_and_passes(tmp_path):
    # Director has safe and unsafe operations on the same paths; every phase runs.
    api = "director"
    root = PROFILES[api].twin_root
    with served_in_thread(TwinOptions(api=api)) as twin, BrokenDeployment(twin, []) as proxy:
        outcome = conform(
            tmp_path,
            *("--api", api, "--base-url", proxy.url + root, *CLI_CREDENTIALS[api]),
            *("--read-only", "--max-examples", "5", "--seed", "3"),
        )
    assert outcome.exit_code == 0, outcome.summary
    methods = {method for method, _ in proxy.requests}
    assert methods <= {"GET", "HEAD"}, methods
    tested = {op["label"].split()[0] for op in outcome.report["operations"] if op["cases"]}
    assert tested == {"GET"}


def test_a_run_that_tests_nothing_fails(tmp_path):
    # Safe mode leaves out every unsafe operation, so selecting only one leaves nothing to run.
    outcome = conform(tmp_path, "--api", "director", "--operation", "start_workflow", "--read-only")
    assert outcome.exit_code == 1
    assert "nothing was tested" in outcome.summary


def test_the_same_seed_repeats_the_run(tmp_path):
    # A read and a write: the seed decides every case of each.
    chosen = ("list_workspaces", "create_workspace")

    def run():
        args = (
            *("--api", "meiro", "--seed", "77", "--max-examples", "5"),
            *("--phases", "examples,fuzzing"),
            *(arg for operation in chosen for arg in ("--operation", operation)),
        )
        report = conform(tmp_path, *args).report
        return {op["label"]: op["cases"] for op in report["operations"]}, report["seed"]

    first, second = run(), run()
    assert len(first[0]) == len(chosen) and all(sum(cases.values()) for cases in first[0].values())
    for label in first[0]:
        assert first[0][label] == second[0].get(label), label
    assert first == second
    assert first[1] == 77


def test_ylem_tokens_are_fetched_by_the_suite_and_renewed_when_they_expire():
    from schemathesis.engine import events

    from apitwin.conformance import runner
    from apitwin.conformance.credentials import Credentials
    from apitwin.conformance.settings import RunSettings

    profile = PROFILES["ylem"]
    with served_in_thread(TwinOptions(api="ylem")) as twin:
        base_url = twin + profile.twin_root

        def expire_tokens(event) -> None:
            # After the examples phase, move the twin's clock two days on: every token expires.
            if isinstance(event, events.PhaseFinished) and event.phase.name.value == "examples":
                httpx.post(twin + "/_twin/clock", json={"advance_seconds": 2 * 86400})

        result = runner.run(
            profile,
            RunSettings(base_url=base_url, seed=5, max_examples=5, phases=("examples", "fuzzing")),
            Credentials(client_id="twin-client", client_secret="twin-secret"),
            listeners=[expire_tokens],
        )
    assert result.passed, [v.title for v in result.violations] + result.errors
    assert result.tokens_fetched >= 2


def test_the_suite_runs_as_pytest(tmp_path):
    def pytest_conformance(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "apitwin.conformance.plugin", "-q"]
            + ["--pyargs", "apitwin.conformance"]
            + ["-p", "no:cacheprovider", "--api", "meiro", "--max-examples", "3", "--seed", "9"]
            + list(extra),
            capture_output=True,
            text=True,
            timeout=600,
            cwd=tmp_path,  # the installed package's suite, from any directory
        )

    # Two operations (a read and a write) show the pytest entry point; the full runs are above.
    passed = pytest_conformance(
        *("--operation", "list_workspaces", "--operation", "create_workspace"),
        *("--phases", "examples,fuzzing"),
    )
    assert passed.returncode == 0, passed.stdout[-3000:] + passed.stderr[-2000:]
    assert "2 subtests passed" in passed.stdout, passed.stdout[-3000:]  # those two alone
    # Safe mode, every operation: schemathesis' pytest entry point rebuilds the schema from its
    # configuration, so only a selection made there leaves the unsafe operations out.
    broken = [WrongStatus("GET", "/workspaces", status=203)]
    meiro = TwinOptions(api="meiro")
    with served_in_thread(meiro) as twin, BrokenDeployment(twin, broken) as proxy:
        failed = pytest_conformance(
            *("--base-url", proxy.url, "--token", "twin-token", "--read-only"),
            "--phases",
            "examples",  # the documented example already meets the wrong status
        )
    assert failed.returncode == 1, failed.stdout[-3000:]
    assert "Undocumented status code" in failed.stdout
    assert {method for method, _ in proxy.requests} <= {"GET", "HEAD"}
    reads = [op for op in operations("meiro") if op.method == "GET"]
    tail = failed.stdout.strip().splitlines()[-1]  # every read: the broken one, and the others
    assert tail.startswith("1 failed") and f" {len(reads) - 1} subtests passed" in tail, tail


def test_director_basic_auth_any_server_style(tmp_path):
    """--base-url + --basic-auth against a Director whose basic auth is on: passes with the
    right credentials (never printed), and says plainly when they are missing or wrong."""
    director = TwinOptions(api="director", director_basic_auth="ops:s3cret-pw")
    with served_in_thread(director) as twin:
        args = ("--api", "director", "--base-url", twin, "--max-examples", "5", "--seed", "4")
        good = conform(tmp_path, *args, "--basic-auth", "ops:s3cret-pw")
        missing = conform(tmp_path, *args)
        wrong = conform(tmp_path, *args, "--basic-auth", "ops:wrong-pw")
    assert good.exit_code == 0, good.summary
    assert "s3cret-pw" not in good.summary + str(good.report)
    assert "b3BzOnMzY3JldC1wdw" not in good.summary + str(good.report)  # base64 of ops:s3cret-pw
    assert (missing.exit_code, missing.report) == (2, None)
    assert (wrong.exit_code, wrong.report) == (2, None)
