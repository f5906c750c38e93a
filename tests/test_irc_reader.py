"""What a server sends must never stop the IRC reader: the bot answers, or reconnects."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from highlightd.core.events import IrcMessage
from highlightd.irc.linebuffer import MAX_LINE
from scripted_irc import BOT, Bot, ScriptedIrc, bot_on

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def bot() -> AsyncIterator[Bot]:
    async with ScriptedIrc() as server, bot_on(server) as bot:
        yield bot


async def _still_talking(bot: Bot, token: str) -> None:
    """The bot answers a PING, and a private message after it reaches the daemon."""
    await bot.server.round_trip(token)
    await bot.server.say(f":bob!b@h PRIVMSG {BOT} :after {token}")
    event = await bot.events.wait_for(
        lambda e: isinstance(e, IrcMessage) and e.text == f"after {token}"
    )
    assert isinstance(event, IrcMessage)
    assert event.sender == "bob"


BAD_LINES = {
    "prefix-only": b":x\r\n",
    "tags-only": b"@x\r\n",
    "prefix-and-spaces": b":x   \r\n",
    "tag-without-command": b"@a=b :srv\r\n",
    "line-of-20-kB": b":srv NOTICE " + BOT.encode() + b" :" + b"a" * 20_000 + b"\r\n",
    "invalid-utf8-and-nul": b":srv NOTICE " + BOT.encode() + b" :\xff\xfe\x00\r\n",
}


@pytest.mark.parametrize("data", BAD_LINES.values(), ids=BAD_LINES.keys())
async def test_a_bad_line_is_skipped_and_the_link_stays(
    bot: Bot, data: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="highlightd")
    await bot.server.inject(data)
    await _still_talking(bot, "after-bad-line")
    assert bot.server.connections == 1
    assert bot.network.connected
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_line_over_8_kB_is_dropped_with_a_debug_line(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="highlightd.irc.linebuffer")
    head = f":bob!b@h PRIVMSG {BOT} :"
    longest = head + "k" * (MAX_LINE - len(head))  # IRCv3 tags + 512: still a line
    too_long = head + "d" * (MAX_LINE + 1 - len(head))
    await bot.server.say(too_long)
    await bot.server.say(longest)
    await _still_talking(bot, "after-long-line")
    dropped = [r.getMessage() for r in caplog.records if r.name == "highlightd.irc.linebuffer"]
    assert dropped == [f"dropped a line of {MAX_LINE + 1} bytes (limit {MAX_LINE})"]
    texts = [e.text for e in bot.events.seen if isinstance(e, IrcMessage)]
    assert texts == [longest[len(head) :], "after after-long-line"]


RUNAWAYS = {
    "line-of-100-kB": b":srv NOTICE " + BOT.encode() + b" :" + b"a" * 100_000 + b"\r\n",
    "stream-without-line-end": b"a" * 70_000,
}


@pytest.mark.parametrize("data", RUNAWAYS.values(), ids=RUNAWAYS.keys())
async def test_a_runaway_stream_reconnects(bot: Bot, data: bytes) -> None:
    await bot.server.inject(data)
    await bot.server.registered(connection=2)  # the bot hung up and came back
    await _still_talking(bot, "after-reconnect")


async def test_a_flood_of_bad_lines_keeps_order_of_the_good_ones(bot: Bot) -> None:
    data = b"".join(
        b":x\r\n@y\r\n" + f":bob!b@h PRIVMSG {BOT} :n{i}\r\n".encode() for i in range(200)
    )
    await bot.server.inject(data)
    await bot.events.wait_for(lambda e: isinstance(e, IrcMessage) and e.text == "n199")
    texts = [e.text for e in bot.events.seen if isinstance(e, IrcMessage)]
    assert texts == [f"n{i}" for i in range(200)]
