"""`apitwin serve` checks every option before anything starts: a usage error is one line and exit
2; the port is bound before the banner, which shows the real one."""

from __future__ import annotations

import re
import socket
import subprocess
import sys

import httpx
import pytest

from apitwin.cli import build_parser


def _serve(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "apitwin", "serve", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--port", "99999"], "a port is 0-65535"),
        (["--port", "http"], "expected a port number"),
        (["--epoch", "2026-13-45"], "expected a date YYYY-MM-DD"),
        (["--store", "bogus://x"], "use memory, file:PATH or redis://"),
        (["--log-level", "bogus"], "invalid choice: 'bogus'"),
        (["--workers", "many"], "invalid"),
        (["--no-such-option"], "unrecognized arguments"),
    ],
)
def test_a_usage_error_is_one_line_and_exit_2(args, said, capsys):
    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args(["serve", *args])
    assert stopped.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and said in err and err.startswith("apitwin"), err


@pytest.mark.slow
def test_port_0_is_bound_first_and_the_banner_shows_the_real_port():
    proc = subprocess.Popen(
        [sys.executable, "-m", "apitwin", "serve", "--port", "0", "--api", "director"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        first = proc.stdout.readline()
        found = re.search(r"listening on http://127\.0\.0\.1:(\d+)", first)
        assert found and found.group(1) != "0", first
        # The banner comes after the bind: the port answers as soon as it is printed (uvicorn
        # takes the listening socket over; connections queue until it serves them).
        answer = httpx.get(f"http://127.0.0.1:{found.group(1)}/api/ping", timeout=30)
        assert answer.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.slow
def test_a_busy_port_is_one_line_without_a_banner():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = _serve("--port", str(port))
    assert done.returncode == 1
    assert "listening on" not in done.stdout
    said = [line for line in done.stderr.splitlines() if line.startswith("apitwin serve:")]
    assert len(said) == 1 and f"cannot listen on 127.0.0.1:{port}" in said[0], done.stderr
    assert "Traceback" not in done.stderr
