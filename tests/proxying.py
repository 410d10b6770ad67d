"""`apitwin proxy` in a child process on a free loopback port, for the tests that run it: the
URL from its banner, and a stop (SIGTERM by default) that returns what it printed, its exit
status and its JSON report. Always stopped, also when a test fails."""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import re
import signal
import subprocess
import sys
import time


@dataclasses.dataclass
class Stopped:
    code: int
    stdout: str
    stderr: str
    report: dict | None


class ProxyProcess:
    """`with ProxyProcess(tmp_path, "--api", "meiro", "--upstream", url) as proxy: proxy.url`
    (the API's documented root on the proxy). A report goes to `proxy.report`, a recording to
    `proxy.recording` and JUnit to `proxy.junit`, all in `directory`."""

    def __init__(self, directory: pathlib.Path, *args: str, record: bool = True) -> None:
        self.directory = directory
        self.report = directory / "proxy-report.json"
        self.recording = directory / "proxy.har"
        self.junit = directory / "proxy-junit.xml"
        self.args = [*args, "--port", "0", "--report", str(self.report), "--junit", str(self.junit)]
        if record:
            self.args += ["--record", str(self.recording)]
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self.stopped: Stopped | None = None

    def _read(self, name: str) -> str:
        return (self.directory / name).read_text(errors="replace")

    def start(self) -> ProxyProcess:
        command = [sys.executable, "-m", "apitwin", "proxy", *self.args]
        # Output to files, never pipes: a long run cannot block on a full pipe.
        with (
            open(self.directory / "proxy.out", "w") as out,
            open(self.directory / "proxy.err", "w") as err,
        ):
            self.proc = subprocess.Popen(
                command,
                stdout=out,
                stderr=err,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                start_new_session=True,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = re.search(r" at (http://\S+) -> ", self._read("proxy.out"))
            if found:
                self.url = found.group(1).rstrip("/")
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the proxy did not start:\n{self._read('proxy.err')}")

    def stop(self, sig: int = signal.SIGTERM) -> Stopped:
        if self.stopped is not None or self.proc is None:
            return self.stopped
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        report = json.loads(self.report.read_text()) if self.report.exists() else None
        self.stopped = Stopped(
            self.proc.returncode, self._read("proxy.out"), self._read("proxy.err"), report
        )
        return self.stopped

    def __enter__(self) -> ProxyProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
