"""`apitwin serve --header-timeout`: a real twin process on a free loopback port closes the
connections that do not finish a request's head in time, and gets back their file descriptors.

Before it, sockets that opened and sent half a request line were held for ever: 21,000 of them
used up the process's descriptors. The adapter's own tests are in test_uvicorn_adapter.py.
"""

from __future__ import annotations

import os
import socket
import time

import httpx
import pytest
from support import CREDENTIALS

from apitwin.serve.process import TwinProcess

pytestmark = pytest.mark.slow  # starts processes of its own

DEADLINE = 1.0
SLACK = 2.0  # a shared, busy machine
HALF = b"GET /director/api/ping HTTP/1.1\r\nHost: 127.0.0.1\r\n"  # no blank line: never done
PING = "/director/api/ping"


def _descriptors(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _until_closed(sock: socket.socket, within: float) -> tuple[bytes, float]:
    """What the twin sent before closing, and how long that took."""
    started = time.monotonic()
    sock.settimeout(within)
    received = b""
    while chunk := sock.recv(4096):
        received += chunk
    return received, time.monotonic() - started


def _half_open(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(HALF)
    return sock


def test_a_half_sent_head_is_a_408_then_closed_and_a_slow_whole_one_is_served():
    with TwinProcess("--world", "empty", "--header-timeout", str(DEADLINE)) as twin:
        with socket.create_connection(("127.0.0.1", twin.port)) as sock:
            sock.sendall(b"GET /director/api/ping HT")  # half a request line, then nothing
            received, waited = _until_closed(sock, DEADLINE + SLACK)
        assert received.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), received
        assert DEADLINE * 0.9 < waited < DEADLINE + SLACK
        with socket.create_connection(("127.0.0.1", twin.port)) as sock:
            for part in (b"GET /director/api/ping HTTP/1.1\r\n", b"Host: 127.0.0.1\r\n", b"\r\n"):
                sock.sendall(part)  # slow, and whole within the deadline
                time.sleep(DEADLINE / 4)
            sock.settimeout(SLACK)
            assert sock.recv(4096).startswith(b"HTTP/1.1 200 OK")


def test_held_half_open_sockets_are_closed_and_their_descriptors_freed():
    """300 sockets hold a head half-sent, more than --max-connections: until the deadline a
    normal request is refused (uvicorn counts them), then it is served and the twin's file
    descriptors are back to their figure before."""
    held_count, limit = 300, 200
    args = ("--world", "empty", "--header-timeout", str(DEADLINE), "--max-connections", str(limit))
    with TwinProcess(*args) as twin:
        time.sleep(0.2)
        before = _descriptors(twin.pid)
        opened = time.monotonic()
        held = [_half_open(twin.port) for _ in range(held_count)]
        try:
            refused = httpx.get(twin.url + PING, timeout=SLACK)
            peak = _descriptors(twin.pid)
            deadline = opened + DEADLINE + SLACK * 2
            while (served := httpx.get(twin.url + PING, timeout=SLACK)).status_code != 200:
                assert time.monotonic() < deadline, served.status_code
                time.sleep(0.1)
            answered_after = time.monotonic() - opened
            endings = [_until_closed(sock, SLACK)[0] for sock in held]
        finally:
            for sock in held:
                sock.close()
        time.sleep(0.2)
        after = _descriptors(twin.pid)
    assert refused.status_code == 503  # the held sockets count against --max-connections
    assert peak >= before + held_count * 0.9
    assert all(ending.startswith(b"HTTP/1.1 408") for ending in endings)
    assert after <= before + 5, (before, peak, after)
    print(f"fds: {before} before, {peak} held, {after} after; served {answered_after:.2f} s in")


def test_the_deadline_holds_in_every_worker(tmp_path):
    args = ("--world", "empty", "--header-timeout", str(DEADLINE), "--workers", "2")
    with TwinProcess(*args, "--store", f"file:{tmp_path / 'twin.db'}", ready_timeout=90) as twin:
        # Either worker accepts a socket; both were handed the protocol in the same pickled Config.
        held = [_half_open(twin.port) for _ in range(20)]
        try:
            endings = [_until_closed(sock, DEADLINE + SLACK) for sock in held]
        finally:
            for sock in held:
                sock.close()
        assert httpx.get(twin.url + PING, timeout=SLACK).status_code == 200
    assert all(received.startswith(b"HTTP/1.1 408") for received, _ in endings)
    assert max(waited for _, waited in endings) < DEADLINE + SLACK


@pytest.mark.parametrize("workers", ["1", "2"])
def test_access_log_lines_show_no_query_secret(workers, tmp_path):
    """`--log-level info` logs a line per request; a token request's client_secret (Ylem takes
    the credentials in the query string) is shown as the journal shows it, in every worker."""
    store = ["--store", f"file:{tmp_path / 'twin.db'}"] if workers == "2" else []
    log = tmp_path / "printed.txt"
    twin = TwinProcess(
        "--log-level", "info", "--workers", workers, *store, "--api", "ylem", output=log
    )  # fmt: skip
    with twin:
        answer = httpx.post(
            f"{twin.url}/v1/oauth/token",
            params=CREDENTIALS,
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        time.sleep(0.5)  # the access line is written after the answer
    printed = log.read_text()
    # The banner names the seeded world's own credentials on purpose; the access lines never.
    [line] = [line for line in printed.splitlines() if "/v1/oauth/token?" in line]
    assert "client_secret=<redacted>" in line and "twin-secret" not in line, printed
