"""Fault rules (`/_twin/faults`): latency, failures and dropped connections on chosen operations.

A rule names an API and/or an operationId (neither: every operation of the three APIs) and one
effect:
- `latency`: wait `latency_ms` before the operation runs;
- `status`: answer `status` with the API's native error body instead of running the operation;
- `drop`: close the connection without an answer.
By default a rule applies to every matching call; `times: N` limits it to the next N matching
calls, `rate: 0.25` to a fraction of them. Whether call k of rule r fires under `rate` is a pure
function of (world seed, r, k), so a run repeats exactly under the same seed. Rules live in the
world's store: `POST /_twin/reset` clears them, and every worker sharing the store sees them.

Rules act right after routing, before security and validation: they stand for the network and
the gateway in front of the real API, which fail whatever the request says.
"""

from __future__ import annotations

import asyncio
import math

from starlette.types import ASGIApp, Receive, Scope, Send

from apitwin.apis import APIS
from apitwin.apis.spec_index import operation_index
from apitwin.core import draws
from apitwin.core.errors import BadRequest, NotFound, TwinError
from apitwin.pipeline.routed import api_names, note, routed_operation

COLLECTION = "faults"
SEQUENCE = "faults"
EFFECTS = ("latency", "status", "drop")
# The raw ASGI `send` of the server, kept by ConnectionStash for dropping a connection.
RAW_SEND = "apitwin.raw_send"


def check_rule(body: dict) -> dict:
    """A stored rule from a request body the admin spec already validated field by field."""
    effect = body["effect"]
    api, operation_id = body.get("api"), body.get("operation_id")
    if effect == "latency" and "latency_ms" not in body:
        raise BadRequest("a latency rule needs latency_ms")
    if effect == "status" and "status" not in body:
        raise BadRequest("a status rule needs status")
    if "latency_ms" in body and effect != "latency":
        raise BadRequest("latency_ms belongs to latency rules only")
    if "status" in body and effect != "status":
        raise BadRequest("status belongs to status rules only")
    if "times" in body and "rate" in body:
        raise BadRequest("give times (the next N calls) or rate (a fraction of calls), not both")
    # JSON parsers take NaN, which passes the spec's bounds (every comparison with it is false).
    for name in ("rate", "latency_ms"):
        if name in body and not math.isfinite(body[name]):
            raise BadRequest(f"{name} must be a finite number")
    if operation_id is not None:
        apis = [api] if api else list(APIS)
        if not any(operation_id in operation_index(name) for name in apis):
            where = f"the {api} API" if api else "any API"
            raise BadRequest(f"operation_id {operation_id!r} is not an operation of {where}")
    return {
        "api": api,
        "operation_id": operation_id,
        "effect": effect,
        "latency_ms": body.get("latency_ms"),
        "status": body.get("status"),
        "times": body.get("times"),
        "rate": body.get("rate"),
        "matched": 0,
        "fired": 0,
    }


def public(rule: dict) -> dict:
    """A rule as the admin API shows it: with what is left of it."""
    remaining = None if rule["times"] is None else max(rule["times"] - rule["fired"], 0)
    return {**rule, "remaining": remaining, "active": remaining != 0}


class FaultBook:
    """The rules of one world."""

    def __init__(self, world) -> None:
        self.world = world
        self.store = world.store

    def add(self, body: dict) -> dict:
        rule = check_rule(body)
        with self.store.lock(COLLECTION):
            rule = {"id": self.store.next_id(SEQUENCE), **rule}
            self.store.put(COLLECTION, rule["id"], rule)
        return public(rule)

    def all(self) -> list[dict]:
        return [public(rule) for rule in sorted(self.store.scan(COLLECTION), key=_by_id)]

    def get(self, fault_id: int) -> dict:
        rule = self.store.get(COLLECTION, fault_id)
        if rule is None:
            raise NotFound(f"no fault rule {fault_id}")
        return public(rule)

    def delete(self, fault_id: int) -> dict:
        rule = self.get(fault_id)
        self.store.delete(COLLECTION, fault_id)
        return rule

    def clear(self) -> int:
        with self.store.lock(COLLECTION):
            rules = list(self.store.scan(COLLECTION))
            for rule in rules:
                self.store.delete(COLLECTION, rule["id"])
        return len(rules)

    def decide(self, api: str, operation_id: str) -> tuple[int, dict | None]:
        """For one call: total latency (ms) and the failing rule that fires, if any."""
        latency, failing = 0, None
        with self.store.lock(COLLECTION):
            for rule in sorted(self.store.scan(COLLECTION), key=_by_id):
                if rule["api"] not in (None, api) or rule["operation_id"] not in (
                    None,
                    operation_id,
                ):
                    continue
                if rule["effect"] != "latency" and failing is not None:
                    continue  # one failure per call; later rules do not count this call
                if rule["times"] is not None and rule["fired"] >= rule["times"]:
                    continue
                rule["matched"] += 1
                fires = rule["rate"] is None or (
                    draws.rng(self.world.seed, "fault", rule["id"], rule["matched"]).random()
                    < rule["rate"]
                )
                if fires:
                    rule["fired"] += 1
                    if rule["effect"] == "latency":
                        latency += rule["latency_ms"]
                    else:
                        failing = rule
                self.store.put(COLLECTION, rule["id"], rule)
        return latency, failing


def _by_id(rule: dict) -> int:
    return rule["id"]


class FaultInjected(TwinError):
    """A `status` rule fired: rendered like any error of that API (native body, problem+json)."""


async def drop_connection(scope: Scope) -> None:
    """Closes the client's connection with no answer at all.

    ASGI has no way to abort a connection, so this reaches the server's transport through the
    `send` callable uvicorn gave the app (a bound method of its request cycle). Under another
    server it raises, which answers 500.
    """
    cycle = getattr(scope.get(RAW_SEND), "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise RuntimeError("this ASGI server offers no transport to drop the connection on")
    transport.close()
    # Let uvicorn see the connection is gone, so it does not try to answer on it.
    for _ in range(20):
        if getattr(cycle, "disconnected", True):
            break
        await asyncio.sleep(0)


class FaultMiddleware:
    """After routing, before security: applies the rules that match the routed operation."""

    def __init__(self, app: ASGIApp, twin) -> None:
        self.app = app
        self.twin = twin
        self.api_names = api_names(twin.options)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        world = self.twin.world()
        op = None
        if scope["type"] == "http" and world.store.count(COLLECTION):
            op = routed_operation(scope, self.api_names)
        if op is None:
            await self.app(scope, receive, send)
            return
        latency, failing = FaultBook(world).decide(op.api, op.operation_id)
        if latency:
            note(scope, "fault_latency_ms", latency)
            await asyncio.sleep(latency / 1000)
        if failing is None:
            await self.app(scope, receive, send)
            return
        note(scope, "fault", f"rule {failing['id']}: {failing['effect']}")
        if failing["effect"] == "drop":
            note(scope, "dropped", True)
            await drop_connection(scope)
            return
        error = FaultInjected(
            f"Fault injected by apitwin (rule {failing['id']}): {failing['status']}",
            status=failing["status"],
        )
        error.headers["X-Twin-Fault"] = str(failing["id"])
        raise error


class ConnectionStash:
    """Outermost: keeps the server's own `send` in the scope (for `drop`), and gives the scope
    one shared `extensions` dict, so what inner layers note is seen by outer ones."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope.setdefault("extensions", {})
            scope[RAW_SEND] = send
        await self.app(scope, receive, send)
