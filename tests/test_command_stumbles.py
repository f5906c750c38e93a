"""What a first try on IRC stumbled on: each answered, against a real server and daemon."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness import (
    ALICE_PHONE,
    BOT,
    CHANNEL,
    add_user,
    in_channel,
    running,
    settings_dict,
    wait_for_bot,
    web_port,
)
from highlightd import __version__
from highlightd.config import Settings
from highlightd.core.commands import asks_for_help
from highlightd.selfservice.commands import help_lines
from servers import IrcClientFactory, IrcServer, IrcTestClient, ParsedLine, RedisServer

pytestmark = pytest.mark.timeout(60)


@dataclass
class Room:
    alice: IrcTestClient  # registered
    bob: IrcTestClient

    async def ask(self, text: str) -> str:
        """alice's private message to the bot; its NOTICE answer."""
        await self.alice.privmsg(BOT, text)
        line = await self.alice.expect(lambda line: line.command == "NOTICE" and line.nick == BOT)
        return line.text


@pytest.fixture
async def room(
    tmp_path: Path,
    irc_server: IrcServer,
    redis_server: RedisServer,
    irc_client_factory: IrcClientFactory,
) -> AsyncIterator[Room]:
    settings = Settings(**settings_dict(tmp_path, irc_server, redis_server.url, None, web_port()))
    await add_user(settings.storage.path, "alice", ALICE_PHONE)
    alice, bob = await in_channel(irc_client_factory, "alice", "bob")
    async with running(settings):
        await wait_for_bot(bob)
        yield Room(alice, bob)


async def test_keywords_list_prints_only_the_keywords(room: Room) -> None:
    assert await room.ask("KEYWORDS LIST") == (
        "no keywords: only your nick texts you; KEYWORDS ADD <word> adds one"
    )
    await room.ask("KEYWORDS ADD deploy")
    await room.ask("KEYWORDS ADD -staging")
    assert await room.ask("keywords list") == "keywords deploy; except staging"


async def test_resume_when_not_paused_says_so(room: Room) -> None:
    assert await room.ask("RESUME") == "you were not paused: highlights text you already"
    await room.ask("PAUSE 2h")
    assert await room.ask("RESUME") == "resumed: highlights text you again"


async def test_mute_a_channel_the_bot_is_not_in(room: Room) -> None:
    assert await room.ask("MUTE #nosuch") == (
        f"I am not in #nosuch, so nothing there texts you; I am in {CHANNEL}"
    )
    assert "muted" not in await room.ask("STATUS")
    loud = CHANNEL.upper()  # the server's casemapping decides what "the same channel" is
    assert await room.ask(f"MUTE {loud}") == f"no SMS for highlights in {loud}"


async def test_help_stop_explains_the_carrier_word(room: Room) -> None:
    answer = await room.ask("HELP STOP")
    assert answer.startswith("STOP - by SMS only: answer STOP to any of our SMS")
    assert "START" in answer
    assert "STOP" in " ".join(help_lines(None))


async def test_help_pause_says_a_bare_number_is_minutes(room: Room) -> None:
    assert "a bare number is minutes" in await room.ask("HELP PAUSE")


async def test_help_in_a_channel_points_to_private_messages(room: Room) -> None:
    await room.bob.privmsg(CHANNEL, f"{BOT}: help")
    line = await room.bob.expect_privmsg(from_nick=BOT, target=CHANNEL)
    assert line.text == f"bob: I take commands by private message: /msg {BOT} HELP"
    # One line, no more: a later answer arrives with nothing else from the bot in between.
    await room.bob.privmsg(BOT, "HELP")
    await room.bob.expect(lambda line: line.command == "NOTICE" and line.nick == BOT)
    said = [r for r in room.bob.received if r.nick == BOT and r.command == "PRIVMSG"]
    assert said == [line]


async def test_ctcp_version_names_highlightd(room: Room) -> None:
    await room.bob.privmsg(BOT, "\x01VERSION\x01")

    def version(line: ParsedLine) -> bool:
        return line.command == "NOTICE" and line.nick == BOT and "VERSION" in line.text

    reply = await room.bob.expect(version)
    assert reply.text == f"\x01VERSION highlightd {__version__}\x01"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hlbot: help", True),
        ("HLBOT, HELP", True),
        ("hlbot help", True),
        ("hlbot: help?", True),
        ("hlbot: help me with the build", False),
        ("help", False),
        ("alice: help", False),
        ("hlbot:", False),
    ],
)
def test_asks_for_help(text: str, expected: bool) -> None:
    assert asks_for_help(text, "hlbot", str.lower) is expected
