"""The IRC link failing the ways real ones do: reset, silently dead, killed by an operator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from fake_twilio import FakeTwilio
from harness import BOT, CHANNEL, Highlightd, wait_for_bot
from proxy import TcpProxy
from scene import SceneFactory
from servers import IrcServer, IrcTestClient

pytestmark = pytest.mark.timeout(60)


@dataclass
class Linked:
    hl: Highlightd
    bob: IrcTestClient
    proxy: TcpProxy
    twilio: FakeTwilio


@pytest.fixture
async def linked(irc_server: IrcServer, scene: SceneFactory) -> AsyncIterator[Linked]:
    """highlightd reaches the IRC server through a proxy that can break; bob does not."""
    proxy = TcpProxy(irc_server.host, irc_server.port)
    await proxy.start()
    try:
        async with scene(clients=("bob",), network={"port": proxy.port, "ping_interval": 0.5}) as s:
            yield Linked(s.hl, s.bob, proxy, s.twilio)
    finally:
        await proxy.stop()


async def _bot_left(bob: IrcTestClient) -> None:
    await bob.expect(lambda line: line.command == "QUIT" and line.nick == BOT)


async def test_tcp_reset_reconnects_and_rejoins(linked: Linked) -> None:
    linked.proxy.reset()
    await _bot_left(linked.bob)
    await wait_for_bot(linked.bob)
    assert linked.proxy.connections == 2
    await linked.bob.privmsg(CHANNEL, "alice: back?")
    await linked.twilio.wait_for_messages(1)
    await linked.hl.sms("yes")  # an opt-in keyword to Twilio, and an answer to bob
    line = await linked.bob.expect_privmsg(from_nick=BOT, target="bob")
    assert line.text == "alice (SMS): yes"


async def test_silent_dead_link_is_noticed_by_our_own_ping(linked: Linked) -> None:
    linked.proxy.silence()
    await _bot_left(linked.bob)  # the server side hung up; the bot's socket stays open
    await wait_for_bot(linked.bob)
    assert linked.proxy.connections == 2


async def test_kill_by_operator_reconnects(linked: Linked, irc_server: IrcServer) -> None:
    if irc_server.kind != "ngircd":
        pytest.skip("miniircd has no operators")
    oper, password = IrcServer.OPER
    await linked.bob.send_raw(f"OPER {oper} {password}")
    await linked.bob.expect(lambda line: line.command == "381")
    await linked.bob.send_raw(f"KILL {BOT} :testing")
    await _bot_left(linked.bob)
    await wait_for_bot(linked.bob)
    assert linked.proxy.connections == 2
