"""One fault, injected for real, never ends the daemon: it is alive, /healthz tells the
truth, and the next line and the next answer work."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fake_twilio import FakeTwilio
from harness import (
    ALICE_PHONE,
    BOT,
    CHANNEL,
    Highlightd,
    add_user,
    in_channel,
    running,
    settings_dict,
    until_healthz,
    until_metric,
    wait_for_bot,
    web_port,
)
from highlightd.config import Settings
from servers import IrcClientFactory, IrcServer, IrcTestClient

pytestmark = pytest.mark.timeout(60)

# Another process (a backup, the CLI) holding the write lock: sqlite3 alone, no thread.
HOLD_LOCK = """
import sqlite3, sys, time
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
db.execute("COMMIT")
"""
LOCK_HELD = 8.0


@dataclass
class World:
    hl: Highlightd
    bob: IrcTestClient
    twilio: FakeTwilio

    async def highlight(self, text: str, count: int) -> str:
        """bob mentions alice; wait until the fake has `count` SMS; the last one's body."""
        await self.bob.privmsg(CHANNEL, f"alice: {text}")
        return (await self.twilio.wait_for_messages(count))[-1].body

    async def answer(self, text: str) -> None:
        """alice answers by SMS, and bob reads it on IRC."""
        await self.hl.sms(text)
        line = await self.bob.expect_privmsg(from_nick=BOT, target="bob")
        assert line.text == f"alice (SMS): {text}"


@pytest.fixture
async def world(
    tmp_path: Path,
    irc_server: IrcServer,
    fake_twilio: FakeTwilio,
    irc_client_factory: IrcClientFactory,
) -> AsyncIterator[World]:
    """highlightd on its embedded Valkey, alice registered, bob in #chan."""
    settings = Settings(**settings_dict(tmp_path, irc_server, "embedded", fake_twilio, web_port()))
    await add_user(settings.storage.path, "alice", ALICE_PHONE)
    [bob] = await in_channel(irc_client_factory, "bob")
    async with running(settings) as hl:
        await wait_for_bot(bob)
        yield World(hl, bob, fake_twilio)


@pytest.mark.parametrize(
    "answer",
    [b'{"sid": "SM\xff\xfe", "status": "queued"}', b'[{"sid": "SM1", "status": "queued"}]'],
    ids=["invalid-utf8", "json-list"],
)
async def test_unreadable_twilio_answer_fails_one_send_and_the_daemon_goes_on(
    world: World, answer: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    world.twilio.garble_next(answer)
    assert await world.highlight("first", 1) == "[#chan] <bob> alice: first"
    # The message may exist (Twilio created it here): no blind second attempt; it is
    # looked up in Twilio's Messages list, found, and recorded as sent.
    await until_metric(world.hl, 'highlightd_sms_sent_total{result="sent"}')
    assert world.twilio.requests == 1
    assert world.twilio.list_requests >= 1
    assert any("Unreadable Twilio API answer" in r.getMessage() for r in caplog.records)
    assert (await world.hl.healthz())[0] == 200
    assert await world.highlight("second", 2) == "[#chan] <bob> alice: second"
    await world.answer("both seen")


async def test_database_locked_8s_by_another_process_delays_and_loses_nothing(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="highlightd.store.database")
    await world.highlight("before", 1)  # answers go to bob from now on
    holder = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        HOLD_LOCK,
        str(world.hl.settings.storage.path),
        str(LOCK_HELD),
        stdout=asyncio.subprocess.PIPE,
    )
    assert holder.stdout is not None
    assert await holder.stdout.readline() == b"locked\n"
    await world.bob.privmsg(CHANNEL, "alice: during the lock")
    # The webhook stores the SMS before it answers: it waits for the lock too.
    answered = asyncio.create_task(world.hl.sms("during the lock"))
    async with asyncio.timeout(LOCK_HELD):  # past the busy timeout, the wait is logged
        while True:
            if any("database is locked" in r.getMessage() for r in caplog.records):
                break
            await asyncio.sleep(0.05)
    assert not answered.done()
    # Alive meanwhile, and true to the state: IRC and Redis are fine.
    assert (await world.hl.healthz())[0] == 200
    assert await holder.wait() == 0

    [*_, during] = await world.twilio.wait_for_messages(2, timeout=15)
    assert during.body == "[#chan] <bob> alice: during the lock"
    await answered
    line = await world.bob.expect_privmsg(from_nick=BOT, target="bob", timeout=15)
    assert line.text == "alice (SMS): during the lock"
    assert await world.highlight("after", 3) == "[#chan] <bob> alice: after"
    await world.answer("after")
    waits = [r.getMessage() for r in caplog.records if r.name == "highlightd.store.database"]
    # Logged once when the wait started and once when it ended, however many queries waited.
    assert len(waits) == 2, waits
    assert "database is locked" in waits[0] and "writable again" in waits[1]


async def test_embedded_valkey_sigkilled_during_200_answers_all_are_said(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="highlightd.infra.embedded")
    embedded = world.hl.daemon.embedded
    assert embedded is not None and embedded.pid is not None
    first_pid = embedded.pid
    await world.highlight("count for me", 1)
    wanted = {f"alice (SMS): answer {i}" for i in range(200)}
    for i in range(200):
        await world.hl.sms(f"answer {i}")
        if i == 60:
            os.kill(first_pid, signal.SIGKILL)
    said: list[str] = []
    async with asyncio.timeout(45):
        while not wanted <= set(said):
            line = await world.bob.expect_privmsg(from_nick=BOT, target="bob", timeout=45)
            said.append(line.text)
    assert set(said) == wanted
    assert embedded.pid not in (None, first_pid)  # restarted, with no operator
    await until_healthz(world.hl, 200)
    messages = [r.getMessage() for r in caplog.records if r.name == "highlightd.infra.embedded"]
    assert any("embedded redis (valkey) unavailable (exited with code -9)" in m for m in messages)
    assert any("embedded redis (valkey) is back" in m for m in messages)
