"""The real Celery Director for the tests that run against it: its venv and one started server.

`.ci/director.sh` installs celery-director in a venv of its own and starts it on a free port;
these helpers build (or reuse) that venv, skipping only when no package registry is reachable
(failing instead with `CI` set), and start and always stop one Director per directory.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import time

import pytest

SCRIPT = pathlib.Path(__file__).resolve().parents[1] / ".ci" / "director.sh"


def director_venv() -> None:
    """Builds (or reuses) the Director venv; skips only when no registry can be reached."""
    result = subprocess.run(
        [str(SCRIPT), "install"], capture_output=True, text=True, timeout=600, check=False
    )
    if result.returncode == 0:
        return
    offline = any(
        word in result.stderr
        for word in ("No matching distribution", "Could not find a version", "NewConnectionError")
    )
    message = f"the Celery Director venv could not be built:\n{result.stderr[-2000:]}"
    if offline and not os.environ.get("CI"):
        pytest.skip("no package registry reachable to install celery-director; " + message)
    pytest.fail(message)


class Director:
    """One real Director started by .ci/director.sh in its own directory; `stop` always runs.
    `urls`: where it answers, and with `auth` ("USER:PASS") where it answers with basic auth on."""

    def __init__(self, directory: pathlib.Path, auth: str | None) -> None:
        self.directory = directory
        self.started = time.perf_counter()
        args = [str(SCRIPT), "start", str(directory), *([auth] if auth else [])]
        self.process = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.urls: list[str] = []
        self.start_seconds = 0.0

    def wait(self) -> None:
        try:
            out, err = self.process.communicate(timeout=180)
        except subprocess.TimeoutExpired:
            pytest.fail(f"Director did not start within 180 s ({self.directory})")
        if self.process.returncode != 0:
            pytest.fail(f"Director did not start: {err[-2000:]}")
        self.urls = out.split()
        self.start_seconds = time.perf_counter() - self.started

    def stop(self) -> None:
        if self.process.poll() is None:  # still starting: stop the script, then its work
            self.process.kill()
            self.process.communicate()
        subprocess.run([str(SCRIPT), "stop", str(self.directory)], timeout=60, check=False)
