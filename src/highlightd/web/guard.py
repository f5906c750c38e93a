"""Slow and numerous clients: a cap on open connections, and enough file descriptors.

aiohttp's server has no limit on connections, and no timeout for a request header
of its own (its keep-alive timeout, which we set to web.header_timeout, closes a
connection that has not sent a whole request by then). A client that opens
connections faster than that closes them could still take every file descriptor,
and with them /healthz and Twilio's webhooks. So the listening socket is guarded:
at web.max_connections, the oldest connection not being served (a slow or idle
one) is closed to make room, and only when every one is busy is the new one refused.
"""

from __future__ import annotations

import asyncio
import logging
import resource
from collections.abc import Callable
from typing import cast

from aiohttp import web

log = logging.getLogger(__name__)

# File descriptors kept for everything else: the database, Redis, IRC, logs.
RESERVED_FDS = 100
BACKLOG = 1024


class ConnectionGuard:
    """Counts open connections and makes room, oldest idle first, past the limit."""

    def __init__(self, limit: int, on_drop: Callable[[str], None]) -> None:
        self.limit = limit
        self._on_drop = on_drop  # told "evicted" (closed for room) or "full" (refused)
        # By aiohttp's handler for the connection, oldest first (dicts keep order).
        self._open: dict[asyncio.BaseProtocol, _Guarded] = {}

    @property
    def open(self) -> int:
        return len(self._open)

    def protocol_factory(
        self, inner: Callable[[], asyncio.BaseProtocol]
    ) -> Callable[[], asyncio.Protocol]:
        """The factory for the listening socket: aiohttp's own, each one guarded."""
        return lambda: _Guarded(self, inner())

    def admit(self, conn: _Guarded) -> bool:
        """A new connection: make room for it if need be; False when there is none."""
        if len(self._open) >= self.limit:
            idle = next((c for h, c in self._open.items() if not serving(h)), None)
            if idle is None:
                self._on_drop("full")
                return False
            idle.close_now()
            self._on_drop("evicted")
        self._open[conn.inner] = conn
        return True

    def closed(self, conn: _Guarded) -> None:
        self._open.pop(conn.inner, None)


def serving(handler: asyncio.BaseProtocol) -> bool:
    """Whether aiohttp's handler for a connection is serving a request now: from the end
    of its header until its answer is written. Read from aiohttp's own flag (see
    docs/library-notes.md): a middleware marking it costs every request some 10-20 us."""
    return bool(getattr(handler, "_request_in_progress", False))


class _Guarded(asyncio.Protocol):
    """aiohttp's protocol for one connection, seen by the guard on its way in and out."""

    def __init__(self, guard: ConnectionGuard, inner: asyncio.BaseProtocol) -> None:
        if not isinstance(inner, asyncio.Protocol):
            raise TypeError(f"expected a streaming protocol, got {type(inner).__name__}")
        self._guard = guard
        self.inner = inner
        self._transport: asyncio.Transport | None = None
        self._admitted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # create_server: a stream
        if not self._guard.admit(self):
            self._transport.abort()
            return
        self._admitted = True
        self.inner.connection_made(transport)

    def close_now(self) -> None:
        self._guard.closed(self)  # at once: the next newcomer must not pick it again
        if self._transport is not None:
            self._transport.abort()

    def connection_lost(self, exc: Exception | None) -> None:
        self._guard.closed(self)
        if self._admitted:
            self.inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._admitted:
            self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received() if self._admitted else None

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()


class GuardedSite(web.TCPSite):
    """aiohttp's TCPSite, listening through a ConnectionGuard."""

    __slots__ = ("_guard",)

    def __init__(self, runner: web.BaseRunner, host: str, port: int, guard: ConnectionGuard):
        super().__init__(runner, host, port, backlog=BACKLOG)
        self._guard = guard

    async def start(self) -> None:
        # TCPSite.start with one change: the protocol factory is guarded.
        await web.BaseSite.start(self)
        server = self._runner.server
        if server is None:
            raise RuntimeError("call runner.setup() before starting a site")
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self._guard.protocol_factory(server),
            self._host,
            self._port,
            backlog=self._backlog,
        )
        sockets = self._server.sockets
        self._bound_port = sockets[0].getsockname()[1] if sockets else self._port


def raise_open_files_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; the soft limit in force after."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = max(soft, 1 << 20)  # Linux refuses "unlimited" here (fs.nr_open)
    if soft == resource.RLIM_INFINITY or soft >= hard:
        return int(soft if soft != resource.RLIM_INFINITY else hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ValueError, OSError) as exc:
        log.warning("cannot raise the open-files limit from %d to %d: %s", soft, hard, exc)
        return int(soft)
    return int(hard)


def connection_limit(configured: int, open_files: int) -> int:
    """web.max_connections, lowered (with one log line) to what the open-files limit allows."""
    room = max(16, open_files - RESERVED_FDS)
    if configured <= room:
        return configured
    log.warning(
        "web.max_connections lowered from %d to %d: the open-files limit is %d",
        configured,
        room,
        open_files,
    )
    return room
