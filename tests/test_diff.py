"""`apitwin diff` end to end: a recording replayed against a twin of the same seed (no
difference) and against a contract-breaking upstream (each break found), and live diffs between
twins of different seeds for the three APIs (no difference)."""

from __future__ import annotations

import contextlib
import datetime
import io
import json

import httpx
import pytest
from breaker import BrokenDeployment, DropField, RetypeField, WrongStatus
from support import CLI_CREDENTIALS, served_in_thread

from apitwin.conformance import diff_cli, har
from apitwin.conformance.profiles import PROFILES
from apitwin.conformance.target import TWIN_EPOCH
from apitwin.options import DEFAULT_SEED, TwinOptions, admin_headers

pytestmark = pytest.mark.slow  # starts twins

TOKEN = {"X-Access-Token": "twin-token"}
SECRETS = ("twin-token", "twin-secret")


def diff(*args: str, tmp_path) -> tuple[int, str, dict | None]:
    report = tmp_path / "diff.json"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = diff_cli.main([*args, "--report", str(report)])
    data = json.loads(report.read_text()) if report.exists() else None
    return code, printed.getvalue(), data


def record(base: str, path, headers: dict[str, str]) -> None:
    """A Meiro session, as the proxy or a browser would record it: list, create, read it back,
    change it, its jobs, filtered lists. The twin first makes one workspace that is not
    recorded, so a fresh twin of the same seed gives the recorded one another id: replaying
    the follow-ups right needs the ids carried from the recorded answers to the target's."""
    entries = []
    with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
        assert client.post("/workspaces", json={"name": "unrecorded"}).status_code == 201

        def call(method, url, **kwargs):
            response = client.request(method, url, **kwargs)
            entries.append(har.entry(_exchange(response)))
            return response

        call("GET", "/workspaces")
        created = call("POST", "/workspaces", json={"name": "Q3 report", "description": "d"})
        workspace = created.json()["workspace"]["id"]
        call("GET", f"/workspaces/{workspace}")
        call("PATCH", f"/workspaces/{workspace}", json={"name": "Q4 report"})
        call("POST", f"/workspaces/{workspace}/jobs")
        call("GET", f"/workspaces/{workspace}/jobs")
        call("GET", "/workspace_jobs", params={"limit": 3})
        call("GET", "/favicon.ico")  # not an API operation: skipped
    har.write(path, entries)


@pytest.fixture(scope="module")
def twins():
    """`twins(api, seed)`: the URL of the module's one twin of that API, reset to the world of
    `seed` (state and counters as a twin started with --seed SEED has them) for each test;
    `target=True`: another one, as `apitwin diff` starts its side B (its epoch, its clock frozen
    there). The twins' apps are served in this process (these tests are about the diff, not the
    twin's process), each started when first asked for: a start costs more than a test's
    requests."""
    started: dict[tuple[str, bool], str] = {}
    with contextlib.ExitStack() as stack:
        admin = stack.enter_context(httpx.Client(headers=admin_headers(), timeout=10))

        def twin(api: str, seed: int, target: bool = False) -> str:
            if (api, target) not in started:
                options = TwinOptions(api=api, epoch=TWIN_EPOCH if target else None)
                started[api, target] = stack.enter_context(served_in_thread(options))
            url = started[api, target]
            reset = admin.post(url + "/_twin/reset", json={"seed": seed})
            assert reset.status_code == 200 and reset.json()["seed"] == seed, reset.text
            if target:
                frozen = {"freeze": True, "set": f"{TWIN_EPOCH}T00:00:00Z"}
                admin.post(url + "/_twin/clock", json=frozen).raise_for_status()
            return url

        yield twin


@pytest.fixture(scope="module")
def recording(tmp_path_factory, twins):
    path = tmp_path_factory.mktemp("har") / "meiro.har"
    record(twins("meiro", 11), path, TOKEN)
    assert "twin-token" not in path.read_text()  # redacted on the way out
    return path


def test_a_recording_against_a_twin_of_the_same_seed_shows_no_difference(recording, tmp_path):
    code, out, report = diff(
        "--api", "meiro", "--replay", str(recording), "--twin-seed", "11", tmp_path=tmp_path
    )
    assert code == 0, out
    assert report["compared"] == 7 and report["differences"] == 0 and report["items"] == []
    assert report["skipped"] == ["#8 GET /favicon.ico: no operation of the spec"]
    assert "7 requests compared" in out


@pytest.mark.parametrize(
    "fault, expected",
    [
        (
            RetypeField("GET", r"/workspaces/\d+", pointer="workspace/id", value="one"),
            ("structure", "workspace.id", "workspace.id: number in A, string in B"),
        ),
        (
            DropField("POST", "/workspaces", pointer="workspace/user_id"),
            ("structure", "workspace.user_id", "workspace.user_id: only in A"),
        ),
        (
            WrongStatus("PATCH", r"/workspaces/\d+", status=202),
            ("status", "", "status 200 in A, 202 in B"),
        ),
        (
            RetypeField("POST", "/workspaces", pointer="workspace/name", value="renamed"),
            (
                "value",
                "workspace.name",
                "workspace.name: the request's 'Q3 report' in A, 'renamed' in B",
            ),
        ),
    ],
    ids=["changed-type", "dropped-field", "other-status", "echo-changed"],
)
def test_a_breaking_upstream_shows_each_break(recording, tmp_path, fault, expected, twins):
    # The target's new workspace gets another id than the recorded one: carried over.
    with BrokenDeployment(twins("meiro", 11), [fault]) as broken:
        code, out, report = diff(
            "--api", "meiro", "--replay", str(recording), "--target", broken.url,
            "--token", "twin-token", tmp_path=tmp_path,
        )  # fmt: skip
    assert code == 1, out
    found = [
        (d["kind"], d["path"], d["message"])
        for item in report["items"]
        for d in item["differences"]
    ]
    assert found == [expected], out
    (item,) = report["items"]
    assert item["curl"].startswith("curl -X ") and broken.url in item["curl"]
    assert "x-access-token: [REDACTED]" in item["curl"].lower().replace("[redacted]", "[REDACTED]")
    assert item["a"]["status"] and item["b"]["status"]
    assert expected[2] in out and item["curl"] in out
    assert not any(secret in out + json.dumps(report) for secret in SECRETS)


@pytest.mark.parametrize("api", ["ylem", "director", "meiro"])
def test_live_twins_of_different_seeds_show_no_difference(api, tmp_path, twins):
    base = twins(api, 7) + PROFILES[api].twin_root
    code, out, report = diff(
        "--api", api, "--base-url", base, *CLI_CREDENTIALS[api], "--max-examples", "2",
        "--seed", "1", tmp_path=tmp_path,
    )  # fmt: skip
    assert code == 0, out
    assert report["differences"] == 0 and report["compared"] >= 20, out
    assert "link" in out and "example" in out  # the links were followed, the examples sent
    assert not any(secret in out + json.dumps(report) for secret in SECRETS)


def test_live_finds_a_break_between_deployment_and_twin(tmp_path, twins):
    fault = DropField("GET", r"/workspaces/\d+", pointer="workspace/name")
    # The twin (B) as --target: the live tests above start theirs.
    target = twins("meiro", DEFAULT_SEED, target=True)
    with BrokenDeployment(twins("meiro", 7), [fault]) as broken:
        code, out, report = diff(
            "--api", "meiro", "--base-url", broken.url, "--target", target,
            *CLI_CREDENTIALS["meiro"], "--max-examples", "1", "--seed", "1", tmp_path=tmp_path,
        )  # fmt: skip
    assert code == 1, out
    paths = {d["path"] for item in report["items"] for d in item["differences"]}
    assert paths == {"workspace.name"}, out
    # Read after a create (a link): the created workspace's id was carried from A to B.
    assert any(item["origin"].startswith("link") for item in report["items"]), out


def _exchange(response: httpx.Response) -> har.Exchange:
    return har.Exchange(
        method=response.request.method,
        url=str(response.request.url),
        request_headers=list(response.request.headers.items()),
        request_body=response.request.content,
        status=response.status_code,
        response_headers=list(response.headers.items()),
        response_body=response.content,
        started=datetime.datetime.now(datetime.UTC),
    )


def test_a_ylem_recording_is_reauthorised_with_the_targets_client(tmp_path, twins):
    """The recording's client secret and Bearer tokens are redacted: the replay fetches its own
    token from the target and sends the target's client on the token endpoint."""
    pipeline = "5c0b8a3e-7f4d-4e9a-8c21-1d6f3b2a9e40"  # the documented pipeline
    client = {"grant_type": "client_credentials", "client_id": "twin-client"}
    client["client_secret"] = "twin-secret"
    path = tmp_path / "ylem.har"
    twin = twins("ylem", DEFAULT_SEED)
    with httpx.Client(base_url=twin, timeout=10) as c:
        issued = c.post("/v1/oauth/token", params=client)
        token = issued.json()["access_token"]
        c.headers["Authorization"] = f"Bearer {token}"
        started = c.post(f"/v1/pipelines/{pipeline}/runs/")
        stats = c.get(f"/v1/stats/pipelines/{pipeline}/last-run/stats")
    assert [r.status_code for r in (issued, started, stats)] == [200, 201, 200]
    har.write(path, [har.entry(_exchange(r)) for r in (issued, started, stats)])
    assert "twin-secret" not in path.read_text() and token not in path.read_text()
    # The replay's target: the same twin, reset to the world the recording started from.
    target = twins("ylem", DEFAULT_SEED) + PROFILES["ylem"].twin_root
    code, out, report = diff(
        "--api", "ylem", "--replay", str(path), "--target", target, *CLI_CREDENTIALS["ylem"],
        tmp_path=tmp_path,
    )  # fmt: skip
    assert code == 0, out
    assert report["compared"] == 3 and report["differences"] == 0, out
    assert not any(secret in out + json.dumps(report) for secret in SECRETS)


def test_an_unreachable_deployment_is_a_usage_error(tmp_path, capsys, twins):
    # A running twin as the target (B): only the deployment (A) is unreachable.
    target = twins("director", DEFAULT_SEED) + PROFILES["director"].twin_root
    code, out, report = diff(
        "--api", "director", "--base-url", "http://127.0.0.1:9", "--target", target,
        tmp_path=tmp_path,
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and report is None and err.count("\n") == 1
    assert "cannot reach http://127.0.0.1:9" in err, err
