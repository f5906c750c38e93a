"""The IRC side under attack, end to end against ngircd and the real daemon: command and
CTCP floods, a big channel, and nick churn. Each attack is made by the test."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from harness import ALICE_PHONE, BOT, NETWORK
from highlightd.config import NetworkSettings
from highlightd.irc import bounded, queuedclient
from highlightd.irc.network import Network
from highlightd.irc.selfservice import COMMANDS_PER_MINUTE
from highlightd.selfservice.commands import help_lines
from proxy import TcpProxy
from scene import Scene, SceneFactory
from servers import IrcClientFactory, IrcServer, IrcTestClient, ParsedLine, parse_line
from waiting import eventually

pytestmark = pytest.mark.timeout(90)

# Flood control as an operator gets it: no test-only speed-up.
DEFAULT_FLOOD = {
    "send_burst": NetworkSettings.model_fields["send_burst"].default,
    "send_rate": NetworkSettings.model_fields["send_rate"].default,
}
BIG = "#big"
CHURN = "#churn"
CHURN_SENDERS = 20_000
# A guard (not a timing check) for waits behind a backlog written at one line a second.
DRAIN = 120


@contextlib.asynccontextmanager
async def proxied(irc: IrcServer) -> AsyncIterator[TcpProxy]:
    """A proxy between the bot and ngircd: `sent` holds every line the bot wrote."""
    proxy = TcpProxy(irc.host, irc.port)
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()


def bot_wrote(proxy: TcpProxy) -> list[ParsedLine]:
    return [parse_line(raw) for raw in proxy.sent.decode().split("\r\n") if raw]


def network_of(s: Scene) -> Network:
    assert s.hl.daemon.irc is not None
    return s.hl.daemon.irc.networks[NETWORK]


def from_bot(line: ParsedLine) -> bool:
    return line.nick == BOT and line.command == "NOTICE"


async def flood(client: IrcTestClient, text: str, times: int) -> None:
    """text to the bot `times` times, then a PING: its PONG says the server passed them all."""
    for _ in range(times):
        await client.privmsg(BOT, text)
    await client.send_raw("PING :flooded")
    await client.expect(lambda line: line.command == "PONG" and line.text == "flooded")


async def notices_until_ctcp_ping(client: IrcTestClient) -> list[str]:
    """The bot's NOTICEs to client so far: its CTCP PING reply queues behind all of them."""
    await client.privmsg(BOT, "\x01PING mark\x01")
    reply = await client.expect(
        lambda line: from_bot(line) and line.text == "\x01PING mark\x01", DRAIN
    )
    before = client.received[: client.received.index(reply)]
    return [line.text for line in before if from_bot(line) and not line.text.startswith("\x01")]


@pytest.mark.timeout(240)
async def test_300_helps_do_not_hold_up_an_sms_answer_and_get_ten_answers(
    scene: SceneFactory, irc_server: IrcServer
) -> None:
    flooders = ("flood1", "flood2")
    async with (
        proxied(irc_server) as proxy,
        scene(
            clients=("alice", "bob", "carol", *flooders),
            network={"host": proxy.host, "port": proxy.port, **DEFAULT_FLOOD},
        ) as s,
    ):
        await s.mentioned()  # alice's answers go to bob
        for nick in flooders:
            await flood(s.clients[nick], "HELP", 300)
        await s.clients[flooders[-1]].expect(from_bot, DRAIN)  # their answers are leaving
        await s.hl.sms("on my way", ALICE_PHONE)
        said = await s.bob.expect_privmsg(from_nick=BOT, target="bob", timeout=DRAIN)
        assert said.text == "alice (SMS): on my way"
        # carol's HELP is handled after every flooder's: theirs are all queued by then.
        await s.clients["carol"].privmsg(BOT, "HELP")
        help_text = help_lines(None)
        await s.clients["carol"].expect(
            lambda line: from_bot(line) and line.text == help_text[-1], DRAIN
        )
        for nick in flooders:
            got = await notices_until_ctcp_ping(s.clients[nick])
            slow = [text for text in got if text.startswith("slow down")]
            assert len(slow) == 1, got
            assert [text for text in got if text not in slow] == help_text * COMMANDS_PER_MINUTE
        wrote = bot_wrote(proxy)
        answer_at = next(i for i, line in enumerate(wrote) if line.text == said.text)
        flood_lines = [
            i
            for i, line in enumerate(wrote)
            if line.command == "NOTICE" and line.params[0] in flooders
        ]
        before = [i for i in flood_lines if i < answer_at]
        # Flood control lets a burst out before the answer arrives; the bulk waits behind it.
        assert len(before) < len(flood_lines) / 2, (len(before), len(flood_lines))


async def test_500_ctcp_versions_get_one_reply(scene: SceneFactory) -> None:
    async with scene(clients=("alice", "bob", "mallory")) as s:
        mallory = s.clients["mallory"]
        await flood(mallory, "\x01VERSION\x01", 500)
        await mallory.privmsg(BOT, "\x01TIME\x01")  # another query in the same minute
        await s.bob.privmsg(BOT, "\x01VERSION\x01")  # another sender: a reply of its own
        await s.bob.expect(lambda line: from_bot(line) and line.text.startswith("\x01VERSION"))
        # A command after the flood: its answer queues behind every CTCP reply to mallory.
        await mallory.privmsg(BOT, "HELP")
        last = help_lines(None)[-1]
        await mallory.expect(lambda line: from_bot(line) and line.text == last)
        replies = [line for line in mallory.received if from_bot(line) and "\x01" in line.text]
        assert [line.text.split(" ")[0] for line in replies] == ["\x01VERSION"]


async def test_joining_a_100_user_channel_sends_no_whois(
    scene: SceneFactory, irc_server: IrcServer, irc_client_factory: IrcClientFactory
) -> None:
    crowd = [await irc_client_factory(f"user{i}") for i in range(100)]
    for client in crowd:
        await client.join(BIG)
    async with (
        proxied(irc_server) as proxy,
        scene(network={"host": proxy.host, "port": proxy.port, "channels": ["#chan", BIG]}) as s,
    ):
        network = network_of(s)
        everyone = {network.fold(c.nick) for c in crowd} | {network.fold(BOT)}
        await eventually(
            lambda: network.present(BIG),
            lambda present: present == everyone,
            what=f"the bot to know the 100 users of {BIG} from NAMES",
        )
        # A nick change and a stranger's private message made pydle WHOIS too.
        await crowd[0].send_raw("NICK renamed0")
        await crowd[0].expect(lambda line: line.command == "NICK" and line.text == "renamed0")
        stranger = await irc_client_factory("stranger")
        for client in (crowd[0], stranger):
            await client.privmsg(BOT, "HELP")
            # Answered after the NICK and the message were handled (a WHOIS goes first).
            await client.expect(from_bot)
        assert "renamed0" in network.present(BIG)
        wrote = bot_wrote(proxy)
        assert [line.raw for line in wrote if line.command == "WHOIS"] == []
        assert any(line.command == "JOIN" and line.params[0] == BIG for line in wrote)


class Churner:
    """A raw connection that changes nick and speaks, reading (and dropping) what comes back.

    Unlike IrcTestClient it keeps nothing it receives: the daemon runs in this process,
    and only its memory is measured.
    """

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer
        self._pongs: dict[str, asyncio.Event] = {}
        self._task = asyncio.create_task(self._read())

    @classmethod
    async def connect(cls, irc: IrcServer, nick: str, channel: str | None) -> Churner:
        reader, writer = await asyncio.open_connection(irc.host, irc.port)
        churner = cls(reader, writer)
        churner.send(f"NICK {nick}", f"USER {nick} 0 * :churn")
        if channel:
            churner.send(f"JOIN {channel}")
        await churner.sync("registered")
        return churner

    def send(self, *lines: str) -> None:
        self._writer.write("".join(f"{line}\r\n" for line in lines).encode())

    async def sync(self, token: str) -> None:
        """PING the server and wait for its PONG: everything sent before was handled."""
        self._pongs[token] = asyncio.Event()
        self.send(f"PING :{token}")
        await self._writer.drain()
        async with asyncio.timeout(DRAIN):
            await self._pongs[token].wait()

    async def _read(self) -> None:
        with contextlib.suppress(OSError):
            while line := await self._reader.readline():
                if line.startswith(b"PING "):
                    self.send("PONG " + line[5:].decode().strip())
                elif b" PONG " in line:
                    token = line.decode().rstrip("\r\n").rpartition(":")[2]
                    if token in self._pongs:
                        self._pongs[token].set()

    async def close(self) -> None:
        self._task.cancel()
        self._writer.close()
        with contextlib.suppress(OSError, asyncio.CancelledError):
            await self._task


async def churn(talkers: list[Churner], stranger: Churner, phase: str, senders: int) -> None:
    """`senders` one-off nicks: most say a line in CHURN, the rest CTCP the bot from outside."""
    per = senders // (len(talkers) + 1)
    for i in range(per):
        for k, talker in enumerate(talkers):
            talker.send(f"NICK {phase}t{k}n{i}", f"PRIVMSG {CHURN} :hello number {i}")
        stranger.send(f"NICK {phase}sn{i}", f"PRIVMSG {BOT} :\x01VERSION\x01")
        if i % 100 == 0:
            for churner in (*talkers, stranger):
                await churner.sync(f"{phase}{i}")
    for churner in (*talkers, stranger):
        await churner.sync(f"{phase}done")


def rss() -> int:
    """This process's resident memory in bytes, after a full collection."""
    gc.collect()
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.timeout(600)
async def test_20000_one_off_senders_leave_memory_flat(
    scene: SceneFactory, irc_server: IrcServer
) -> None:
    async with scene(network={"channels": ["#chan", CHURN]}) as s:
        network = network_of(s)
        talkers = [await Churner.connect(irc_server, f"talker{k}", CHURN) for k in range(3)]
        stranger = await Churner.connect(irc_server, "stranger", None)
        try:
            sms = 0
            for phase, senders in (("warm", 2_000), ("main", CHURN_SENDERS)):
                before = rss()
                await churn(talkers, stranger, phase, senders)
                # Some join, speak and quit for real.
                for i in range(20):
                    one = await Churner.connect(irc_server, f"{phase}q{i}", CHURN)
                    one.send(f"PRIVMSG {CHURN} :hi, bye", "QUIT :bye")
                    await one.close()
                # The last line mentions alice: her SMS says the daemon read everything before.
                talkers[0].send(f"PRIVMSG {CHURN} :alice: {phase} done")
                sms += 1
                await s.twilio.wait_for_messages(sms, timeout=DRAIN * 5)
                grown = rss() - before
            remembered = network.remembered()
        finally:
            for churner in (*talkers, stranger):
                await churner.close()
    assert grown < 5 * 1024 * 1024, f"RSS grew by {grown / 1e6:.1f} MB"
    assert remembered["last_spoke"] <= bounded.CAPACITY
    assert remembered["ctcp"] <= bounded.CAPACITY
    # pydle's user table: the channel members, and the most recent strangers.
    assert remembered["users"] <= 2 + 3 + 20 + queuedclient.STRANGERS, remembered
