"""Grows a twin's store through its own API: N POSTs, answered 201 each, as fast as it takes them.

wrk runs for a duration, not a count, so this small HTTP/1.1 client does the counted part: a few
keep-alive connections each send a batch of requests back to back (pipelining) and then read the
answers, so the client is not what limits the rate. Bounded in count and in time.
"""

from __future__ import annotations

import asyncio
import collections
import time
from urllib.parse import urlsplit

BATCH = 64


def _request(host: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def _read_answer(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = None
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length is None:
        raise RuntimeError("an answer without Content-Length (the loader reads no other framing)")
    await reader.readexactly(length)
    return status


async def _connection(
    host, port, request: bytes, count: int, deadline: float
) -> collections.Counter:
    statuses: collections.Counter = collections.Counter()
    reader, writer = await asyncio.open_connection(host, port)
    try:
        left = count
        while left:
            if time.monotonic() > deadline:
                raise TimeoutError("growing the store took longer than allowed")
            batch = min(left, BATCH)
            writer.write(request * batch)
            await writer.drain()
            for _ in range(batch):
                statuses[await asyncio.wait_for(_read_answer(reader), 30)] += 1
            left -= batch
    finally:
        writer.close()
    return statuses


async def _grow(url, path, headers, body, count, connections, deadline) -> collections.Counter:
    parts = urlsplit(url)
    request = _request(parts.netloc, path, headers, body)
    shares = [count // connections + (i < count % connections) for i in range(connections)]
    counters = await asyncio.gather(
        *(_connection(parts.hostname, parts.port, request, n, deadline) for n in shares if n)
    )
    return sum(counters, collections.Counter())


def post_many(
    base_url: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
    count: int,
    *,
    connections: int = 4,
    timeout: float = 300.0,
) -> float:
    """Sends `count` POSTs; returns the seconds taken. Raises unless every answer was a 201."""
    if count <= 0:
        return 0.0
    started = time.monotonic()
    statuses = asyncio.run(
        _grow(base_url, path, headers, body, count, connections, started + timeout)
    )
    if set(statuses) != {201}:
        raise RuntimeError(f"growing the store: answers {dict(statuses)}, expected only 201")
    return time.monotonic() - started
