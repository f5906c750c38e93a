"""At INFO, the log says each decision that spends or withholds money, and little else."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from harness import (
    ALICE_PHONE,
    BOT,
    CHANNEL,
    NETWORK,
    add_user,
    in_channel,
    running,
    settings_dict,
    until_metric,
    wait_for_bot,
    web_port,
)
from highlightd.config import Settings
from servers import IrcClientFactory, IrcServer, RedisServer

pytestmark = pytest.mark.timeout(60)

DIGESTS = "highlightd.irc.digests"


async def test_sent_and_held_each_one_info_line(
    tmp_path: Path,
    irc_server: IrcServer,
    redis_server: RedisServer,
    irc_client_factory: IrcClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = settings_dict(tmp_path, irc_server, redis_server.url, None, web_port(), cooldown=600)
    settings = Settings(**data)
    await add_user(settings.storage.path, "alice", ALICE_PHONE)
    (bob,) = await in_channel(irc_client_factory, "bob")
    caplog.set_level(logging.INFO, "highlightd")
    async with running(settings) as hl:
        await wait_for_bot(bob)
        await bob.privmsg(CHANNEL, "nothing for anyone")
        await bob.privmsg(CHANNEL, "alice: first")
        await until_metric(hl, 'highlightd_sms_sent_total{result="sent"}')
        await bob.privmsg(CHANNEL, "alice: second")
        await until_metric(hl, 'decision="cooldown"')
        await bob.privmsg(BOT, "HELP")  # a self-service command
        await bob.expect(lambda line: line.command == "NOTICE" and line.nick == BOT)
        await bob.privmsg(BOT, "STATUS")
        await bob.expect(lambda line: line.command == "NOTICE" and line.nick == BOT)

    info = [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.INFO and r.name in ("highlightd.sms.sender", DIGESTS)
    ]
    assert len(info) == 2, info
    assert info[0].startswith("SMS ")  # sent: which SMS, to whom (masked), for whom
    assert "+1•••••0001" in info[0] and "alice" in info[0]
    assert re.fullmatch(
        rf"{NETWORK}/alice: highlight by bob in {CHANNEL} held \(cooldown: last SMS \d+ s ago "
        # The date shows when the digest falls on another day (a run near midnight).
        r"\(cooldown 600 s\)\); digest at (\d{4}-\d\d-\d\d )?\d\d:\d\d:\d\d at the earliest",
        info[1],
    )
    everything = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert not [m for m in everything if "registered users reloaded" in m]
    assert not [m for m in everything if "nothing for anyone" in m]
