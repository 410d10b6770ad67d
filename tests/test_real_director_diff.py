"""A live `apitwin diff` between the REAL Celery Director (celery-director 0.10.0,
.ci/director.sh) and a fresh twin: exit 0, every remaining difference a known one listed in
conformance/known_differences.yaml with its reason in specs/DECISIONS.md, and every listed
Director entry hit by the run (a stale entry is noticed). The JSON report goes to artifacts/.

Skipped only when the Director venv cannot be built for lack of a package registry; with `CI`
set that is a failure instead.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pathlib
import re
import subprocess
import time

import pytest

from apitwin.conformance import diff_cli, known

pytestmark = pytest.mark.slow  # starts processes of its own

REPO = pathlib.Path(__file__).resolve().parents[1]
SCRIPT = REPO / ".ci" / "director.sh"
ARTIFACTS = REPO / "artifacts"
DECISIONS = (REPO / "specs" / "DECISIONS.md").read_text(encoding="utf-8")


def _director_venv() -> None:
    result = subprocess.run(
        [str(SCRIPT), "install"], capture_output=True, text=True, timeout=600, check=False
    )
    if result.returncode == 0:
        return
    offline = "No matching distribution" in result.stderr or "NewConnectionError" in result.stderr
    if offline and not os.environ.get("CI"):
        pytest.skip("no package registry reachable to install celery-director")
    pytest.fail(f"the Celery Director venv could not be built:\n{result.stderr[-2000:]}")


@pytest.fixture(scope="module")
def director(tmp_path_factory):
    _director_venv()
    directory = tmp_path_factory.mktemp("director-diff")
    try:
        started = subprocess.run(
            [str(SCRIPT), "start", str(directory)],
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
        if started.returncode != 0:
            pytest.fail(f"Director did not start: {started.stderr[-2000:]}")
        yield started.stdout.strip().splitlines()[-1]
    finally:
        subprocess.run([str(SCRIPT), "stop", str(directory)], timeout=60, check=False)


def test_live_diff_against_the_real_director(director, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    report_path = ARTIFACTS / "diff-director-real.json"
    printed = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(printed):
        code = diff_cli.main(
            ["--api", "director", "--base-url", director, "--max-examples", "5", "--seed", "0"]
            + ["--report", str(report_path)]
        )
    out = printed.getvalue()
    report = json.loads(report_path.read_text())
    seconds = time.perf_counter() - started
    print(f"\n{report['compared']} requests, {report['known']} known, in {seconds:.1f} s")
    assert code == 0, out
    assert report["differences"] == 0 and report["compared"] >= 20, out
    reasons = {hit["reason"] for item in report["items"] for hit in item["known"]}
    listed = [d for d in known.load(diff_cli.DEFAULT_KNOWN) if d.api == "director"]
    # Every entry is hit by this run, and names a row of DECISIONS.md that exists.
    assert {d.reason for d in listed} == reasons, out
    for deviation in listed:
        (row,) = re.findall(r"^D\d+", deviation.reason)
        assert f"| {row} |" in DECISIONS, row
