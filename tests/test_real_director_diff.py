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
import pathlib
import re
import time

import pytest
from director import Director, director_venv

from apitwin.conformance import diff_cli, known

pytestmark = pytest.mark.slow  # starts processes of its own

REPO = pathlib.Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "artifacts"
DECISIONS = (REPO / "specs" / "DECISIONS.md").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def director(tmp_path_factory):
    director_venv()
    started = Director(tmp_path_factory.mktemp("director-diff"), None)
    try:
        started.wait()
        yield started.url
    finally:
        started.stop()


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
