"""The suite against the twin: zero failures with every check and phase on every operation of
each API, within a CI budget (the run's options: test_conformance_options.py).
"""

from __future__ import annotations

import os
import time
import xml.etree.ElementTree as ET

import httpx
import pytest
from breaker import conform
from support import CLI_CREDENTIALS, read_yaml

from apitwin.apis import SPECS_DIR
from apitwin.conformance.profiles import PROFILES
from apitwin.conformance.target import started_twin

pytestmark = pytest.mark.slow  # starts processes of its own

# Cases per operation for the fuzzing and stateful phases of the full runs, as in the runs
# against the real Director; the examples and coverage phases do not depend on it (for Meiro,
# 2,731 cases at 10 against 3,907 at the CLI's default of 50).
# APITWIN_CONFORM_MAX_EXAMPLES=50 runs the default.
CI_MAX_EXAMPLES = os.environ.get("APITWIN_CONFORM_MAX_EXAMPLES", "10")
SEED = "20261101"
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def spec_operations(api: str) -> int:
    spec = read_yaml(SPECS_DIR / f"{api}.yaml")
    return sum(1 for item in spec["paths"].values() for method in item if method in METHODS)


@pytest.mark.parametrize("api", ["ylem", "director", "meiro"])
def test_the_twin_passes_every_check_and_phase_and_exports_what_it_wrote(api, tmp_path):
    """The twin a run targets by default (one API, its clock fixed), reached by URL so that
    afterwards whatever the run's writes left behind can be exported and imported back: the
    stored shape an import is checked against (core/state_check.py) is learnt from a seed, so a
    write the seed never shows, such as a field set to null, would make it refuse its export."""
    junit = tmp_path / "junit.xml"
    profile = PROFILES[api]
    with started_twin(profile) as twin:
        started = time.perf_counter()
        outcome = conform(
            tmp_path,
            *("--api", api, "--base-url", twin.url + profile.twin_root, *CLI_CREDENTIALS[api]),
            *("--seed", SEED, "--max-examples", CI_MAX_EXAMPLES, "--junit", str(junit)),
        )
        elapsed = time.perf_counter() - started
        assert outcome.exit_code == 0, outcome.summary
        headers = twin.admin_headers
        state = httpx.get(f"{twin.url}/_twin/state", headers=headers, timeout=30).json()
        again = httpx.put(f"{twin.url}/_twin/state", json=state, headers=headers, timeout=30)
        assert again.status_code == 200, again.text
        assert httpx.get(f"{twin.url}/_twin/state", headers=headers, timeout=30).json() == state
    report = outcome.report
    print(f"\n{api}: {report['total_cases']} cases in {elapsed:.1f} s")
    assert report["phases"] == dict.fromkeys(
        ("examples", "coverage", "fuzzing", "stateful"), "success"
    )
    tested = [op for op in report["operations"] if sum(op["cases"].values())]
    assert len(tested) == spec_operations(api), outcome.summary
    suite = ET.parse(junit).getroot()
    assert suite.get("failures") == "0" and int(suite.get("tests")) == len(tested)
    for secret in ("twin-secret", "twin-token"):
        assert secret not in outcome.summary + junit.read_text() + str(report)
