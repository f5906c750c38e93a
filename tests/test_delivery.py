"""A line counts as said once the server confirmed it, never because a socket took it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

import pytest

from highlightd.irc.delivery import DeliveryRefused
from scripted_irc import BOT, SERVER, Bot, ScriptedIrc, bot_on
from servers import ParsedLine

pytestmark = pytest.mark.timeout(60)


def _privmsg(text: str) -> Callable[[ParsedLine], bool]:
    return lambda line: line.command == "PRIVMSG" and line.text == text


def _barrier(line: ParsedLine) -> bool:
    return line.command == "PING" and line.text.startswith("hl")


@pytest.fixture
async def plain() -> AsyncIterator[Bot]:
    """A server without echo-message: confirmation is the PONG to a PING after the line."""
    async with ScriptedIrc() as server, bot_on(server) as bot:
        yield bot


@pytest.fixture
async def echoing() -> AsyncIterator[Bot]:
    async with ScriptedIrc(caps="echo-message multi-prefix") as server, bot_on(server) as bot:
        yield bot


async def test_without_echo_the_pong_after_the_line_confirms_it(plain: Bot) -> None:
    plain.server.hold_pongs = True
    said = plain.network.send("bob", "hello")
    await plain.server.expect(_privmsg("hello"))
    barrier = await plain.server.expect(_barrier)
    await plain.server.round_trip("after-hello")  # the bot read everything up to here
    assert not said.done(), "written to the socket is not delivered"
    await plain.server.say(f":{SERVER} PONG {SERVER} :{barrier.text}")
    await asyncio.wait_for(said, 5)


async def test_with_echo_message_the_echo_confirms_it_without_a_ping(echoing: Bot) -> None:
    assert any(
        line.command == "CAP" and "echo-message" in line.text for line in echoing.server.received
    )
    echoing.server.echo_messages = False
    said = echoing.network.send("bob", "hello")
    await echoing.server.expect(_privmsg("hello"))
    await echoing.server.round_trip("after-hello")  # the bot read everything up to here
    assert not said.done()
    await echoing.server.say(f":{BOT}!u@h PRIVMSG bob :hello")
    await asyncio.wait_for(said, 5)
    assert not [line for line in echoing.server.received if _barrier(line)]


async def test_echoes_confirm_a_long_text_split_in_lines(echoing: Bot) -> None:
    words = " ".join(f"word{i}" for i in range(200))  # about 1,600 bytes: 4 lines
    await asyncio.wait_for(echoing.network.send("#chan", words), 5)
    lines = [line.text for line in echoing.server.received if line.command == "PRIVMSG"]
    assert len(lines) == 4
    assert " ".join(lines) == words


@pytest.mark.parametrize(
    ("numeric", "target", "reason"),
    [
        ("401", "nobody", "No such nick/channel"),
        ("403", "#gone", "No such channel"),
        ("404", "#chan", "Cannot send to channel"),
        ("442", "#chan", "You're not on that channel"),
    ],
)
async def test_a_refusal_fails_the_send_and_the_next_line_still_goes(
    plain: Bot, numeric: str, target: str, reason: str
) -> None:
    plain.server.hold_pongs = True
    refused = plain.network.send(target, "hello")
    await plain.server.expect(_privmsg("hello"))
    barrier = await plain.server.expect(_barrier)
    await plain.server.say(f":{SERVER} {numeric} {BOT} {target} :{reason}")
    await plain.server.say(f":{SERVER} PONG {SERVER} :{barrier.text}")
    with pytest.raises(DeliveryRefused) as caught:
        await asyncio.wait_for(refused, 5)
    assert (caught.value.target, caught.value.numeric, caught.value.reason) == (
        target,
        numeric,
        reason,
    )
    plain.server.hold_pongs = False
    await asyncio.wait_for(plain.network.send("bob", "next"), 5)


async def test_a_refusal_is_the_refused_send_s_not_an_earlier_one_to_the_same_target(
    plain: Bot,
) -> None:
    plain.server.hold_pongs = True
    first = plain.network.send("bob", "first")
    second = plain.network.send("bob", "second")
    await plain.server.expect(_privmsg("first"))
    one = await plain.server.expect(_barrier)  # one PING between two sends to bob
    await plain.server.expect(_privmsg("second"))
    two = await plain.server.expect(_barrier)
    await plain.server.say(f":{SERVER} PONG {SERVER} :{one.text}")
    await plain.server.say(f":{SERVER} 401 {BOT} bob :No such nick/channel")
    await plain.server.say(f":{SERVER} PONG {SERVER} :{two.text}")
    await asyncio.wait_for(first, 5)
    with pytest.raises(DeliveryRefused):
        await asyncio.wait_for(second, 5)


async def test_unconfirmed_lines_are_sent_again_after_a_reconnect_confirmed_ones_never(
    plain: Bot,
) -> None:
    await asyncio.wait_for(plain.network.send("bob", "confirmed"), 5)
    plain.server.hold_pongs = True
    pending = plain.network.send("bob", "unconfirmed")
    await plain.server.expect(_privmsg("unconfirmed"))
    await plain.server.expect(_barrier)
    plain.server.hold_pongs = False
    await plain.server.inject(b"ERROR :Closing link\r\n")
    await plain.server.registered(connection=2)
    await asyncio.wait_for(pending, 10)
    texts = [line.text for line in plain.server.received if line.command == "PRIVMSG"]
    assert texts == ["confirmed", "unconfirmed", "unconfirmed"]


async def test_a_link_that_takes_lines_but_confirms_none_is_dropped_and_they_go_again() -> None:
    # pydle's own lines (MODE, PONG) count against flood control too: with a 1 s
    # stall limit, the default bucket would hold the PING that confirms "hello".
    settings = {"ping_interval": 0.5, "send_burst": 20, "send_rate": 50}
    async with ScriptedIrc() as server, bot_on(server, **settings) as bot:
        server.hold_pongs = True

        async def chatter() -> None:  # never quiet: the idle PING would not notice
            while True:
                await server.say(f":{SERVER} NOTICE {BOT} :still here")
                await asyncio.sleep(0.1)

        talking = asyncio.create_task(chatter())
        try:
            said = bot.network.send("bob", "hello")
            await server.registered(connection=2)
        finally:
            talking.cancel()
        await asyncio.wait_for(said, 10)
        texts = [line.text for line in server.received if line.command == "PRIVMSG"]
        assert texts == ["hello", "hello"]


async def test_a_send_without_a_target_fails_at_once(plain: Bot) -> None:
    with pytest.raises(DeliveryRefused) as caught:
        await plain.network.send(" \r\n", "hello")
    assert caught.value.numeric == "411"


async def test_a_cancelled_send_is_not_written_and_does_not_hold_the_one_before(
    plain: Bot,
) -> None:
    first = plain.network.send("bob", "first")
    dropped = plain.network.send("carol", "never")
    dropped.cancel()
    await asyncio.wait_for(first, 5)
    await asyncio.wait_for(plain.network.send("dave", "after"), 5)
    texts = [line.text for line in plain.server.received if line.command == "PRIVMSG"]
    assert texts == ["first", "after"]
