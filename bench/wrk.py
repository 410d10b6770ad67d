"""Runs wrk (Debian's package) for one load: a Lua script per request shape, a parsed result.

Every run is bounded by its duration, with a subprocess timeout on top in case wrk hangs.
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import tempfile

_SCRIPT = """
wrk.method = {method}
wrk.body = {body}
{headers}
"""
# A load over several paths: each thread's requests go through them in turn.
_CYCLE = """
local paths = {{{paths}}}
local turn = 0
request = function()
  turn = turn % #paths + 1
  return wrk.format(nil, paths[turn])
end
"""

_UNIT = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def _lua_string(text: str) -> str:
    # JSON string escapes are valid Lua string escapes for the characters used here.
    return json.dumps(text)


@dataclasses.dataclass(frozen=True)
class Load:
    """One request shape: what wrk sends, over and over."""

    method: str
    path: str
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    body: str = ""
    # Paths the requests go through in turn (writes spread over several resources); `path` is
    # the first of them.
    paths: tuple[str, ...] = ()

    def under(self, root: str) -> Load:
        """The same request to a server that mounts the API at `root` (apitwin's /v1 for Ylem)."""
        return dataclasses.replace(
            self, path=root + self.path, paths=tuple(root + path for path in self.paths)
        )

    def each(self) -> list[Load]:
        """One load per path it goes through."""
        return [dataclasses.replace(self, path=p, paths=()) for p in self.paths] or [self]

    def script(self) -> str:
        headers = "\n".join(
            f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in self.headers.items()
        )
        script = _SCRIPT.format(
            method=_lua_string(self.method),
            body=_lua_string(self.body) if self.body else "nil",
            headers=headers,
        )
        if self.paths:
            script += _CYCLE.format(paths=", ".join(map(_lua_string, self.paths)))
        return script


@dataclasses.dataclass(frozen=True)
class Result:
    requests: int
    seconds: float
    rps: float
    p50_ms: float
    p99_ms: float
    non_2xx: int
    socket_errors: int

    @property
    def ok(self) -> int:
        return self.requests - self.non_2xx


def _latency(text: str, percentile: str) -> float:
    match = re.search(rf"^\s+{percentile}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
    if not match:
        raise ValueError(f"wrk printed no {percentile}% latency:\n{text}")
    return float(match.group(1)) * _UNIT[match.group(2)]


def parse(text: str) -> Result:
    done = re.search(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m)", text, re.M)
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.M)
    if not done or not rps:
        raise ValueError(f"unexpected wrk output:\n{text}")
    seconds = float(done.group(2)) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[done.group(3)]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text
    )
    return Result(
        requests=int(done.group(1)),
        seconds=seconds,
        rps=float(rps.group(1)),
        p50_ms=_latency(text, "50"),
        p99_ms=_latency(text, "99"),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
    )


def run(
    base_url: str,
    load: Load,
    *,
    seconds: float,
    connections: int,
    threads: int,
) -> Result:
    """wrk against base_url + load.path for `seconds`."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="bench-") as script:
        script.write(load.script())
        script.flush()
        command = [
            "wrk",
            f"-t{threads}",
            f"-c{max(connections, threads)}",
            f"-d{max(int(round(seconds)), 1)}s",
            "--timeout",
            "5s",
            "--latency",
            "-s",
            script.name,
            base_url + load.path,
        ]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=seconds + 30, check=False
        )
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr or done.stdout}")
    return parse(done.stdout)
