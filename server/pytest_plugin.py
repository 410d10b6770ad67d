"""The `apitwin` pytest fixture: one twin for the test session, a world of its own for each test.

Installed with the package (the `pytest11` entry point `apitwin`), nothing to configure:

    def test_a_workspace(apitwin):
        url, headers = apitwin.base_url("meiro"), apitwin.headers("meiro")
        httpx.post(f"{url}/workspaces", json={"name": "mine"}, headers=headers)

Each test's requests carry an `X-Twin-Session` name of its own (worker id, process id and a hash
of the test's node id), so it gets a fresh copy of the seeded world, also under pytest-xdist;
the session is dropped when the test ends. pytest loads this module in every run of anyone who
installed apitwin: it imports nothing heavy and starts nothing until a test asks for the fixture.
"""

from __future__ import annotations

import os

import pytest

URL_VARIABLE = "APITWIN_URL"
SESSION_HEADER = "X-Twin-Session"
BASE_PATHS = {"ylem": "/ylem/v1", "director": "/director", "meiro": "/meiro"}
# The seeded world's credentials (apitwin.options.TwinOptions; not imported, to stay light).
YLEM_CLIENT = {"client_id": "twin-client", "client_secret": "twin-secret"}
MEIRO_TOKEN = "twin-token"
WORLDS = ("empty", "standard", "large")
MARKER_ARGUMENTS = ("seed", "world")


def pytest_addoption(parser) -> None:
    group = parser.getgroup("apitwin", "apitwin (the apitwin fixture)")
    group.addoption(
        "--apitwin-url",
        metavar="URL",
        help=f"use the twin serving at URL (`apitwin serve`, all three APIs) instead of starting "
        f"one; or ${URL_VARIABLE} (default: start one on a free 127.0.0.1 port)",
    )
    group.addoption(
        "--apitwin-seed",
        type=int,
        metavar="N",
        help="seed of every test's world (default: the twin's, 1337)",
    )
    group.addoption(
        "--apitwin-world",
        choices=WORLDS,
        help="size of every test's world (default: the twin's, standard)",
    )
    group.addoption(
        "--apitwin-epoch",
        metavar="YYYY-MM-DD",
        help="day the seeded history ends, for the twin started here (default: today, UTC)",
    )
    group.addoption(
        "--apitwin-director-basic-auth",
        metavar="USER:PASS",
        help="Director basic auth: the twin started here requires it, headers('director') "
        "sends it (default: Director open)",
    )


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers",
        "apitwin(seed=N, world='empty'|'standard'|'large'): the world this test's apitwin "
        "fixture starts from",
    )


class _Server:
    """The session's twin: started here (`process`) or given by URL."""

    def __init__(self, url: str, process=None) -> None:
        import httpx

        from apitwin.options import admin_headers

        self.url = url.rstrip("/")
        self.process = process
        # The admin token the twin requires, if any: the one it was started with, or $APITWIN_...
        headers = process.admin_headers if process is not None else admin_headers()
        self.client = httpx.Client(base_url=self.url, timeout=30.0, headers=headers)

    def close(self) -> None:
        self.client.close()
        if self.process is not None:
            self.process.stop()


@pytest.fixture(scope="session")
def _apitwin_server(request, tmp_path_factory):
    config = request.config
    url = config.getoption("apitwin_url") or os.environ.get(URL_VARIABLE)
    epoch = config.getoption("apitwin_epoch")
    if url:
        if epoch:
            pytest.fail(
                "--apitwin-epoch sets the epoch of a twin started by the plugin; start the one "
                f"at {url} with `apitwin serve --epoch {epoch}`",
                pytrace=False,
            )
        server = _Server(url)
        try:
            server.client.get("/_twin/clock").raise_for_status()
        except Exception as exc:
            server.close()
            pytest.fail(f"apitwin: no twin answers at {url}: {exc}", pytrace=False)
    else:
        from apitwin.serve.process import TwinProcess

        args = []
        for option, flag in (
            ("apitwin_seed", "--seed"),
            ("apitwin_world", "--world"),
            ("apitwin_epoch", "--epoch"),
            ("apitwin_director_basic_auth", "--director-basic-auth"),
        ):
            value = config.getoption(option)
            if value is not None:
                args += [flag, str(value)]
        log = tmp_path_factory.mktemp("apitwin") / "twin.log"
        # A large world takes several seconds to build on a busy machine.
        process = TwinProcess(*args, ready_timeout=120.0, output=log).start()
        server = _Server(process.url, process)
    yield server
    server.close()


class ApiTwin:
    """What a test sees: the twin's URLs, and its own world's headers, clock and reset."""

    def __init__(
        self, server: _Server, session: str, basic_auth: str | None, start: dict | None = None
    ) -> None:
        self.url = server.url
        self.session = session
        self._start = start or {}  # the marker's (or options') seed and world
        self._client = server.client
        self._basic_auth = basic_auth
        self._token: str | None = None

    def base_url(self, api: str) -> str:
        """The API's documented root on the twin: ylem -> URL/ylem/v1, director -> URL/director,
        meiro -> URL/meiro."""
        return self.url + BASE_PATHS[_known(api)]

    def headers(self, api: str) -> dict[str, str]:
        """Headers that carry this test's world and a valid credential for the API: a Bearer
        token issued in this world for Ylem, X-Access-Token for Meiro, basic auth for Director
        if --apitwin-director-basic-auth is given."""
        headers = {SESSION_HEADER: self.session}
        api = _known(api)
        if api == "ylem":
            headers["Authorization"] = f"Bearer {self._ylem_token()}"
        elif api == "meiro":
            headers["X-Access-Token"] = MEIRO_TOKEN
        elif self._basic_auth:
            import base64

            encoded = base64.b64encode(self._basic_auth.encode()).decode()
            headers["Authorization"] = f"Basic {encoded}"
        return headers

    def admin(self, method: str, path: str, **kwargs):
        """A request to the admin API (`/_twin/...`) in this test's world; the httpx answer."""
        headers = {**kwargs.pop("headers", {}), SESSION_HEADER: self.session}
        return self._client.request(method, "/_twin" + path, headers=headers, **kwargs)

    def advance(self, seconds: float) -> dict:
        """Moves this test's clock forward (only this test's world); the clock after."""
        return self._clock({"advance_seconds": seconds})

    def freeze(self, at: str | None = None) -> dict:
        """Stops this test's clock (at `at`, ISO 8601, if given); the clock after."""
        return self._clock({"freeze": True, **({"set": at} if at else {})})

    def reset(self, seed: int | None = None, world: str | None = None) -> dict:
        """Back to a fresh world: of this seed and size, else the ones the test started with;
        its clock back to real time. Answers the world's seed, epoch and size."""
        given = {k: v for k, v in (("seed", seed), ("world", world)) if v is not None}
        body = {**self._start, **given}
        self._token = None  # tokens belong to the world that issued them
        return _ok(self.admin("POST", "/reset", json=body))

    def _clock(self, change: dict) -> dict:
        self._token = None  # a token may have expired on the moved clock
        return _ok(self.admin("POST", "/clock", json=change))

    def _ylem_token(self) -> str:
        if self._token is None:
            answer = self._client.post(
                BASE_PATHS["ylem"] + "/oauth/token",
                params={"grant_type": "client_credentials", **YLEM_CLIENT},
                headers={SESSION_HEADER: self.session},
            )
            self._token = _ok(answer)["access_token"]
        return self._token

    def _drop(self) -> None:
        answer = self._client.delete(f"/_twin/sessions/{self.session}")
        if answer.status_code not in (204, 404):  # 404: the test never used its world
            answer.raise_for_status()


def _known(api: str) -> str:
    if api not in BASE_PATHS:
        raise ValueError(f"unknown API {api!r}: one of {', '.join(BASE_PATHS)}")
    return api


def _ok(answer) -> dict:
    if answer.status_code != 200:
        raise AssertionError(
            f"apitwin: {answer.request.method} {answer.request.url} answered "
            f"{answer.status_code}: {answer.text}"
        )
    return answer.json()


_sessions = 0


def _session_name(nodeid: str) -> str:
    """Unique per test, per process and per xdist worker: `pytest-gw1-4242-1a2b3c4d5e6f7a8b`."""
    import hashlib

    global _sessions
    _sessions += 1
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    worker = "".join(c for c in worker if c.isalnum())[:8] or "main"
    digest = hashlib.sha256(f"{nodeid}\0{_sessions}".encode()).hexdigest()[:16]
    return f"pytest-{worker}-{os.getpid()}-{digest}"


@pytest.fixture
def apitwin(request, _apitwin_server):
    """This test's world on the session's twin, fresh from the seed; see ApiTwin."""
    config = request.config
    wanted = {}
    marker = request.node.get_closest_marker("apitwin")
    if marker is not None:
        unknown = sorted(set(marker.kwargs) - set(MARKER_ARGUMENTS)) + [*map(repr, marker.args)]
        if unknown:
            pytest.fail(
                f"@pytest.mark.apitwin takes {', '.join(MARKER_ARGUMENTS)} by keyword, "
                f"not {', '.join(unknown)}",
                pytrace=False,
            )
        wanted = dict(marker.kwargs)
    if _apitwin_server.process is None:  # a twin given by URL: the options act per test
        for name in MARKER_ARGUMENTS:
            value = config.getoption(f"apitwin_{name}")
            if value is not None:
                wanted.setdefault(name, value)
    twin = ApiTwin(
        _apitwin_server,
        _session_name(request.node.nodeid),
        config.getoption("apitwin_director_basic_auth"),
        wanted,
    )
    try:
        if wanted:
            twin.reset(**wanted)
        yield twin
    finally:
        twin._drop()
