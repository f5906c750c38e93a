"""The scene end-to-end tests play in: servers, registered users, IRC clients, the daemon."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fake_twilio import FakeMessage, FakeTwilio
from harness import (
    ALICE_PHONE,
    BOT,
    CHANNEL,
    NETWORK,
    Highlightd,
    add_user,
    in_channel,
    running,
    settings_dict,
    wait_for_bot,
    web_port,
)
from highlightd.config import Settings
from highlightd.daemon import Role
from servers import IrcClientFactory, IrcServer, IrcTestClient, RedisServer
from waiting import eventually


@dataclass
class Scene:
    """A started highlightd, the bot in CHANNEL and knowing who else is there."""

    hl: Highlightd
    clients: dict[str, IrcTestClient]
    twilio: FakeTwilio
    irc: IrcServer
    redis: RedisServer
    daemons: list[Highlightd]  # hl first; more when the roles are split

    @property
    def settings(self) -> Settings:
        return self.hl.settings

    @property
    def alice(self) -> IrcTestClient:
        return self.clients["alice"]

    @property
    def bob(self) -> IrcTestClient:
        return self.clients["bob"]

    async def mentioned(self) -> None:
        """bob mentions alice and her SMS goes out: her answers now go to bob."""
        await self.bob.privmsg(CHANNEL, "alice: hi")
        await self.twilio.wait_for_messages(1)

    async def settled(self, **decisions: int) -> list[FakeMessage]:
        """See settled(): the highlights decided so far, then the SMS sent."""
        return await settled(self.hl, self.twilio, **decisions)


async def settled(hl: Highlightd, twilio: FakeTwilio, **decisions: int) -> list[FakeMessage]:
    """Check the highlights decided so far are exactly `decisions`; the SMS, once sent.

    Call it after a positive marker (an SMS that had to come): every line before the
    marker is decided by then. It waits for counts from other connections' lines, fails
    at once on a decision too many, then waits until each SMS decided has been sent, so
    that the caller's exact count of SMS also catches one that would come late.
    """
    want = {name: n for name, n in decisions.items() if n}
    got = await eventually(
        hl.decisions,
        lambda got: (
            all(got.get(name, 0) >= n for name, n in want.items())
            or sum(got.values()) >= sum(want.values())
        ),
        what=f"the highlight decisions {want}",
    )
    assert got == want, f"highlight decisions {got}, expected {want}"
    sends = want.get("send", 0) + want.get("digest", 0)
    await eventually(
        lambda: hl.counts("highlightd_sms_sent_total", "result"),
        lambda results: sum(results.values()) >= sends,
        what=f"the {sends} SMS decided to be sent",
    )
    return list(twilio.messages)


@dataclass
class SceneFactory:
    """`async with scene(...) as s`: a Scene, stopped when the block ends."""

    tmp_path: Path
    irc: IrcServer
    redis: RedisServer
    twilio: FakeTwilio
    connect: IrcClientFactory

    @contextlib.asynccontextmanager
    async def __call__(
        self,
        *,
        users: Mapping[str, str] | None = None,
        clients: Sequence[str] = ("alice", "bob"),
        policy: Mapping[str, Any] | None = None,
        network: Mapping[str, Any] | None = None,
        roles: Sequence[Role] = ("all",),
        clock: Callable[[], float] = time.time,
    ) -> AsyncIterator[Scene]:
        """Register users (nick: phone; alice by default), join clients, start highlightd.

        policy is laid over the tests' [policy] (no cooldown, no active window), network
        over the one [[networks]] entry; one daemon per role, on the same settings.
        """
        data = settings_dict(
            self.tmp_path, self.irc, self.redis.url, self.twilio, web_port(), **(policy or {})
        )
        data["networks"][0].update(network or {})
        settings = Settings(**data)
        for nick, phone in ({"alice": ALICE_PHONE} if users is None else users).items():
            await add_user(settings.storage.path, nick, phone)
        joined = await in_channel(self.connect, *clients)
        async with contextlib.AsyncExitStack() as stack:
            # All started before the bot is awaited, as an operator starts split roles.
            daemons = [
                await stack.enter_async_context(running(settings, role, clock)) for role in roles
            ]
            for hl in daemons:
                if hl.daemon.irc is not None:
                    await _bot_knows(hl, joined)
            scene = Scene(
                daemons[0], {c.nick: c for c in joined}, self.twilio, self.irc, self.redis, daemons
            )
            yield scene


async def _bot_knows(hl: Highlightd, clients: list[IrcTestClient]) -> None:
    """Wait until the bot is in CHANNEL and knows every client there."""
    if clients:
        await wait_for_bot(clients[-1])
    assert hl.daemon.irc is not None
    network = hl.daemon.irc.networks[NETWORK]
    # pydle learns a channel's members a WHOIS after NAMES: the policy counts on them.
    wanted = {network.fold(nick) for nick in (BOT, *(c.nick for c in clients))}
    await eventually(
        lambda: network.present(CHANNEL),
        lambda present: wanted <= present,
        what=f"the bot to see {sorted(wanted)} in {CHANNEL}",
    )
