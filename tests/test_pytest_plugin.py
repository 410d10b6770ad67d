"""The `apitwin` pytest fixture as a user meets it: a test module written into an empty directory
and run with `python -m pytest` in a subprocess, the plugin loaded by its entry point alone.

The README's example runs as a user's pytest does, with every installed plugin loaded on its
own; the others load only this one, by its entry point's name (`-p apitwin`): hypothesis',
schemathesis' and faker's plugins take seconds to load in each subprocess and none is used."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import httpx
import pytest
from support import ROOT, served_in_thread

from apitwin.options import TwinOptions

pytestmark = pytest.mark.slow

# What every user module below starts with.
PRELUDE = """
import datetime as dt

import httpx
import pytest

PIPELINE = "5c0b8a3e-7f4d-4e9a-8c21-1d6f3b2a9e40"  # Ylem's documented pipeline
SEEN = {}  # what earlier tests of this module saw (one process without xdist)


def workspaces(apitwin):
    answer = httpx.get(
        apitwin.base_url("meiro") + "/workspaces",
        params={"limit": 100, "order_dir": "DESC"},  # the newest first
        headers=apitwin.headers("meiro"),
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["workspaces"]


def create_workspace(apitwin, name):
    answer = httpx.post(
        apitwin.base_url("meiro") + "/workspaces",
        json={"name": name},
        headers=apitwin.headers("meiro"),
    )
    assert answer.status_code == 201, answer.text
    return answer.json()["workspace"]["id"]


def start_workflow(apitwin):
    answer = httpx.post(
        apitwin.base_url("director") + "/api/workflows",
        json={"project": "example", "name": "ETL", "payload": {}},
        headers=apitwin.headers("director"),
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


def workflow_ids(apitwin):
    answer = httpx.get(
        apitwin.base_url("director") + "/api/workflows",
        params={"per_page": 1000},
        headers=apitwin.headers("director"),
    )
    assert answer.status_code == 200, answer.text
    return {w["id"] for w in answer.json()}


def start_run(apitwin):
    answer = httpx.post(
        apitwin.base_url("ylem") + f"/pipelines/{PIPELINE}/runs/", headers=apitwin.headers("ylem")
    )
    assert answer.status_code == 201, answer.text
    return [row["id"] for row in answer.json()]


def clock(apitwin):
    answer = apitwin.admin("GET", "/clock")
    assert answer.status_code == 200, answer.text
    now = answer.json()["now"]
    return dt.datetime.fromisoformat(now.replace("Z", "+00:00"))
"""


def run_user_suite(
    tmp_path,
    body: str,
    *args: str,
    env: dict | None = None,
    prelude: str = PRELUDE,
    every_plugin: bool = False,
):
    """`python -m pytest` on a module of prelude + body in an empty directory; the outcome."""
    folder = tmp_path / "user"
    folder.mkdir(exist_ok=True)
    (folder / "test_user.py").write_text(prelude + textwrap.dedent(body))
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("APITWIN_", "PYTEST"))}
    environment.update(env or {})
    plugins = []
    if not every_plugin:
        environment["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        plugins = ["-p", "apitwin", *(["-p", "xdist"] if "-n" in args else [])]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rA", *plugins, *args],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return done, done.stdout + done.stderr


def passed(output: str) -> int:
    tail = output.strip().splitlines()[-1]
    return int(tail.split(" passed")[0].split()[-1]) if " passed" in tail else 0


def outcomes(output: str) -> dict[str, str]:
    """Each user test's outcome (PASSED, FAILED, ERROR), from the -rA summary."""
    found = {}
    for line in output.splitlines():
        word, _, rest = line.partition(" test_user.py::")
        if word in {"PASSED", "FAILED", "ERROR"} and rest:
            found[rest.split(" ")[0]] = word
    return found


WORLDS_AND_CLOCKS = """
def test_1_writes_in_all_three_apis(apitwin):
    assert create_workspace(apitwin, "written by test 1") in {w["id"] for w in workspaces(apitwin)}
    workflow = start_workflow(apitwin)
    assert workflow["id"] in workflow_ids(apitwin)
    SEEN.update(workflow=workflow["id"], run=start_run(apitwin), session=apitwin.session)
    assert start_run(apitwin) != SEEN["run"]  # the second run of a world gets new ids


def test_2_sees_none_of_it(apitwin):
    assert "written by test 1" not in {w["name"] for w in workspaces(apitwin)}
    assert SEEN["workflow"] not in workflow_ids(apitwin)
    assert start_run(apitwin) == SEEN["run"]  # a fresh world: the first run's ids again
    assert apitwin.session != SEEN["session"]


def test_3_moves_its_clock(apitwin):
    apitwin.freeze()
    before = clock(apitwin)
    workflow = start_workflow(apitwin)
    after = apitwin.advance(86400)
    assert clock(apitwin) - before == dt.timedelta(days=1), after
    done = httpx.get(
        apitwin.base_url("director") + "/api/workflows/" + workflow["id"],
        headers=apitwin.headers("director"),
    ).json()
    assert done["status"] in {"success", "error"}  # a day later the run has ended
    assert httpx.get(  # a new token for the moved clock
        apitwin.base_url("ylem") + f"/stats/pipelines/{PIPELINE}/last-run/stats",
        headers=apitwin.headers("ylem"),
    ).status_code == 200
    SEEN["moved"] = before


def test_4_keeps_real_time(apitwin):
    now = dt.datetime.now(dt.timezone.utc)
    assert abs(clock(apitwin) - now) < dt.timedelta(minutes=5)
    assert abs(SEEN["moved"] - now) < dt.timedelta(minutes=5)  # test 3 moved only its own
    assert start_workflow(apitwin)["status"] == "pending"
"""


WORLDS = ["test_1_writes_in_all_three_apis", "test_2_sees_none_of_it", "test_3_moves_its_clock"]
WORLDS.append("test_4_keeps_real_time")


PARALLEL = """
@pytest.mark.parametrize("n", range(8))
def test_only_its_own_writes(apitwin, n):
    mine = create_workspace(apitwin, f"parallel {n}")
    created = [w for w in workspaces(apitwin) if w["name"].startswith("parallel")]
    assert [w["id"] for w in created] == [mine]
"""


def test_a_world_per_test_under_xdist(tmp_path):
    pytest.importorskip("xdist")
    done, output = run_user_suite(tmp_path, PARALLEL, "-n", "2")
    assert done.returncode == 0, output
    assert passed(output) == 8, output


MARKERS = """
def names(apitwin):
    return [w["name"] for w in workspaces(apitwin)]


def test_1_default(apitwin):
    SEEN["default"] = names(apitwin)
    assert SEEN["default"]


@pytest.mark.apitwin(world="empty")
def test_2_an_empty_world(apitwin):
    assert names(apitwin) == []
    assert workflow_ids(apitwin) == set()


@pytest.mark.apitwin(seed=7)
def test_3_another_seed(apitwin):
    assert names(apitwin) and names(apitwin) != SEEN["default"]
    assert apitwin.reset()["seed"] == 7  # a reset keeps the marker's seed


@pytest.mark.apitwin(seed=7, world="empty")
def test_4_both(apitwin):
    info = apitwin.reset()
    assert (info["seed"], info["world"]) == (7, "empty")


def test_5_default_again(apitwin):
    assert names(apitwin) == SEEN["default"]


@pytest.mark.apitwin(size="huge")
def test_6_a_wrong_marker(apitwin):
    pass
"""


MARKED = ["test_1_default", "test_2_an_empty_world", "test_3_another_seed", "test_4_both"]
MARKED.append("test_5_default_again")


@pytest.fixture(scope="module")
def worlds_and_markers(tmp_path_factory):
    """One user run of both modules above: each starts a twin, and neither needs its own."""
    return run_user_suite(tmp_path_factory.mktemp("plain"), WORLDS_AND_CLOCKS + MARKERS)[1]


def test_a_world_and_a_clock_per_test_on_all_three_apis(worlds_and_markers):
    found = outcomes(worlds_and_markers)
    assert all(found.get(name) == "PASSED" for name in WORLDS), worlds_and_markers


def test_a_marker_chooses_one_tests_seed_and_world(worlds_and_markers):
    output = worlds_and_markers
    found = outcomes(output)
    assert all(found.get(name) == "PASSED" for name in MARKED), output
    assert found.get("test_6_a_wrong_marker") == "ERROR", output
    assert "@pytest.mark.apitwin takes seed, world by keyword, not size" in output
    assert passed(output) == len(WORLDS) + len(MARKED), output  # nothing else ran or failed


def test_a_twin_that_requires_an_admin_token_is_driven_with_it(tmp_path):
    # $APITWIN_ADMIN_TOKEN reaches the twin the plugin starts; the plugin's own admin calls
    # (sessions, clock, reset) must carry it.
    env = {"APITWIN_ADMIN_TOKEN": "plugin-admin-secret"}
    done, output = run_user_suite(tmp_path, WORLDS_AND_CLOCKS + MARKERS, env=env)
    found = outcomes(output)
    assert all(found.get(name) == "PASSED" for name in WORLDS + MARKED), output
    assert found.get("test_6_a_wrong_marker") == "ERROR", output
    assert passed(output) == len(WORLDS) + len(MARKED), output


OPTIONS = """
def test_the_options_world(apitwin):
    assert workspaces(apitwin) == []
    info = apitwin.reset()
    assert (info["seed"], info["world"]) == (5, "empty")
    assert info["epoch"].startswith("2026-11-01")


def test_director_basic_auth(apitwin):
    assert apitwin.headers("director")["Authorization"].startswith("Basic ")
    assert start_workflow(apitwin)["status"] == "pending"
    bare = httpx.get(
        apitwin.base_url("director") + "/api/workflows",
        headers={"X-Twin-Session": apitwin.session},
    )
    assert bare.status_code == 401
"""


def test_options_choose_seed_world_and_epoch(tmp_path):
    options = ["--apitwin-seed", "5", "--apitwin-world", "empty", "--apitwin-epoch", "2026-11-01"]
    options += ["--apitwin-director-basic-auth", "ops:secret"]
    done, output = run_user_suite(tmp_path, OPTIONS, *options)
    assert done.returncode == 0 and passed(output) == 2, output


EXISTING = """
import os


def test_1_uses_the_given_twin(apitwin):
    assert apitwin.url == os.environ["EXPECTED_URL"]
    assert workspaces(apitwin) == []  # --apitwin-world empty, applied to this test's world
    create_workspace(apitwin, "mine")
    assert len(workspaces(apitwin)) == 1


def test_2_sees_a_fresh_world(apitwin):
    assert workspaces(apitwin) == []
"""


def test_an_existing_twin_by_option_or_environment(tmp_path):
    with served_in_thread(TwinOptions()) as url:
        env = {"EXPECTED_URL": url}
        done, output = run_user_suite(
            tmp_path, EXISTING, "--apitwin-url", url, "--apitwin-world", "empty", env=env
        )
        assert done.returncode == 0, output
        env["APITWIN_URL"] = url
        done, output = run_user_suite(tmp_path, EXISTING, "--apitwin-world", "empty", env=env)
        assert done.returncode == 0, output
        # Every test's session is gone, and the twin's own world was never touched.
        assert httpx.get(url + "/_twin/sessions").json()["sessions"] == []
        meiro = httpx.get(url + "/meiro/workspaces", headers={"X-Access-Token": "twin-token"})
        assert meiro.json()["workspaces"] and "mine" not in str(meiro.json())
        # The epoch is the given twin's own: asking for another one is a clear error.
        done, output = run_user_suite(
            tmp_path, EXISTING, "--apitwin-url", url, "--apitwin-epoch", "2026-11-01"
        )
        assert done.returncode != 0 and "apitwin serve --epoch 2026-11-01" in output, output


def test_a_run_without_the_fixture_starts_nothing(tmp_path):
    # An unreachable --apitwin-url fails the first test that uses the fixture, and only it: the
    # plain test of the same run passes, so nothing was started or reached for it.
    body = "def test_plain():\n    assert True\n\n\ndef test_with_it(apitwin):\n    pass\n"
    done, output = run_user_suite(tmp_path, body, "--apitwin-url", "http://127.0.0.1:9")
    assert outcomes(output) == {"test_plain": "PASSED", "test_with_it": "ERROR"}, output
    assert "apitwin: no twin answers at http://127.0.0.1:9" in output, output


def test_the_readme_example_passes_as_written(tmp_path):
    readme = (ROOT / "README.md").read_text()
    start = readme.index("```python\n# test_workspaces.py") + len("```python\n")
    example = readme[start : readme.index("```", start)]
    done, output = run_user_suite(tmp_path, example, prelude="", every_plugin=True)
    assert done.returncode == 0 and passed(output) == 5, output
