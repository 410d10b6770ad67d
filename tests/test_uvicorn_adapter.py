"""The uvicorn internals serve/uvicorn_adapter.py leans on still behave as assumed: a real
uvicorn Server (in this process, on uvloop, on a loopback port) with the twin's protocol.

A uvicorn upgrade that renames or changes one of them fails here, by name, instead of as sockets
silently held open again. The twin's own process is tested in test_limits_process.py.
"""

from __future__ import annotations

import asyncio
import pickle
import socket
import time

import uvicorn
import uvloop
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.server import ServerState

from apitwin.serve.uvicorn_adapter import HeadDeadline, protocol

DEADLINE = 0.3
SLACK = 1.0
HTTP = protocol(DEADLINE)
PING = b"GET /ping HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"


async def _app(scope, receive, send):
    if scope["type"] != "http":
        return
    if scope["path"] == "/slow":
        await asyncio.sleep(DEADLINE * 2)
    body = scope["path"].encode()
    length = [(b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": length})
    await send({"type": "http.response.body", "body": body})


def _run(test) -> None:
    """`test(port)` against a uvicorn Server with the twin's protocol, on uvloop."""

    async def main():
        sock = socket.create_server(("127.0.0.1", 0))
        config = uvicorn.Config(_app, http=HTTP, lifespan="off", log_level="warning", loop="none")
        server = uvicorn.Server(config)
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        try:
            while not server.started:
                assert not serving.done(), serving.exception()
                await asyncio.sleep(0.01)
            await asyncio.wait_for(test(sock.getsockname()[1]), 10)
        finally:
            server.should_exit = True
            await asyncio.wait_for(serving, 10)

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main())


async def _read_until_closed(reader: asyncio.StreamReader) -> tuple[bytes, float]:
    started = time.monotonic()
    data = await asyncio.wait_for(reader.read(), DEADLINE + SLACK)
    return data, time.monotonic() - started


def test_the_hooks_the_adapter_relies_on_are_there():
    for name in (
        "connection_made",
        "connection_lost",
        "data_received",
        "on_message_begin",
        "on_headers_complete",
    ):
        assert callable(getattr(HttpToolsProtocol, name, None)), f"HttpToolsProtocol.{name}"
    config = uvicorn.Config(_app, http=protocol(DEADLINE))
    config.load()  # takes a callable as `http`, as it is
    assert config.http_protocol_class.func is HeadDeadline
    loop = asyncio.new_event_loop()
    try:
        made = config.http_protocol_class(
            config=config, server_state=ServerState(), app_state={}, _loop=loop
        )
    finally:
        loop.close()
    for name in ("loop", "transport", "cycle", "pipeline", "server_state"):
        assert hasattr(made, name), f"HttpToolsProtocol().{name}"
    assert isinstance(made.server_state.default_headers, list)
    assert "response_complete" in RequestResponseCycle.__init__.__code__.co_names
    # `--workers` pickles uvicorn's Config to its spawned workers, `http` with it.
    assert pickle.loads(pickle.dumps(protocol(2.5))).keywords == {"header_timeout": 2.5}


def test_a_head_begun_and_not_finished_is_a_408_then_closed():
    async def test(port):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET /ping HT")
        data, waited = await _read_until_closed(reader)
        assert data.startswith(b"HTTP/1.1 408 Request Timeout\r\n"), data
        assert b"connection: close" in data
        assert DEADLINE * 0.8 < waited < DEADLINE + SLACK
        writer.close()

    _run(test)


def test_a_socket_that_sends_nothing_is_closed_without_an_answer():
    async def test(port):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        data, waited = await _read_until_closed(reader)
        assert data == b"" and DEADLINE * 0.8 < waited < DEADLINE + SLACK
        writer.close()

    _run(test)


def test_a_slow_complete_head_is_answered_and_blank_lines_after_it_are_not_kept():
    async def test(port):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for part in (b"GET /ping HTTP/1.1\r\n", b"Host: 127.0.0.1\r\n", b"\r\n"):
            writer.write(part)
            await asyncio.sleep(DEADLINE / 4)
        answer = await asyncio.wait_for(reader.readuntil(b"/ping"), SLACK)
        assert answer.startswith(b"HTTP/1.1 200 OK")
        writer.write(PING)  # kept alive: the next request on the same connection
        again = await asyncio.wait_for(reader.readuntil(b"/ping"), SLACK)
        assert again.startswith(b"HTTP/1.1 200")
        writer.write(b"\r\n")  # begins no request, but starts the wait for one
        data, waited = await _read_until_closed(reader)
        assert data == b"" and waited < DEADLINE + SLACK
        writer.close()

    _run(test)


def test_a_pipelined_head_waits_for_the_answers_before_it():
    async def test(port):
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(PING.replace(b"/ping", b"/slow") + b"GET /pi")  # the answer outlasts it
        answer = await asyncio.wait_for(reader.readuntil(b"/slow"), DEADLINE * 2 + SLACK)
        assert answer.startswith(b"HTTP/1.1 200 OK"), answer
        data, _ = await _read_until_closed(reader)
        assert data.startswith(b"HTTP/1.1 408"), data  # then the unfinished head's own deadline
        writer.close()

    _run(test)
