"""A started daemon on real servers (ngircd, Valkey/redis-server, the fake Twilio API)
with many registered users: what the end-to-end benchmarks run against.

Not a benchmark itself (`make bench` runs bench_*.py only).
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

from apart import RemoteTwilio
from common import populate
from fake_twilio import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, FakeTwilio
from harness import NETWORK
from scene import Scene, SceneFactory
from servers import IrcServer, IrcTestClient, RedisServer

# Flood control off: what is measured is the daemon, not the send rate it keeps to.
OPEN_NETWORK = {"send_burst": 100_000, "send_rate": 1_000_000}
OPEN_POLICY = {"user_daily_segments": 1_000_000, "global_daily_segments": 1_000_000}


class TimedTwilio(FakeTwilio):
    """The fake Twilio API, noting when each message request arrived, by body."""

    def __init__(self) -> None:
        super().__init__(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN)
        self.arrived: dict[str, float] = {}

    async def _create_message(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.arrived.setdefault(str(form.get("Body", "")), time.perf_counter())
        return await super()._create_message(request)


@contextlib.asynccontextmanager
async def servers() -> AsyncIterator[tuple[Path, IrcServer, RedisServer]]:
    """A folder, ngircd and Redis (appendfsync everysec) in it, started; stopped after."""
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        irc = IrcServer(tmp / "irc")
        redis = RedisServer(tmp / "redis", appendfsync="everysec")
        await irc.astart()
        await redis.astart()
        try:
            yield tmp, irc, redis
        finally:
            await redis.astop()
            await irc.astop()


@contextlib.asynccontextmanager
async def staged(
    users: int,
    keywords: int = 2,
    clients: tuple[str, ...] = ("alice", "bob"),
    network: Mapping[str, Any] = OPEN_NETWORK,
    apart: bool = False,
    **settings: Any,
) -> AsyncIterator[tuple[Scene, Any]]:
    """A Scene (alice registered as in the tests) plus `users` more, each with keywords;
    flood control off unless `network` says otherwise. `apart`: the fake Twilio API in
    a process of its own (apart.RemoteTwilio in place of TimedTwilio), so that this
    process's CPU is the daemon's."""
    async with servers() as (tmp, irc, redis):
        connected: list[IrcTestClient] = []

        async def connect(
            nick: str, *, host: str | None = None, port: int | None = None
        ) -> IrcTestClient:
            client = await IrcTestClient.connect(host or irc.host, port or irc.port, nick)
            connected.append(client)
            return client

        try:
            await populate(tmp / "highlightd.sqlite3", NETWORK, users, keywords, first_id=100)
            async with RemoteTwilio() if apart else TimedTwilio() as twilio:
                factory = SceneFactory(tmp, irc, redis, twilio, connect)
                policy = OPEN_POLICY | settings.get("policy", {})
                async with factory(clients=clients, policy=policy, network=network) as s:
                    yield s, twilio
        finally:
            for client in connected:
                await client.close()
