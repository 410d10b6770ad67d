"""Scale-out: `apitwin serve --workers N`, and several processes sharing one world in Redis.

The storm: one server with two workers and one more replica on the same Redis, 12 client threads
each creating, changing, running jobs on and deleting Meiro workspaces (and starting a Ylem run),
every request sent to one server or the other in turn. Afterwards every acknowledged write must be
readable, with its content, from both servers, and history must hold every change in order.
Bounded in requests and in time; the figures are printed, not asserted.
"""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from support import CREDENTIALS, PIPELINE, TEST_EPOCH, clear_world, redis_db

from apitwin.serve.process import TwinProcess

pytestmark = pytest.mark.slow  # starts processes of its own

M = "/meiro"
TOKEN = {"X-Access-Token": "twin-token"}
# Enough threads to keep all three processes busy with interleaved writes; each request is read
# back from both servers afterwards, which costs more than the storm itself.
THREADS = 12
ROUNDS = 2  # per thread; 18 requests a round, and 2 to Ylem: 456 requests in all
MIN_REQUESTS = 300  # what a storm cut short by its time cap must still have sent
STORM_CAP_S = 120.0
CONTENDED_CHANGES = 12  # per thread, alternating between two workspaces and the servers
FROZEN_AT = "2026-11-20T10:00:00Z"
PAST_THE_END = 400  # longer than any queue wait plus run time a Meiro job draws


def _children(pid: int) -> list[int]:
    """Processes whose parent is `pid` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rpartition(")")[2].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def _gone(pids: list[int], within: float = 15.0) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(_alive(pid) for pid in pids):
            return True
        time.sleep(0.1)
    return False


# --- the command ---------------------------------------------------------------------------


def test_workers_refuse_the_memory_store(capsys):
    """In process: the refusal comes before anything is built or bound."""
    from apitwin.cli import build_parser

    # A port held here: were the refusal gone, the start would stop at the bind, not serve.
    with socket.create_server(("127.0.0.1", 0)) as held:
        port = str(held.getsockname()[1])
        args = build_parser().parse_args(["serve", "--workers", "2", "--port", port])
        code = args.run(args)
    printed = capsys.readouterr()
    assert code == 2
    assert printed.out == ""
    [line] = printed.err.strip().splitlines()
    assert "diverge" in line and "--store file:PATH" in line and "redis://" in line


def test_workers_share_one_file_world_print_once_and_stop_with_the_server(tmp_path):
    server = TwinProcess(
        "--workers", "2", "--store", f"file:{tmp_path / 'state.db'}", ready_timeout=60
    )
    server.start()
    try:
        workers = _children(server.pid)
        # uvicorn's supervisor: two workers (and multiprocessing's resource tracker).
        assert len(workers) >= 2
        with httpx.Client(base_url=server.url, headers=TOKEN, timeout=10) as client:
            # Fresh connections are spread over the workers: all of them see each write.
            made = client.post(f"{M}/workspaces", json={"name": "shared"}).json()["workspace"]
            for _ in range(8):
                with httpx.Client(base_url=server.url, headers=TOKEN, timeout=10) as fresh:
                    read = fresh.get(f"{M}/workspaces/{made['id']}")
                    assert read.status_code == 200 and read.json()["workspace"]["name"] == "shared"
        # SIGTERM to the server alone (as a service manager sends it): the workers go too.
        os.kill(server.pid, signal.SIGTERM)
        server.proc.wait(timeout=30)
        assert _gone(workers), "workers outlived their server"
    finally:
        output = server.stop()
    assert output.count("listening on") == 1, output
    assert "2 workers" in output


def test_stop_leaves_no_worker_behind_even_after_a_crash(tmp_path):
    with TwinProcess(
        "--workers", "2", "--store", f"file:{tmp_path / 'state.db'}", ready_timeout=60
    ) as server:
        workers = _children(server.pid)
        assert len(workers) >= 2
        server.proc.send_signal(signal.SIGKILL)  # the supervisor dies; its workers would not
        server.proc.wait(timeout=10)
        assert any(_alive(pid) for pid in workers)
    # TwinProcess.stop (the with block) stopped the whole process group.
    assert _gone(workers), "orphaned workers left running"


# --- the storm -----------------------------------------------------------------------------


@dataclass
class Ledger:
    """What the servers acknowledged (2xx) to one thread."""

    workspaces: dict[int, list[str]] = field(default_factory=dict)  # id -> names, in order
    descriptions: dict[int, str] = field(default_factory=dict)
    deleted: set[int] = field(default_factory=set)
    jobs: dict[int, int] = field(default_factory=dict)  # job id -> workspace id
    canceled: set[int] = field(default_factory=set)
    ylem_rows: list[dict] = field(default_factory=list)
    requests: int = 0
    errors: list[str] = field(default_factory=list)


class Storm:
    def __init__(self, urls: list[str], shared: list[int], deadline: float) -> None:
        self.urls = urls
        self.shared = shared  # workspaces every thread runs jobs on at once
        self.deadline = deadline

    def run(self, n: int, ledger: Ledger) -> None:
        clients = [httpx.Client(base_url=url, headers=TOKEN, timeout=30) for url in self.urls]
        turn = n

        def send(method: str, path: str, expect: int, **kwargs) -> httpx.Response | None:
            nonlocal turn
            turn += 1
            ledger.requests += 1
            try:
                answer = clients[turn % len(clients)].request(method, path, **kwargs)
            except httpx.HTTPError as exc:
                ledger.errors.append(f"{method} {path}: {exc!r}")
                return None
            if answer.status_code != expect:
                ledger.errors.append(f"{method} {path}: {answer.status_code} {answer.text[:200]}")
                return None
            return answer

        try:
            self._ylem(n, ledger, send)
            for round_ in range(ROUNDS):
                if time.monotonic() > self.deadline:
                    break
                self._round(n, round_, ledger, send)
        finally:
            for client in clients:
                client.close()

    def _ylem(self, n: int, ledger: Ledger, send) -> None:
        # A token issued by one server is honoured by the other: tokens live in the store.
        issued = send("POST", "/ylem/v1/oauth/token", 200, params=CREDENTIALS)
        if issued is None:
            return
        bearer = {"Authorization": f"Bearer {issued.json()['access_token']}"}
        started = send("POST", f"/ylem/v1/pipelines/{PIPELINE}/runs/", 201, headers=bearer)
        if started is not None:
            ledger.ylem_rows += started.json()

    def _round(self, n: int, round_: int, ledger: Ledger, send) -> None:
        made = []
        for k in range(3):
            name = f"storm {n}.{round_}.{k}"
            created = send("POST", f"{M}/workspaces", 201, json={"name": name})
            if created is not None:
                workspace_id = created.json()["workspace"]["id"]
                ledger.workspaces[workspace_id] = [name]
                made.append(workspace_id)
        for workspace_id in made:
            for version in (1, 2):
                name = f"{ledger.workspaces[workspace_id][0]} v{version}"
                text = f"by thread {n}, version {version}"
                changed = send(
                    "PATCH",
                    f"{M}/workspaces/{workspace_id}",
                    200,
                    json={"name": name, "description": text},
                )
                if changed is not None:
                    assert changed.json()["workspace"]["name"] == name
                    ledger.workspaces[workspace_id].append(name)
                    ledger.descriptions[workspace_id] = text
        for workspace_id in [*made[:2], self.shared[n % len(self.shared)]]:
            for _ in range(2):
                ran = send("POST", f"{M}/workspaces/{workspace_id}/jobs", 201)
                if ran is not None:
                    ledger.jobs[ran.json()["workspace_job"]["id"]] = workspace_id
        for job_id, workspace_id in list(ledger.jobs.items())[-6::3]:  # cancel a few
            path = f"{M}/workspaces/{workspace_id}/jobs/{job_id}"
            if send("DELETE", path, 200) is not None:
                ledger.canceled.add(job_id)
        if made and send("DELETE", f"{M}/workspaces/{made[-1]}", 200) is not None:
            ledger.deleted.add(made[-1])


def _run_clients(client) -> float:
    """Runs `client(n)` on THREADS threads at once; the seconds they took. None may hang."""
    threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(THREADS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=STORM_CAP_S + 60)
    assert not any(thread.is_alive() for thread in threads), "a client thread hung"
    return time.perf_counter() - started


def _ok(answer: httpx.Response) -> dict:
    assert answer.status_code == 200, f"{answer.request.url}: {answer.status_code} {answer.text}"
    return answer.json()


@pytest.fixture(scope="module")
def scaled_out(redis_url):
    """Two servers on one Redis world: `--workers 2`, and a single-process replica."""
    url = redis_db(redis_url, 2)
    clear_world(url)
    common = ("--store", url, "--epoch", TEST_EPOCH)
    with (
        TwinProcess("--workers", "2", *common, ready_timeout=90) as first,
        TwinProcess(*common, ready_timeout=90) as replica,
    ):
        yield [first.url, replica.url]
    clear_world(url)


def test_two_servers_on_redis_share_one_consistent_world_under_a_storm(scaled_out):
    urls = scaled_out
    with httpx.Client(base_url=urls[0], headers=TOKEN, timeout=30) as admin:
        assert admin.post("/_twin/reset", json={}).status_code == 200
        frozen = admin.post("/_twin/clock", json={"freeze": True, "set": FROZEN_AT})
        assert frozen.status_code == 200
        shared = [
            admin.post(f"{M}/workspaces", json={"name": f"shared {i}"}).json()["workspace"]["id"]
            for i in range(4)
        ]
    # The other server sees the reset, the frozen clock and the new workspaces at once.
    with httpx.Client(base_url=urls[1], headers=TOKEN, timeout=30) as other:
        assert _ok(other.get("/_twin/clock")) == {"now": FROZEN_AT, "frozen": True}
        assert _ok(other.get(f"{M}/workspaces/{shared[0]}"))["workspace"]["name"] == "shared 0"

    storm = Storm(urls, shared, time.monotonic() + STORM_CAP_S)
    ledgers = [Ledger() for _ in range(THREADS)]
    elapsed = _run_clients(lambda n: storm.run(n, ledgers[n]))

    requests = sum(ledger.requests for ledger in ledgers)
    errors = [error for ledger in ledgers for error in ledger.errors]
    print(
        f"\nstorm: {requests} requests from {THREADS} threads to 2 servers (3 processes) on "
        f"Redis in {elapsed:.1f} s: {requests / elapsed:.0f} req/s, {len(errors)} errors"
    )
    assert not errors, errors[:5]
    assert requests >= MIN_REQUESTS  # the storm did run (a time cap cut it no shorter)

    workspaces = [w for ledger in ledgers for w in ledger.workspaces]
    jobs = [j for ledger in ledgers for j in ledger.jobs]
    rows = [row for ledger in ledgers for row in ledger.ylem_rows]
    # Every id the servers handed out is unique.
    assert len(set(workspaces)) == len(workspaces), Counter(workspaces).most_common(3)
    assert len(set(jobs)) == len(jobs), Counter(jobs).most_common(3)
    assert len({row["id"] for row in rows}) == len(rows)
    assert len({row["workflow_run_uuid"] for row in rows}) == THREADS

    checked = time.perf_counter()
    for url in urls:  # everything acknowledged, read back from each server
        with httpx.Client(base_url=url, headers=TOKEN, timeout=30) as client:
            _check_workspaces(client, ledgers)
            _check_jobs(client, ledgers, shared)
    # The job lifecycles, once the (shared) clock is past every end.
    with httpx.Client(base_url=urls[0], timeout=30) as admin:
        advanced = admin.post("/_twin/clock", json={"advance_seconds": PAST_THE_END})
        assert advanced.status_code == 200
    for url in urls:
        with httpx.Client(base_url=url, headers=TOKEN, timeout=30) as client:
            _check_job_histories(client, ledgers)
    print(f"read back from both servers in {time.perf_counter() - checked:.1f} s")


def _check_workspaces(client: httpx.Client, ledgers: list[Ledger]) -> None:
    trash = _ok(client.get(f"{M}/workspaces/trash", params={"limit": 100_000}))[
        "trashed_workspaces"
    ]
    trashed = {workspace["id"]: workspace["name"] for workspace in trash}
    for ledger in ledgers:
        for workspace_id, names in ledger.workspaces.items():
            path = f"{M}/workspaces/{workspace_id}"
            if workspace_id in ledger.deleted:
                assert client.get(path).status_code == 404, f"deleted {workspace_id} still there"
                assert trashed[workspace_id] == names[-1]
                continue
            workspace = _ok(client.get(path))["workspace"]
            assert workspace["name"] == names[-1]
            assert workspace["description"] == ledger.descriptions.get(workspace_id, "")
            # History: the current state, then every state a change replaced, oldest first.
            entries = _ok(client.get(path + "/history", params={"limit": 50}))["history_list"]
            assert [entry["workspace"]["name"] for entry in entries] == [names[-1], *names[:-1]]
            # Each stored entry links to the one stored before it, the current state to the last.
            current, *stored = entries
            assert [e["id"] for e in stored] == sorted(e["id"] for e in stored)
            links = [e.get("previous_history", {}).get("id") for e in (*stored, current)]
            assert links == [None, *(e["id"] for e in stored)]


def _check_jobs(client: httpx.Client, ledgers: list[Ledger], shared: list[int]) -> None:
    by_workspace: dict[int, set[int]] = {}
    for ledger in ledgers:
        for job_id, workspace_id in ledger.jobs.items():
            by_workspace.setdefault(workspace_id, set()).add(job_id)
    deleted = {w for ledger in ledgers for w in ledger.deleted}
    canceled = {j for ledger in ledgers for j in ledger.canceled}
    for workspace_id, job_ids in by_workspace.items():
        if workspace_id in deleted:
            continue
        listed = _ok(client.get(f"{M}/workspaces/{workspace_id}/jobs", params={"limit": 1000}))[
            "workspace_jobs"
        ]
        # Every job run on the workspace, from any thread through either server, is listed.
        assert {job["id"] for job in listed} == job_ids
        for job in listed:
            expected = "canceled" if job["id"] in canceled else "waiting"
            assert job["status"] == expected, (job["id"], job["status"])
    assert shared[0] in by_workspace and len(by_workspace[shared[0]]) >= 2 * ROUNDS


def _check_job_histories(client: httpx.Client, ledgers: list[Ledger]) -> None:
    for ledger in ledgers:
        for job_id, workspace_id in ledger.jobs.items():
            if workspace_id in ledger.deleted:
                continue
            path = f"{M}/workspaces/{workspace_id}/jobs/{job_id}"
            job = _ok(client.get(path))["workspace_job"]
            statuses = list(job["stats"]["statuses_history"])
            if job_id in ledger.canceled:
                assert statuses == ["waiting", "canceled"], (job_id, statuses)
            else:
                assert statuses[:2] == ["waiting", "running"] and len(statuses) == 3
                assert statuses[2] in {"finished", "error"}
            # The history: one stored entry per status before the current one, in order.
            entries = _ok(client.get(path + "/history", params={"limit": 50}))["history_list"]
            assert entries[0]["id"] is None and entries[0]["workspace_job"] == job
            assert [e["workspace_job"]["status"] for e in entries[1:]] == statuses[:-1]
            stored = [e["id"] for e in entries[1:]]
            assert stored == sorted(stored)


def test_changes_to_one_workspace_from_every_client_are_all_kept_in_order(scaled_out):
    """12 threads change the same two workspaces through both servers at once: the per-workspace
    lock must hold across processes, or changes are lost or history links cross."""
    urls = scaled_out
    with httpx.Client(base_url=urls[0], headers=TOKEN, timeout=30) as admin:
        targets = [
            admin.post(f"{M}/workspaces", json={"name": f"contended {i}"}).json()["workspace"]["id"]
            for i in range(2)
        ]
    sent: list[list[tuple[int, str]]] = [[] for _ in range(THREADS)]
    errors: list[str] = []
    deadline = time.monotonic() + STORM_CAP_S

    def change(n: int) -> None:
        clients = [httpx.Client(base_url=url, headers=TOKEN, timeout=30) for url in urls]
        try:
            for k in range(CONTENDED_CHANGES):
                if time.monotonic() > deadline:
                    return
                target, name = targets[k % 2], f"contended by {n} #{k}"
                try:
                    answer = clients[(n + k) % 2].patch(
                        f"{M}/workspaces/{target}", json={"name": name}
                    )
                except httpx.HTTPError as exc:
                    errors.append(repr(exc))
                    continue
                if answer.status_code != 200:
                    errors.append(f"{answer.status_code} {answer.text[:200]}")
                    continue
                sent[n].append((target, name))
        finally:
            for client in clients:
                client.close()

    elapsed = _run_clients(change)
    done = sum(len(mine) for mine in sent)
    print(f"\ncontended: {done} changes to 2 workspaces in {elapsed:.1f} s, {len(errors)} errors")
    assert not errors, errors[:5]

    for i, target in enumerate(targets):
        acked = [name for mine in sent for t, name in mine if t == target]
        for url in urls:
            with httpx.Client(base_url=url, headers=TOKEN, timeout=30) as client:
                path = f"{M}/workspaces/{target}/history"
                current, *stored = _ok(client.get(path, params={"limit": 10_000}))["history_list"]
            # Every acknowledged change is there once: each replaced state is stored, in order.
            names = [e["workspace"]["name"] for e in stored] + [current["workspace"]["name"]]
            assert sorted(names) == sorted([f"contended {i}", *acked])
            assert names[0] == f"contended {i}"
            links = [e.get("previous_history", {}).get("id") for e in (*stored, current)]
            assert links == [None, *(e["id"] for e in stored)]
            for mine in sent:  # each client's own changes in the order it made them
                own = [name for t, name in mine if t == target]
                assert [name for name in names if name in set(own)] == own
