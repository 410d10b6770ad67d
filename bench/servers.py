"""The servers the benchmark compares, each a child process on a free loopback port.

Every process is started by a `Servers` group, which stops all of them on exit, whatever
happened; their output goes to log files in the run's work directory.
"""

from __future__ import annotations

import http.client
import os
import pathlib
import subprocess
import sys
import time

from apitwin.serve.process import free_port

HOST = "127.0.0.1"
ROOT = pathlib.Path(__file__).resolve().parent.parent
PRISM = ROOT / ".cache" / "prism" / "node_modules" / ".bin" / "prism"


def request(
    url: str, path: str, method: str = "GET", headers: dict | None = None, body: bytes = b""
) -> tuple[int, bytes]:
    """One plain HTTP request (no client library in the way of timing)."""
    host, _, port = url.removeprefix("http://").partition(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        connection.request(method, path, body=body or None, headers=headers or {})
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def rss_mb(pid: int) -> float:
    """Resident memory of a process, from /proc (Linux)."""
    for line in pathlib.Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


class Server:
    def __init__(self, name: str, command: list[str], port: int, log: pathlib.Path) -> None:
        self.name = name
        self.port = port
        self.url = f"http://{HOST}:{port}"
        self.log = log
        self._log_file = open(log, "wb")  # noqa: SIM115 (closed in stop())
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            command,
            cwd=ROOT,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )

    def wait_ready(
        self,
        path: str,
        headers: dict | None = None,
        timeout: float = 30.0,
        poll: float = 0.01,
        expect: int = 200,
    ) -> float:
        """Seconds from process start until `path` answers `expect` (200)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.proc.returncode}:\n{self.log.read_text()}"
                )
            try:
                status, _ = request(self.url, path, headers=headers)
                if status == expect:
                    return time.perf_counter() - self.started
            except OSError:
                pass
            time.sleep(poll)
        raise RuntimeError(f"{self.name} not ready within {timeout} s:\n{self.log.read_text()}")

    def rss_mb(self) -> float:
        return rss_mb(self.proc.pid)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log_file.close()


class Servers:
    """Starts servers and stops every one of them when the `with` block ends."""

    def __init__(self, workdir: pathlib.Path) -> None:
        self.workdir = workdir
        self.running: list[Server] = []

    def _start(self, name: str, command: list[str], port: int) -> Server:
        server = Server(name, command, port, self.workdir / f"{name}.log")
        self.running.append(server)
        return server

    def twin(self, name: str, *args: str) -> Server:
        port = free_port(HOST)
        command = [sys.executable, "-m", "apitwin", "serve", "--host", HOST, "--port", str(port)]
        return self._start(name, [*command, *args], port)

    def prism(self, name: str, spec: str, *args: str) -> Server:
        port = free_port(HOST)
        command = [str(PRISM), "mock", "-h", HOST, "-p", str(port), str(ROOT / "specs" / spec)]
        return self._start(name, [*command, *args], port)

    def bare(self, name: str, answers_file: pathlib.Path) -> Server:
        port = free_port(HOST)
        command = [sys.executable, "-m", "bench.bare", str(port), str(answers_file)]
        return self._start(name, command, port)

    def stop(self, server: Server) -> None:
        server.stop()
        self.running.remove(server)

    def __enter__(self) -> Servers:
        return self

    def __exit__(self, *exc) -> None:
        for server in reversed(self.running):
            server.stop()
        self.running.clear()
