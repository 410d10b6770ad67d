"""Runs a twin in a child process on a free loopback port (tests, conformance, benchmarks)."""

from __future__ import annotations

import contextlib
import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

import httpx

from apitwin.options import admin_headers


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class TwinProcess:
    """`apitwin serve` in a child process; a context manager that always stops it.

        with TwinProcess("--seed", "7", "--world", "empty") as twin:
            httpx.get(twin.url + "/meiro/workspaces", headers={"X-Access-Token": "twin-token"})

    `args` are `apitwin serve`'s options (its --host and --port are chosen here: a free port on
    `host`). `start()` returns once the twin answers, `stop()` (or leaving the `with`) stops it
    and returns what it printed. What it prints goes to a pipe read at the stop, or with
    `output=PATH` to that file: a twin that runs long or logs much never fills the pipe.
    """

    def __init__(
        self,
        *args: str,
        host: str = "127.0.0.1",
        ready_timeout: float = 15.0,
        output: str | os.PathLike | None = None,
    ) -> None:
        self.host = host
        self.output = output
        self.port = free_port(host)
        self.url = f"http://{host}:{self.port}"
        self.args = args
        self.ready_timeout = ready_timeout
        self.proc: subprocess.Popen | None = None
        self.started_in: float | None = None

    @property
    def admin_headers(self) -> dict[str, str]:
        """What a call to this twin's admin API needs: the admin token it was started with."""
        args = list(self.args)
        given = args[args.index("--admin-token") + 1] if "--admin-token" in args[:-1] else None
        return admin_headers(given)

    def start(self) -> TwinProcess:
        command = [sys.executable, "-m", "apitwin", "serve", "--host", self.host]
        command += ["--port", str(self.port), *self.args]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        started = time.perf_counter()
        sink = open(self.output, "w") if self.output is not None else subprocess.PIPE  # noqa: SIM115
        # Its own process group: `--workers N` children are stopped with it, never orphaned.
        try:
            self.proc = subprocess.Popen(
                command,
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=env,
                text=True,
                start_new_session=True,
            )
        finally:
            if sink is not subprocess.PIPE:
                sink.close()  # the child holds its own copy
        deadline = time.monotonic() + self.ready_timeout
        # One client for every probe, without a certificate store (the twin speaks plain HTTP):
        # a client that loads one costs ~50 ms of CPU, as much as the twin's wait is long.
        with httpx.Client(verify=False, timeout=1.0) as probe:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    code, output = self.proc.returncode, self.stop()
                    raise RuntimeError(f"twin exited with {code}:\n{output}")
                with contextlib.suppress(httpx.HTTPError):
                    ready = probe.get(self.url + "/_twin/clock", headers=self.admin_headers)
                    if ready.status_code == 200:
                        self.started_in = time.perf_counter() - started
                        return self
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"twin not ready on {self.url} within {self.ready_timeout} s")

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def _signal_group(self, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)

    def kill(self) -> str:
        """SIGKILL to the server and its workers at once (a crash), then what it printed."""
        if self.proc is not None:
            self._signal_group(signal.SIGKILL)
        return self.stop()

    def stop(self) -> str:
        """Stops the child (SIGTERM: uvicorn stops its workers), then anything left in its
        process group, and returns what it printed."""
        if self.proc is None:
            return ""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        # Workers the server did not stop (it was killed): the group outlives its leader.
        self._signal_group(signal.SIGKILL)
        output = self.proc.stdout.read() if self.proc.stdout else ""
        if self.proc.stdout:
            self.proc.stdout.close()
        elif self.output is not None:
            output = pathlib.Path(self.output).read_text(errors="replace")
        self.proc = None
        return output

    def __enter__(self) -> TwinProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
