"""The connection guard: who makes room past the limit, and the open-files limit."""

from __future__ import annotations

import asyncio
import logging
import resource
from collections.abc import Iterator

import pytest
from aiohttp import web

from highlightd.web.guard import (
    ConnectionGuard,
    GuardedSite,
    _Guarded,
    connection_limit,
    raise_open_files_limit,
)


class Transport(asyncio.Transport):
    """Just enough of a socket transport to see whether it was aborted."""

    def __init__(self) -> None:
        super().__init__()
        self.aborted = False

    def abort(self) -> None:
        self.aborted = True


class Handler(asyncio.Protocol):
    """Stands for aiohttp's RequestHandler: records what reaches it, and has its flag
    for a request being served (the real one's is tried below)."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self._request_in_progress = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.events.append("made")

    def data_received(self, data: bytes) -> None:
        self.events.append(data.decode())

    def connection_lost(self, exc: Exception | None) -> None:
        self.events.append("lost")


def connect(guard: ConnectionGuard) -> tuple[_Guarded, Handler, Transport]:
    handler, transport = Handler(), Transport()
    conn = guard.protocol_factory(lambda: handler)()
    assert isinstance(conn, _Guarded)
    conn.connection_made(transport)
    return conn, handler, transport


def test_past_the_limit_the_oldest_idle_connection_makes_room() -> None:
    dropped: list[str] = []
    guard = ConnectionGuard(2, dropped.append)
    old, old_handler, old_transport = connect(guard)
    busy, busy_handler, _ = connect(guard)
    old_handler._request_in_progress = busy_handler._request_in_progress = True
    # Both are serving a request: nobody is closed, the newcomer is refused.
    _, refused_handler, refused = connect(guard)
    assert refused.aborted and refused_handler.events == []
    assert dropped == ["full"]
    old_handler._request_in_progress = False
    _, new_handler, new_transport = connect(guard)
    assert old_transport.aborted and not new_transport.aborted
    assert dropped == ["full", "evicted"]
    assert guard.open == 2
    old.connection_lost(None)  # the abort's consequence, later
    assert old_handler.events == ["made", "lost"]
    assert new_handler.events == ["made"]
    busy.data_received(b"GET / HTTP/1.1\r\n")
    assert busy_handler.events == ["made", "GET / HTTP/1.1\r\n"]


async def test_a_connection_aiohttp_is_serving_is_kept_and_an_idle_one_makes_room() -> None:
    dropped: list[str] = []
    guard = ConnectionGuard(2, dropped.append)
    entered, release = asyncio.Event(), asyncio.Event()

    async def slow(request: web.Request) -> web.Response:
        entered.set()
        await release.wait()
        return web.Response(text="done")

    app = web.Application()
    app.router.add_get("/", slow)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = GuardedSite(runner, "127.0.0.1", 0, guard)
    await site.start()
    port = runner.addresses[0][1]
    try:
        busy_reader, busy = await asyncio.open_connection("127.0.0.1", port)
        busy.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        await entered.wait()  # aiohttp's handler is serving it
        idle_reader, idle = await asyncio.open_connection("127.0.0.1", port)
        _third_reader, third = await asyncio.open_connection("127.0.0.1", port)
        async with asyncio.timeout(10):  # a failure, not a hang
            assert await idle_reader.read() == b""  # closed to make room: not the busy one
            assert dropped == ["evicted"]
            release.set()
            assert (await busy_reader.readline()).startswith(b"HTTP/1.1 200")
        for writer in (busy, idle, third):
            writer.close()
    finally:
        await runner.cleanup()


def test_one_idle_connection_is_not_closed_twice() -> None:
    dropped: list[str] = []
    guard = ConnectionGuard(2, dropped.append)
    _, _, first = connect(guard)
    _, _, second = connect(guard)
    connect(guard)  # closes first
    connect(guard)  # before first's connection_lost came: closes second, not first again
    assert first.aborted and second.aborted
    assert dropped == ["evicted", "evicted"]


def test_the_connection_limit_stays_under_the_open_files_limit(
    caplog: pytest.LogCaptureFixture,
) -> None:
    assert connection_limit(1000, 20_000) == 1000
    assert caplog.records == []
    assert connection_limit(1000, 1024) == 924
    assert caplog.messages == [
        "web.max_connections lowered from 1000 to 924: the open-files limit is 1024"
    ]


@pytest.fixture
def lowered_soft_limit() -> Iterator[int]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard <= 256:
        pytest.skip(f"the hard open-files limit ({hard}) leaves nothing to raise")
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))
    try:
        yield hard
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_the_soft_open_files_limit_is_raised_to_the_hard_one(
    lowered_soft_limit: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    raised = raise_open_files_limit()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert raised == soft == hard
    assert caplog.records == []
