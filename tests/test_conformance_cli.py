"""`apitwin conform` usage errors: exit status 2 and one plain line, never a traceback."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

from apitwin.conformance import cli
from apitwin.serve.process import free_port

pytestmark = pytest.mark.slow  # starts processes of its own

REPO = pathlib.Path(__file__).resolve().parents[1]


def _conform(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "apitwin", "conform", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
    )


def test_unreachable_url_is_a_usage_error_said_plainly():
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    done = _conform("--api", "meiro", "--base-url", url, "--token", "t0ken-value")
    assert done.returncode == 2
    assert f"cannot reach {url}" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout
    assert "t0ken-value" not in done.stderr + done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--api", "meiro", "--base-url", "http://127.0.0.1:9"], "meiro needs --token"),
        (["--api", "ylem", "--base-url", "http://127.0.0.1:9"], "--client-id and --client-secret"),
        (["--api", "meiro", "--target", "url"], "--target url needs --base-url"),
        (
            ["--api", "meiro", "--target", "twin", "--base-url", "http://127.0.0.1:9"],
            "leave out --target twin",
        ),
        (["--base-url", "http://127.0.0.1:9"], "--api is required"),
        (["--api", "meiro", "--known", "/nonexistent/known.yaml"], "cannot read known deviations"),
        (["--api", "director", "--basic-auth", "nocolon", "--base-url", "http://x"], "USER:PASS"),
        (["--api", "meiro", "--operation", "no_such_op"], "meiro has no operation no_such_op"),
    ],
)
def test_bad_invocations_exit_2_with_a_reason(args, message, capsys, monkeypatch):
    for name in ("APITWIN_TOKEN", "APITWIN_CLIENT_ID", "APITWIN_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    assert cli.main(args) == 2
    assert message in capsys.readouterr().err


def test_credentials_can_come_from_the_environment(capsys, monkeypatch):
    monkeypatch.setenv("APITWIN_TOKEN", "env-token-value")
    url = f"http://127.0.0.1:{free_port()}"
    # Credentials pass their check, so the run gets as far as the (closed) port.
    assert cli.main(["--api", "meiro", "--base-url", url]) == 2
    assert "cannot reach" in capsys.readouterr().err


def test_bad_option_values_are_argparse_usage_errors():
    done = _conform("--api", "meiro", "--checks", "not_a_check")
    assert done.returncode == 2
    assert "not_a_check not among" in done.stderr
