"""Streaming many SMS answers into a daemon and counting what IRC clients saw of them."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path

import aiohttp
import redis.asyncio as aioredis

from fake_twilio import TEST_AUTH_TOKEN, twilio_signature
from harness import ALICE_PHONE, BOT, CHANNEL, FROM_NUMBER
from highlightd.store import Store
from servers import IrcTestClient

COUNT = 200
PREFIX = "alice (SMS): "
_markers = itertools.count(1)


def bodies(count: int = COUNT) -> list[str]:
    return [f"{CHANNEL} answer {n:03d}" for n in range(count)]


def expected(count: int = COUNT) -> set[str]:
    return {f"{PREFIX}answer {n:03d}" for n in range(count)}


async def post_signed(http: aiohttp.ClientSession, base_url: str, body: str, sid: str) -> None:
    """POST one answer the way Twilio does, again and again until the daemon says 200.

    A daemon being restarted refuses the connection: Twilio would retry the same sid too.
    """
    form = {"MessageSid": sid, "From": ALICE_PHONE, "To": FROM_NUMBER, "Body": body}
    headers = {
        "X-Twilio-Signature": twilio_signature(TEST_AUTH_TOKEN, base_url + "/twilio/sms", form)
    }
    async with asyncio.timeout(30):
        while True:
            try:
                async with http.post(base_url + "/twilio/sms", data=form, headers=headers) as resp:
                    await resp.read()
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)


async def post_all(
    post: Callable[[str], Awaitable[object]], texts: Iterable[str], concurrency: int = 8
) -> None:
    """Post answers concurrently, a few at a time, as SMS arrive from many phones at once."""
    gate = asyncio.Semaphore(concurrency)

    async def one(text: str) -> None:
        async with gate:
            await post(text)

    await asyncio.gather(*(one(text) for text in texts))


class Tally:
    """What one IRC client saw the bot say in CHANNEL, each text with how often."""

    def __init__(self, client: IrcTestClient) -> None:
        self.client = client
        self.seen: Counter[str] = Counter()
        self.last = ""

    async def until(self, distinct: int, timeout: float = 40) -> None:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while len(self.seen) < distinct:
                line = await self.client.expect_privmsg(
                    from_nick=BOT, target=CHANNEL, timeout=timeout
                )
                self.seen[line.text] += 1
                self.last = line.text

    async def settle(self, post: Callable[[str], Awaitable[object]]) -> None:
        """Say one more answer and count until it arrives: whatever was on its way came first."""
        marker = f"marker {next(_markers)}"
        await post(f"{CHANNEL} {marker}")
        async with asyncio.timeout(40):
            while True:
                line = await self.client.expect_privmsg(from_nick=BOT, target=CHANNEL, timeout=40)
                if line.text == PREFIX + marker:
                    return
                self.seen[line.text] += 1

    def twice(self) -> list[str]:
        return sorted(text for text, n in self.seen.items() if n > 1)


async def outbox_empty(path: Path) -> None:
    """Wait until the accepting side has every answer confirmed by the IRC side."""
    store = await Store.open(path)
    try:
        async with asyncio.timeout(30):
            while True:
                if not await store.received.unconfirmed():
                    return
                await asyncio.sleep(0.05)
    finally:
        await store.close()


def sid_of(body: str) -> str:
    """A MessageSid of its own for each answer text, as Twilio gives each SMS."""
    return "SM" + hashlib.sha256(body.encode()).hexdigest()[:32]


async def recorded(path: Path, text: str) -> None:
    """Wait until the IRC side recorded as done the answer the bot said as `text`."""
    sid = sid_of(f"{CHANNEL} {text.removeprefix(PREFIX)}")
    store = await Store.open(path)
    try:
        async with asyncio.timeout(10):
            while True:
                if await store.relayed.outcome(sid):
                    return
                await asyncio.sleep(0.002)
    finally:
        await store.close()


def redis_client(url: str) -> aioredis.Redis:
    return aioredis.Redis.from_url(url, decode_responses=True)


async def until_gone(client: IrcTestClient, nick: str) -> None:
    """Wait until the server no longer knows nick: a SIGKILLed bot's connection is closed,
    so that the next one gets its nick back instead of a fallback."""
    async with asyncio.timeout(20):
        while True:
            await client.send_raw(f"ISON {nick}")
            reply = await client.expect(lambda line: line.command == "303")
            if nick.lower() not in reply.text.lower().split():
                return
            await asyncio.sleep(0.05)
