"""The IRC link failing the ways real ones do: reset, silently dead, killed by an operator."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from fake_twilio import FakeTwilio
from harness import (
    BOT,
    CHANNEL,
    NETWORK,
    Highlightd,
    in_channel,
    running,
    settings_dict,
    wait_for_bot,
    web_port,
)
from highlightd.config import Settings
from highlightd.irc.delivery import DeliveryRefused
from highlightd.irc.network import Network
from proxy import TcpProxy
from scene import SceneFactory
from servers import IrcClientFactory, IrcServer, IrcTestClient, RedisServer
from waiting import eventually

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


def _network(linked: Linked) -> Network:
    assert linked.hl.daemon.irc is not None
    return linked.hl.daemon.irc.networks[NETWORK]


async def _until(check: Callable[[], bool]) -> None:
    """Wait, with a guard, until check() holds."""
    async with asyncio.timeout(10):
        while True:
            if check():
                return
            await asyncio.sleep(0.02)


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


async def test_black_holed_link_loses_none_of_60_lines_and_says_none_twice(
    linked: Linked,
) -> None:
    network = _network(linked)
    before = [network.send("bob", f"line {i}") for i in range(20)]
    await asyncio.wait_for(asyncio.gather(*before), 10)
    linked.proxy.silence()  # nothing in flight: every line before was confirmed
    after = [network.send("bob", f"line {i}") for i in range(20, 60)]
    await asyncio.wait_for(asyncio.gather(*after), 30)
    assert b"PRIVMSG bob :line 20" in linked.proxy.swallowed  # written into the black hole
    assert linked.proxy.connections == 2
    await asyncio.wait_for(network.send("bob", "end"), 10)
    await linked.bob.expect(lambda line: line.command == "PRIVMSG" and line.text == "end")
    said = [line.text for line in linked.bob.received if line.command == "PRIVMSG"]
    assert said == [f"line {i}" for i in range(60)] + ["end"]


async def test_privmsg_to_an_absent_nick_is_refused_with_401(linked: Linked) -> None:
    network = _network(linked)
    with pytest.raises(DeliveryRefused) as caught:
        await asyncio.wait_for(network.send("nobody", "hello?"), 10)
    assert (caught.value.target, caught.value.numeric) == ("nobody", "401")
    await asyncio.wait_for(network.send("bob", "still here"), 10)
    line = await linked.bob.expect_privmsg(from_nick=BOT, target="bob")
    assert line.text == "still here"


async def test_kicked_bot_rejoins_within_the_backoff_and_says_so_once(
    linked: Linked, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="highlightd.irc")
    assert _network(linked).joined(CHANNEL)
    await linked.bob.send_raw(f"KICK {CHANNEL} {BOT} :out")
    await wait_for_bot(linked.bob)
    await _until(lambda: _network(linked).joined(CHANNEL))
    said = [
        r.getMessage()
        for r in caplog.records
        if r.name.startswith("highlightd.irc") and r.levelno >= logging.WARNING
    ]
    assert said == [
        f"irc network {NETWORK} channel {CHANNEL} unavailable (kicked by bob: out); "
        "retrying in 1.0 s, doubling up to 300 s"
    ]
    assert linked.proxy.connections == 1  # a rejoin, not a reconnection


async def test_banned_bot_stops_trying_and_says_so_once_at_error(
    linked: Linked, caplog: pytest.LogCaptureFixture
) -> None:
    await linked.bob.send_raw(f"MODE {CHANNEL} +b {BOT}!*@*")
    await linked.bob.send_raw(f"KICK {CHANNEL} {BOT} :go away")
    await linked.bob.expect(lambda line: line.command == "KICK")

    def errors() -> list[str]:
        return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]

    await _until(lambda: bool(errors()))
    joins = linked.proxy.sent.count(f"JOIN {CHANNEL}".encode())
    assert joins == 2  # the first join and one retry after the kick
    # A retry would come 2 s after the first (the backoff doubles): wait past it.
    await asyncio.sleep(2.5)
    assert linked.proxy.sent.count(f"JOIN {CHANNEL}".encode()) == joins
    assert errors() == [
        f"{NETWORK}: cannot join {CHANNEL}: Cannot join channel (+b) -- You are banned (474); "
        "not retrying until the next connection"
    ]
    assert not _network(linked).joined(CHANNEL)


async def test_bot_on_a_fallback_nick_takes_its_own_back_when_it_frees(
    tmp_path: Path,
    irc_server: IrcServer,
    redis_server: RedisServer,
    irc_client_factory: IrcClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # As after a SIGKILL: the server still holds our nick for the old connection.
    squatter = await irc_client_factory(BOT)
    [bob] = await in_channel(irc_client_factory, "bob")
    data = settings_dict(tmp_path, irc_server, redis_server.url, None, web_port())
    data["networks"][0]["ping_interval"] = 0.5
    caplog.set_level(logging.INFO, logger="highlightd.irc.network")
    async with running(Settings(**data)):
        await wait_for_bot(bob, nick=BOT + "_")
        await squatter.quit()
        renamed = await bob.expect(lambda line: line.command == "NICK" and line.nick == BOT + "_")
        assert renamed.text == BOT

        def said() -> list[str]:
            return [r.getMessage() for r in caplog.records if r.name == "highlightd.irc.network"]

        await eventually(said, lambda lines: f"{NETWORK}: {BOT} is ours again" in lines, what="log")
    lines = said()
    assert lines.count(f"{NETWORK}: {BOT} is taken; on {BOT}_ until it frees") == 1
    assert lines.count(f"{NETWORK}: {BOT} is ours again") == 1
