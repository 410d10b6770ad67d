"""The `Prefer` request header, as Prism users know it, on every operation of the three APIs.

    Prefer: code=404            the documented response for that status
    Prefer: example=empty       a named documented example (of any status, 2xx first)
    Prefer: dynamic=true        a freshly generated, schema-valid body instead of state
    Prefer: delay=1500          this response, whatever it is, 1.5 s late

Preferences combine (`code=404, dynamic=true`). A canned answer replaces the handler: nothing is
read from or written to state. It comes after security and request validation, so a request the
real API would reject is still rejected; a code or example the operation does not document is a
400 that lists what is documented. Unknown preferences are ignored (RFC 7240). The answer carries
`Preference-Applied`. Dynamic bodies are drawn from a seed made of the world's seed, the operation,
the status and a per-operation counter, so the n-th dynamic answer repeats under the same seed.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re

from starlette.datastructures import Headers, MutableHeaders
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from apitwin.apis.spec_index import Operation, resolve
from apitwin.core import draws
from apitwin.core.errors import BadRequest
from apitwin.pipeline.routed import api_names, has_header, note, routed_operation

MAX_DELAY_MS = 120_000
_PREFERENCE = re.compile(r'\s*([A-Za-z][\w.-]*)\s*(?:=\s*("(?:[^"\\]|\\.)*"|[^,;\s]*))?')


def parse_prefer(values: list[str]) -> dict[str, str]:
    """RFC 7240 preferences (`name[=value][; params]`, comma separated) as name -> value."""
    found: dict[str, str] = {}
    for value in values:
        for item in value.split(","):
            match = _PREFERENCE.match(item.split(";", 1)[0])
            if match and match.group(1):
                raw = match.group(2) or ""
                if raw.startswith('"'):
                    raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
                found.setdefault(match.group(1).lower(), raw)
    return found


@dataclasses.dataclass
class Preferences:
    code: str | None = None
    example: str | None = None
    dynamic: bool = False
    delay_ms: int | None = None

    @property
    def replaces_answer(self) -> bool:
        return self.code is not None or self.example is not None or self.dynamic

    @classmethod
    def from_scope(cls, scope: Scope) -> Preferences:
        """The preferences a request states; a malformed value is a BadRequest."""
        parsed = parse_prefer(Headers(scope=scope).getlist("prefer"))
        prefs = cls()
        if "code" in parsed:
            if not re.fullmatch(r"[1-5]\d\d", parsed["code"]):
                raise BadRequest(f"Prefer code={parsed['code']!r} is not an HTTP status code")
            prefs.code = parsed["code"]
        if "example" in parsed:
            if not parsed["example"]:
                raise BadRequest("Prefer example= needs the name of a documented example")
            prefs.example = parsed["example"]
        if "dynamic" in parsed:
            if parsed["dynamic"] not in ("true", "false"):
                raise BadRequest(f"Prefer dynamic={parsed['dynamic']!r}: use true or false")
            prefs.dynamic = parsed["dynamic"] == "true"
        if "delay" in parsed:
            prefs.delay_ms = parse_delay(parsed["delay"])
            if prefs.delay_ms is None:
                raise BadRequest(
                    f"Prefer delay={parsed['delay']!r}: milliseconds from 0 to {MAX_DELAY_MS}"
                )
        return prefs


def parse_delay(text: str) -> int | None:
    if not text.isdigit() or int(text) > MAX_DELAY_MS:
        return None
    return int(text)


# --- choosing the documented answer -----------------------------------------------------------


def _status_order(code: str) -> tuple:
    return (not code.startswith("2"), code)


def _examples(op: Operation, media: dict) -> dict[str, object]:
    """A media type's examples by name, values resolved ("example" for a lone `example`)."""
    named = {n: resolve(op.spec, e).get("value") for n, e in (media.get("examples") or {}).items()}
    if not named and "example" in media:
        named["example"] = media["example"]
    return named


def _media_choice(candidates: list[str], accept: str) -> str:
    """The candidate an `Accept` header names exactly, else JSON (what the real APIs send)."""
    asked = [part.split(";")[0].strip().lower() for part in accept.split(",")]
    for media_type in asked:
        if media_type in candidates:
            return media_type
    return "application/json" if "application/json" in candidates else candidates[0]


@dataclasses.dataclass
class Answer:
    status: int
    media_type: str | None
    body: object
    headers: dict[str, str]
    example: str | None  # the documented example it shows, if any
    generated: bool  # the body was generated from the schema

    def applied(self, prefs: Preferences) -> str:
        """The `Preference-Applied` value: what of the request's preferences shaped this answer."""
        items = [f"code={prefs.code}"] if prefs.code else []
        items += [f"example={prefs.example}"] if prefs.example else []
        items += ["dynamic=true"] if prefs.dynamic and self.generated else []
        return ", ".join(items)


def _response_for(op: Operation, code: str) -> dict | None:
    responses = op.responses()
    for key in (code, code[0] + "XX", "default"):
        if key in responses:
            return responses[key]
    return None


def _documented_codes(op: Operation) -> str:
    return ", ".join(sorted(op.responses(), key=_status_order))


def choose_answer(op: Operation, prefs: Preferences, accept: str, dynamic_seed) -> Answer:
    """The documented answer `prefs` asks for; BadRequest when the operation documents none."""
    responses = op.responses()
    if prefs.code is not None:
        response = _response_for(op, prefs.code)
        if response is None:
            raise BadRequest(
                f"Prefer code={prefs.code}: {op.operation_id} documents no such response "
                f"(documented: {_documented_codes(op)})"
            )
        candidates = [(prefs.code, response)]
    else:
        ordered = sorted(responses, key=_status_order)
        if prefs.example is None:
            ordered = [c for c in ordered if c.startswith("2")][:1] or ordered[:1]
        candidates = [(c, responses[c]) for c in ordered if c[0].isdigit() and c.isdigit()]

    for code, response in candidates:
        content = response.get("content") or {}
        if prefs.example is not None:
            holding = [mt for mt, media in content.items() if prefs.example in _examples(op, media)]
            if not holding:
                continue
            media_type = _media_choice(holding, accept)
        else:
            media_type = _media_choice(list(content), accept) if content else None
        return _answer(op, int(code), response, media_type, prefs, dynamic_seed)

    names = sorted(
        {
            name
            for code, response in candidates
            for media in (response.get("content") or {}).values()
            for name in _examples(op, media)
        }
    )
    where = f"the {prefs.code} response of " if prefs.code else ""
    raise BadRequest(
        f"Prefer example={prefs.example}: {where}{op.operation_id} has no example of that name "
        f"(documented: {', '.join(names) or 'none'})"
    )


def _answer(op, status, response, media_type, prefs, dynamic_seed) -> Answer:
    body, example, generated = None, None, False
    if media_type is not None:
        media = response["content"][media_type]
        examples = _examples(op, media)
        schema = media.get("schema")
        if prefs.example is not None:
            example, body = prefs.example, examples[prefs.example]
        elif schema is not None and (prefs.dynamic or not examples):
            from apitwin.pipeline import (
                dynamic,  # loads the generator only when a body is generated
            )

            body, generated = dynamic.generate(op.spec, schema, dynamic_seed(status)), True
        elif examples:
            # The documents' own example first (decision G4 names it "documented").
            example = "documented" if "documented" in examples else next(iter(examples))
            body = examples[example]
    headers = _documented_headers(op, response)
    return Answer(status, media_type, body, headers, example, generated)


def _documented_headers(op: Operation, response: dict) -> dict[str, str]:
    headers = {}
    for name, header in (response.get("headers") or {}).items():
        header = resolve(op.spec, header)
        schema = resolve(op.spec, header.get("schema") or {})
        if "example" in header:
            value = header["example"]
        elif header.get("examples"):
            value = resolve(op.spec, next(iter(header["examples"].values()))).get("value")
        elif "example" in schema:
            value = schema["example"]
        elif schema.get("enum"):
            value = schema["enum"][0]
        elif "default" in schema:
            value = schema["default"]
        else:
            continue  # nothing documented to send
        if name.lower() != "content-type":
            headers[name] = str(value)
    return headers


def _encode(answer: Answer) -> bytes:
    if answer.media_type is None or answer.body is None and not answer.generated:
        return b""
    if answer.media_type.endswith("json") and not isinstance(answer.body, bytes):
        return json.dumps(answer.body).encode()
    return answer.body if isinstance(answer.body, bytes) else str(answer.body).encode()


# --- middleware --------------------------------------------------------------------------------


class PreferMiddleware:
    """After routing, security and validation: answers `code`, `example`, `dynamic`."""

    def __init__(self, app: ASGIApp, twin) -> None:
        self.app = app
        self.twin = twin
        self.api_names = api_names(twin.options)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        op = None
        if scope["type"] == "http" and has_header(scope, b"prefer"):
            op = routed_operation(scope, self.api_names)
        if op is None:
            await self.app(scope, receive, send)
            return
        prefs = Preferences.from_scope(scope)  # raises BadRequest for a malformed value
        if not prefs.replaces_answer:
            await self.app(scope, receive, send)
            return
        world = self.twin.world()

        def dynamic_seed(status: int) -> int:
            count = world.store.next_id(f"prefer.dynamic:{op.api}:{op.operation_id}:{status}")
            key = (op.api, op.operation_id, status, count)
            return draws.rng(world.seed, "prefer", *key).getrandbits(32)

        accept = Headers(scope=scope).get("accept", "")
        answer = choose_answer(op, prefs, accept, dynamic_seed)
        applied = answer.applied(prefs)
        note(scope, "prefer", applied)
        headers = {**answer.headers, "Preference-Applied": applied}
        if answer.example:
            headers["X-Twin-Example"] = answer.example
        response = Response(
            _encode(answer),
            status_code=answer.status,
            headers=headers,
            media_type=answer.media_type,
        )
        await response(scope, receive, send)


class PreferDelayMiddleware:
    """Outside everything else: `delay=MS` slows any answer of the three APIs, errors included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or not has_header(scope, b"prefer")
            or scope["path"].startswith("/_twin")
        ):
            await self.app(scope, receive, send)
            return
        delay = parse_prefer(Headers(scope=scope).getlist("prefer")).get("delay")
        delay_ms = parse_delay(delay) if delay is not None else None
        if not delay_ms:
            await self.app(scope, receive, send)  # a malformed value gets its 400 after routing
            return
        await asyncio.sleep(delay_ms / 1000)

        async def mark(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                applied = headers.get("preference-applied")
                item = f"delay={delay_ms}"
                headers["Preference-Applied"] = f"{applied}, {item}" if applied else item
            await send(message)

        note(scope, "delay_ms", delay_ms)
        await self.app(scope, receive, mark)
