"""Every uvicorn internal the twin relies on, in one place: a deadline on each request's head.

uvicorn's httptools protocol (what `apitwin serve` runs, on uvloop) closes a kept-alive
connection idle between requests, but waits for ever for the head (request line and headers) of
a request: sockets that open and never finish their headers are held until the process runs out
of file descriptors (21,000 did it, measured). `protocol(seconds)` gives the protocol to pass as
uvicorn's `http=`: it closes a connection whose request head is not complete `seconds` after the
connection opened, or after the next request's first byte on a kept-alive one. A request begun
is answered 408 first; a socket that sent nothing is only closed (it asked nothing).

What it relies on (uvicorn.protocols.http.httptools_impl.HttpToolsProtocol; checked by name in
tests/test_uvicorn_adapter.py, so an upgrade that changes one fails there, loudly):
- `Config(http=...)` takes a callable besides a name; the server calls it with the keywords
  `config`, `server_state`, `app_state`, `_loop` for each connection (a functools.partial of a
  module-level class pickles, so `--workers` hands it to its spawned workers);
- `connection_made`, `connection_lost` and `data_received`, and the parser callbacks
  `on_message_begin` and `on_headers_complete`, which httptools looks up on the protocol;
- the attributes `loop`, `transport`, `cycle` (the request in flight, with `response_complete`),
  `pipeline` (pipelined requests queued behind it) and `server_state.default_headers`;
- `log_config()`: uvicorn's LOGGING_CONFIG, and the access log record's arguments (client,
  method, path with query, HTTP version, status): `--log-level info` printed a token request's
  `client_secret` from its query string; the access lines now carry the journal's redaction.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import logging

from uvicorn.config import LOGGING_CONFIG
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from apitwin.pipeline.journal import redacted_query

__all__ = ["HeadDeadline", "RedactedAccessLog", "log_config", "protocol"]

_BODY = b"Request head not received in time"
_TIMED_OUT = b"HTTP/1.1 408 Request Timeout\r\n"


def protocol(header_timeout: float):
    """What to pass as uvicorn's `http=`: the twin's protocol with this head deadline."""
    return functools.partial(HeadDeadline, header_timeout=header_timeout)


class HeadDeadline(HttpToolsProtocol):
    def __init__(self, *args, header_timeout: float, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.header_timeout = header_timeout
        self._deadline: asyncio.TimerHandle | None = None
        self._head_begun = False

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        # Bytes while no request is in flight start the wait for a head (blank lines too: they
        # begin no request, and would otherwise hold a kept-alive connection open for ever).
        if self._deadline is None and (self.cycle is None or self.cycle.response_complete):
            self._arm()
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_begun = True
        if self._deadline is None:  # a pipelined head, behind a request in flight
            self._arm()

    def on_headers_complete(self) -> None:
        self._head_begun = False
        self._disarm()
        super().on_headers_complete()

    def _arm(self) -> None:
        self._deadline = self.loop.call_later(self.header_timeout, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if (self.cycle is not None and not self.cycle.response_complete) or self.pipeline:
            # A pipelined head waits while earlier answers are written: not the client's delay.
            self._arm()
            return
        if self._head_begun:
            head = [_TIMED_OUT]
            head += [b"%s: %s\r\n" % pair for pair in self.server_state.default_headers]
            head.append(b"content-type: text/plain; charset=utf-8\r\n")
            head.append(b"content-length: %d\r\nconnection: close\r\n\r\n" % len(_BODY))
            self.transport.write(b"".join(head) + _BODY)
        self.transport.close()


class RedactedAccessLog(logging.Filter):
    """Credential-like query values in uvicorn's access lines shown as the journal shows them."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            path, mark, query = args[2].partition("?")
            if mark:
                shown = f"{path}?{redacted_query(query.encode('latin-1', 'replace'))}"
                record.args = (*args[:2], shown, *args[3:])
        return True


def log_config() -> dict:
    """uvicorn's logging configuration (what `log_config=` takes; a dict, so `--workers`
    hands it to its spawned workers) with the access lines redacted."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redacted"] = {"()": RedactedAccessLog}
    config["handlers"]["access"].setdefault("filters", []).append("redacted")
    return config
