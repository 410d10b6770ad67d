"""The system under test: a twin started for the run (the default) or any server by URL."""

from __future__ import annotations

import contextlib
import dataclasses

import httpx

from apitwin.serve.process import TwinProcess

from .auth import TargetError
from .profiles import ApiProfile

TWIN, URL = "twin", "url"
# A twin target's world and clock are fixed: its history ends on this day and its clock stands
# still there, so the same --seed sends the same requests AND gets the same answers (a job's
# state would otherwise depend on the wall clock, and with it which follow-up calls run).
TWIN_EPOCH = "2026-11-01"


@dataclasses.dataclass
class Target:
    kind: str  # TWIN or URL
    base_url: str
    twin: TwinProcess | None = None


@contextlib.contextmanager
def open_target(profile: ApiProfile, kind: str, base_url: str | None, twin_args=()):
    """Yields a Target; a twin started here is always stopped on the way out."""
    if kind == URL:
        yield Target(URL, base_url.rstrip("/"))
        return
    with started_twin(profile, twin_args) as twin:
        yield Target(TWIN, twin.url + profile.twin_root, twin)


@contextlib.contextmanager
def started_twin(profile: ApiProfile, twin_args=()):
    """The twin a run targets by default: one API, its world and clock fixed (TWIN_EPOCH)."""
    twin = TwinProcess("--api", profile.name, "--epoch", TWIN_EPOCH, *twin_args)
    try:
        twin.start()
        frozen = httpx.post(
            twin.url + "/_twin/clock",
            json={"freeze": True, "set": f"{TWIN_EPOCH}T00:00:00Z"},
            headers=twin.admin_headers,
            timeout=10.0,
        )
        frozen.raise_for_status()
    except (RuntimeError, httpx.HTTPError) as exc:
        twin.stop()
        raise TargetError(f"could not start a {profile.name} twin: {exc}") from None
    try:
        yield twin
    finally:
        twin.stop()


def check_reachable(base_url: str, timeout: float) -> None:
    """Any HTTP answer will do; a refused connection, a DNS failure or a timeout will not."""
    try:
        httpx.get(base_url, timeout=timeout)
    except httpx.HTTPError as exc:
        reason = str(exc) or type(exc).__name__
        raise TargetError(f"cannot reach {base_url}: {reason}") from None


def _probe_path(raw_spec: dict) -> str | None:
    """A GET that needs credentials and no parameters: where a credential check costs nothing."""
    global_security = raw_spec.get("security")
    for path, item in raw_spec.get("paths", {}).items():
        get = item.get("get")
        if get is None or "{" in path:
            continue
        parameters = [*item.get("parameters", []), *get.get("parameters", [])]
        if any(p.get("required") for p in parameters if "$ref" not in p):
            continue
        if get.get("security", global_security) == []:
            continue
        return path
    return None


def check_credentials_accepted(
    raw_spec: dict, base_url: str, headers: dict[str, str], timeout: float
) -> None:
    """401/403 on a plain read means the credentials (or their absence) are wrong for this API."""
    path = _probe_path(raw_spec)
    if path is None:
        return
    try:
        response = httpx.get(base_url + path, headers=headers, timeout=timeout)
    except httpx.HTTPError as exc:
        raise TargetError(f"cannot reach {base_url}: {exc}") from None
    if response.status_code in (401, 403):
        given = "the credentials given" if headers else "no credentials"
        raise TargetError(
            f"{base_url}{path} answered {response.status_code} with {given}: "
            "check --token / --basic-auth (or the APITWIN_* environment variables)"
        )
