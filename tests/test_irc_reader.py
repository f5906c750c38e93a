"""What a server sends must never stop the IRC reader: the bot answers, or reconnects."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest

from highlightd.core.events import IrcMessage, NickChange, Quit
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


async def test_chatter_nicks_quits_and_commands_reach_the_daemon_in_wire_order(bot: Bot) -> None:
    # Channel chatter is handled in the reader, everything else in pydle's tasks:
    # the daemon must still see them as the server sent them.
    lines = []
    for i in range(50):
        lines += [
            f":bob{i}!b@h JOIN #chan",
            f":bob{i}!b@h PRIVMSG #chan :before {i}",
            f":bob{i}!b@h NICK carol{i}",
            f":carol{i}!b@h PRIVMSG #chan :after {i}",
            f":carol{i}!b@h PRIVMSG {BOT} :command {i}",
            f":carol{i}!b@h QUIT :bye",
        ]
    before = len(bot.events.seen)
    await bot.server.inject("".join(line + "\r\n" for line in lines).encode())
    await bot.events.wait_for(lambda e: isinstance(e, Quit) and e.nick == "carol49")
    seen = [_described(e) for e in bot.events.seen[before:]]
    expected = []
    for i in range(50):
        expected += [
            f"#chan <bob{i}> before {i}",
            f"bob{i} -> carol{i}",
            f"#chan <carol{i}> after {i}",
            f" <carol{i}> command {i}",
            f"carol{i} quit",
        ]
    assert seen == expected


def _described(event: object) -> str:
    if isinstance(event, IrcMessage):
        return f"{event.channel} <{event.sender}> {event.text}"
    if isinstance(event, NickChange):
        return f"{event.old} -> {event.new}"
    assert isinstance(event, Quit)
    return f"{event.nick} quit"


async def test_an_account_tag_on_chatter_is_learnt_for_its_nick() -> None:
    async with ScriptedIrc(caps="account-notify account-tag") as server, bot_on(server) as bot:
        await server.say(":dave!d@h JOIN #chan")
        await server.round_trip("joined")
        assert bot.network.account_of("dave") == ""  # joined, account unknown
        await server.say("@account=davesacct :dave!d@h PRIVMSG #chan :hello")
        event = await bot.events.wait_for(lambda e: isinstance(e, IrcMessage))
        assert isinstance(event, IrcMessage)
        assert (event.text, event.account) == ("hello", "davesacct")
        # What the line said of dave is kept for the decisions after it.
        assert bot.network.account_of("dave") == "davesacct"
