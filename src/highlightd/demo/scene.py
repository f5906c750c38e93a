"""The demo's scene: alice registers, bob mentions her, the SMS appears, she answers by SMS,
and bob reads her answer on IRC. Each step is printed as it happens, and fails on its own."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import TextIO

from highlightd.demo.ircclient import DemoClient, Line
from highlightd.demo.ircd import LocalIrcd
from highlightd.demo.reply import DemoState, post_sms

NETWORK, CHANNEL, BOT = "demo", "#demo", "highlightd"
USER, MENTIONER = "alice", "bob"
MENTION = "alice: are you coming to the 3pm review?"
ANSWER = "yes, 5 min late. Start without me"
STEP_LIMIT = 20.0  # seconds; each step takes well under one
# The loggers whose INFO lines the demo shows: the SMS the console backend "sends",
# and the decisions that hold an SMS back (cooldown, quiet hours, budget).
WATCHED = ("highlightd.sms.gateway", "highlightd.irc.notifier", "highlightd.irc.digests")


class StepFailed(Exception):
    def __init__(self, number: int, title: str, reason: str) -> None:
        super().__init__(f"step {number} ({title}): {reason}")


@dataclass
class Show:
    """What the demo prints, and what it saw of the SMS the console backend printed."""

    out: TextIO = field(default_factory=lambda: sys.stdout)
    texts: asyncio.Queue[str] = field(default_factory=asyncio.Queue)

    def say(self, text: str) -> None:
        print(text, file=self.out, flush=True)


class Watcher(logging.Handler):
    """Shows the daemon's console SMS and money decisions as they are logged."""

    def __init__(self, show: Show, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(logging.INFO)
        self._show, self._loop = show, loop

    def emit(self, record: logging.LogRecord) -> None:
        body = getattr(record, "sms_body", None)
        if body is None:
            self._show.say(f"      highlightd: {record.getMessage()}")
            return
        self._show.say(f"      SMS to {getattr(record, 'sms_to', '?')}: {body}")
        self._loop.call_soon_threadsafe(self._show.texts.put_nowait, body)


@contextlib.contextmanager
def watching(show: Show, quiet: bool) -> Iterator[None]:
    """Attach the Watcher; when the log is quieter than INFO, it alone shows those lines."""
    handler = Watcher(show, asyncio.get_running_loop())
    saved = []
    for name in WATCHED:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level, logger.propagate))
        logger.setLevel(min(logger.getEffectiveLevel(), logging.INFO))
        logger.propagate = not quiet
        logger.addHandler(handler)
    try:
        yield
    finally:
        for logger, level, propagate in saved:
            logger.removeHandler(handler)
            logger.setLevel(level)
            logger.propagate = propagate


class Scene:
    """The steps, in order; `play` raises StepFailed naming the first that did not happen."""

    def __init__(self, show: Show, ircd: LocalIrcd, state: DemoState) -> None:
        self.show, self.ircd, self.state = show, ircd, state
        self.clients: list[DemoClient] = []
        self._number = 0

    @contextlib.asynccontextmanager
    async def step(self, title: str) -> AsyncIterator[None]:
        self._number += 1
        self.show.say(f"[{self._number}] {title}")
        try:
            async with asyncio.timeout(STEP_LIMIT):
                yield
        except TimeoutError:
            raise StepFailed(self._number, title, f"not within {STEP_LIMIT:.0f} s") from None
        except (OSError, ConnectionError, ValueError) as exc:
            raise StepFailed(self._number, title, str(exc)) from exc

    async def _person(self, nick: str) -> DemoClient:
        client = await DemoClient.connect(self.ircd.host, self.ircd.port, nick)
        self.clients.append(client)
        await client.send(f"JOIN {CHANNEL}")
        return client

    async def _ask(self, client: DemoClient, text: str) -> str:
        self.show.say(f"      {client.nick} -> {BOT}: {text}")
        await client.say(BOT, text)
        answer = (await client.from_nick(BOT, "NOTICE")).text
        self.show.say(f"      {BOT} -> {client.nick}: {answer}")
        return answer

    async def play(self) -> None:
        alice = await self._alice_joins()
        code = await self._alice_registers(alice)
        async with self.step(f"{USER} verifies the code"):
            answer = await self._ask(alice, f"VERIFY {code}")
            if not answer.startswith("done:"):
                raise ValueError(f"VERIFY was answered {answer!r}")
        async with self.step(f"{USER} leaves IRC for lunch; {MENTIONER} mentions her in {CHANNEL}"):
            await alice.close("lunch")
            bob = await self._person(MENTIONER)
            await bob.wait(lambda line: line.command == "366")  # end of NAMES: joined
            self.show.say(f"      <{MENTIONER}> {MENTION}")
            await bob.say(CHANNEL, MENTION)
            await self._sms_with(MENTION)
        async with self.step(f"{USER} answers the SMS; Twilio posts it, signed, to the webhook"):
            self.show.say(f'      SMS from {USER}: "{ANSWER}" -> POST {self.state.webhook}')
            status = await post_sms(self.state, ANSWER)
            self.show.say(f"      webhook answered HTTP {status}")
            if status != 200:
                raise ValueError(f"the webhook answered HTTP {status}, not 200")
        async with self.step(f"{MENTIONER} reads the answer on IRC"):
            line = await bob.from_nick(BOT)
            self.show.say(f"      {BOT} -> {MENTIONER}: {line.text}")
            if ANSWER not in line.text:
                raise ValueError(f"{MENTIONER} got {line.text!r}")

    async def _alice_joins(self) -> DemoClient:
        async with self.step(f"{USER} joins {CHANNEL}, where the bot {BOT} sits"):
            alice = await self._person(USER)
            await alice.wait(lambda line: _bot_is_there(line))
        return alice

    async def _alice_registers(self, alice: DemoClient) -> str:
        async with self.step(f"{USER} registers her phone by private message to the bot"):
            answer = await self._ask(alice, f"REGISTER {self.state.phone}")
            if "code" not in answer:
                raise ValueError(f"REGISTER was answered {answer!r}")
            code = re.search(r"\b(\d{6})\b", await self.show.texts.get())
            if code is None:
                raise ValueError("the SMS holds no 6-digit code")
        return code[1]

    async def _sms_with(self, text: str) -> None:
        while text not in await self.show.texts.get():
            pass

    async def close(self) -> None:
        for client in self.clients:
            await client.close()


def _bot_is_there(line: Line) -> bool:
    if line.command == "JOIN" and line.nick.lower() == BOT:
        return True  # the bot joined after alice
    # NAMES (353) on alice's own JOIN: the bot was there first.
    return line.command == "353" and any(
        name.lstrip("@+").lower() == BOT for name in line.text.split()
    )
