"""An SMS answer's way to IRC while one nick floods the bot with 300 HELPs, flood control
at its defaults (5 lines in a burst, then 1 a second).

The answer is posted once the flooder's first answer arrived (the queue is full of
its NOTICEs by then); the figure is the time until bob reads it, beside the same
answer with nobody flooding. Counts: the flooder's answers and "slow down" lines.

Run: .venv/bin/python benchmarks/bench_command_flood.py
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from common import row
from fake_twilio import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, FakeTwilio
from harness import BOT
from scene import Scene, SceneFactory
from servers import IrcServer, IrcTestClient, ParsedLine, RedisServer

HELPS = 300


def notice(line: ParsedLine) -> bool:
    return line.nick == BOT and line.command == "NOTICE"


async def answer_time(s: Scene, body: str) -> float:
    start = time.perf_counter()
    await s.hl.sms(body)
    await s.bob.expect(lambda line: line.nick == BOT and line.text.endswith(body), 60)
    return time.perf_counter() - start


async def measure(s: Scene) -> None:
    await s.mentioned()
    quiet = await answer_time(s, "no flood")
    flooder = s.clients["mallory"]
    for _ in range(HELPS):
        await flooder.privmsg(BOT, "HELP")
    await flooder.expect(notice, 60)
    flooded = await answer_time(s, "under flood")
    await flooder.expect(lambda line: notice(line) and line.text.startswith("slow down"), 120)
    got = [line for line in flooder.received if notice(line)]
    row(f"SMS answer -> IRC, {HELPS} HELPs queued", f"{flooded * 1e3:.0f} ms",
        f"{flooded / quiet:.1f}x the {quiet * 1e3:.0f} ms without a flood")  # fmt: skip
    print(f"  counts: {HELPS} HELPs, {len(got)} NOTICE lines back (1 slow down)")


async def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        irc, redis = IrcServer(tmp / "irc"), RedisServer(tmp / "redis")
        await irc.astart()
        await redis.astart()
        connected: list[IrcTestClient] = []

        async def connect(
            nick: str, *, host: str | None = None, port: int | None = None
        ) -> IrcTestClient:
            client = await IrcTestClient.connect(host or irc.host, port or irc.port, nick)
            connected.append(client)
            return client

        try:
            async with FakeTwilio(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN) as twilio:
                factory = SceneFactory(tmp, irc, redis, twilio, connect)
                defaults = {"send_burst": 5, "send_rate": 1.0}
                async with factory(clients=("alice", "bob", "mallory"), network=defaults) as s:
                    await measure(s)
        finally:
            for client in connected:
                await client.close()
            await redis.astop()
            await irc.astop()


if __name__ == "__main__":
    asyncio.run(main())
