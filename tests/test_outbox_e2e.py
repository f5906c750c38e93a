"""End to end: highlights through the durable SMS outbox, and what Twilio's callbacks change.

Real IRC and Redis servers, the daemon's real web server, the fake Twilio API
failing on command.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from fake_twilio import FakeMessage, FakeTwilio
from harness import (
    ALICE_PHONE,
    CHANNEL,
    Highlightd,
    add_user,
    in_channel,
    running,
    settings_dict,
    until_metric,
    until_outbox_empty,
    wait_for_bot,
    web_port,
)
from highlightd.config import Settings
from highlightd.store import Store
from servers import IrcClientFactory, IrcServer, IrcTestClient, RedisServer

pytestmark = pytest.mark.timeout(60)


@dataclass
class Scene:
    hl: Highlightd
    bob: IrcTestClient
    twilio: FakeTwilio
    settings: Settings

    async def callback(self, message: FakeMessage, status: str, error: int | None = None) -> None:
        """Twilio's status callback for one of its messages, signed."""
        form = {"MessageSid": message.sid, "MessageStatus": status, "To": message.to}
        if error is not None:
            form["ErrorCode"] = str(error)
        assert (await self.hl.post("/twilio/status", form)).status == 204


MakeScene = Callable[..., contextlib.AbstractAsyncContextManager[Scene]]


@pytest.fixture
def settings_of(
    tmp_path: Path, irc_server: IrcServer, redis_server: RedisServer, fake_twilio: FakeTwilio
) -> Callable[..., Settings]:
    def make(**policy: Any) -> Settings:
        data = settings_dict(tmp_path, irc_server, redis_server.url, fake_twilio, web_port())
        data["policy"] = {**data["policy"], **policy}
        # Short retries: an outage of seconds stands for one of minutes.
        data["sms"] = {**data["sms"], "retry_delay": 0.05, "retry_delay_max": 0.3}
        return Settings(**data)

    return make


@pytest.fixture
def scene(
    settings_of: Callable[..., Settings],
    fake_twilio: FakeTwilio,
    irc_client_factory: IrcClientFactory,
) -> MakeScene:
    """alice registered (not on IRC), bob in #chan, highlightd running with the [policy] given."""

    @contextlib.asynccontextmanager
    async def make(**policy: Any) -> AsyncIterator[Scene]:
        settings = settings_of(**policy)
        await add_user(settings.storage.path, "alice", ALICE_PHONE)
        [bob] = await in_channel(irc_client_factory, "bob")
        async with running(settings) as hl:
            await wait_for_bot(bob)
            yield Scene(hl, bob, fake_twilio, settings)

    return make


def bodies(messages: list[FakeMessage]) -> list[str]:
    return [m.body for m in messages]


async def test_twilio_down_then_healthy_texts_each_highlight_once(scene: MakeScene) -> None:
    async with scene() as s:
        s.twilio.unavailable_for(3)  # every request refused: 503, nothing created
        for n in range(1, 4):
            await s.bob.privmsg(CHANNEL, f"alice: during the outage {n}")
        messages = await s.twilio.wait_for_messages(3, timeout=20)
        await until_outbox_empty(s.settings.storage.path)
    assert bodies(messages) == [f"[#chan] <bob> alice: during the outage {n}" for n in (1, 2, 3)]
    assert len(s.twilio.messages) == 3
    assert s.twilio.requests > 3  # the outage was met


async def test_an_api_that_creates_then_answers_500_sends_one_sms(scene: MakeScene) -> None:
    async with scene() as s:
        s.twilio.fail_after_create_next(500)
        await s.bob.privmsg(CHANNEL, "alice: once")
        [message] = await s.twilio.wait_for_messages(1)
        await until_outbox_empty(s.settings.storage.path)
        store = await Store.open(s.settings.storage.path)
        try:
            assert await store.sent.status(message.sid) == "sent"  # recorded: budgets see it
        finally:
            await store.close()
    assert len(s.twilio.messages) == 1
    assert s.twilio.requests == 1  # found in the list: not sent again
    assert s.twilio.list_requests >= 1


async def test_a_digest_that_cannot_be_sent_is_sent_later_whole(
    settings_of: Callable[..., Settings],
    fake_twilio: FakeTwilio,
    irc_client_factory: IrcClientFactory,
) -> None:
    settings = settings_of(cooldown=2)
    await add_user(settings.storage.path, "alice", ALICE_PHONE)
    [bob] = await in_channel(irc_client_factory, "bob")
    async with running(settings) as hl:
        await wait_for_bot(bob)
        await bob.privmsg(CHANNEL, "alice: ping 1")
        await fake_twilio.wait_for_messages(1)
        fake_twilio.unavailable_for(600)
        for n in range(2, 5):  # within the cooldown: held for one digest
            await bob.privmsg(CHANNEL, f"alice: ping {n}")
        await until_metric(hl, 'decision="cooldown"', 3)
        digest = await _tried_digest(settings.storage.path)
    # The daemon stopped while the digest could not go out: it waits in the outbox,
    # and the highlights it holds are no longer held (one or the other, never neither).
    store = await Store.open(settings.storage.path)
    try:
        assert await store.held.until() == {}
        assert await store.outgoing.waiting() == 1
    finally:
        await store.close()
    fake_twilio.available()
    async with running(settings):
        _, sent = await fake_twilio.wait_for_messages(2)
        await until_outbox_empty(settings.storage.path)
    assert sent.body == digest == "3 highlights: [#chan] <bob> alice: ping 4 (+2 more in #chan)"
    assert len(fake_twilio.messages) == 2


async def _tried_digest(path: Path) -> str:
    """The digest's body, once an attempt to send it failed (a wait with a guard)."""
    store = await Store.open(path)
    try:
        async with asyncio.timeout(15):
            while True:
                [*rows] = await store.outgoing.due(sys.float_info.max)
                tried = [r for r in rows if r.kind.startswith("digest") and r.attempts]
                if tried:
                    return tried[0].body
                await asyncio.sleep(0.02)
    finally:
        await store.close()


async def test_error_21610_in_a_callback_opts_out_and_the_next_highlight_is_not_texted(
    scene: MakeScene, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="highlightd.sms.delivery")
    async with scene() as s:
        await s.bob.privmsg(CHANNEL, "alice: first")
        [first] = await s.twilio.wait_for_messages(1)
        await s.callback(first, "failed", 21610)
        await s.bob.privmsg(CHANNEL, "alice: second")
        await until_metric(s.hl, 'decision="opted_out"')
        await until_outbox_empty(s.settings.storage.path)
    assert bodies(s.twilio.messages) == ["[#chan] <bob> alice: first"]
    said = [r.getMessage() for r in caplog.records if "opted out" in r.getMessage()]
    assert said == [
        f"+1•••••0001 opted out (Twilio error 21610 on SMS {first.sid}): no more SMS until START"
    ]


async def test_a_callback_before_its_sms_is_recorded_still_counts(scene: MakeScene) -> None:
    async with scene() as s:
        s.twilio.fail_after_create_next(500)  # sent, but the sender does not know yet
        await s.bob.privmsg(CHANNEL, "alice: first")
        [first] = await s.twilio.wait_for_messages(1)
        s.twilio.unavailable_for(2)  # nor can it find out for a while
        await s.callback(first, "failed", 21610)
        await until_outbox_empty(s.settings.storage.path)  # found in the list at last
        await s.bob.privmsg(CHANNEL, "alice: second")
        await until_metric(s.hl, 'decision="opted_out"')
        store = await Store.open(s.settings.storage.path)
        try:
            assert await store.sent.status(first.sid) == "failed"
        finally:
            await store.close()
    assert (len(s.twilio.messages), s.twilio.requests) == (1, 1)


async def test_a_late_sent_after_delivered_keeps_delivered(scene: MakeScene) -> None:
    async with scene() as s:
        await s.bob.privmsg(CHANNEL, "alice: hi")
        [message] = await s.twilio.wait_for_messages(1)
        await until_outbox_empty(s.settings.storage.path)
        await s.callback(message, "delivered")
        await s.callback(message, "sent")  # callbacks arrive out of order
        store = await Store.open(s.settings.storage.path)
        try:
            assert await store.sent.status(message.sid) == "delivered"
        finally:
            await store.close()


async def test_three_undeliverable_in_a_row_pause_the_phone_and_users_list_says_why(
    scene: MakeScene, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    async with scene() as s:
        for n in range(1, 6):
            await s.bob.privmsg(CHANNEL, f"alice: {n}")
        messages = await s.twilio.wait_for_messages(5)
        await until_outbox_empty(s.settings.storage.path)
        await s.callback(messages[0], "undelivered", 30003)
        await s.callback(messages[1], "delivered")  # starts the count again
        await s.callback(messages[2], "undelivered", 30005)
        await s.callback(messages[3], "failed", 30006)
        assert await _listed(s.settings, tmp_path) == "testnet\talice\t+1•••••0001"
        await s.callback(messages[4], "undelivered", 30003)
        await s.callback(messages[4], "undelivered", 30003)  # Twilio repeating itself
        await s.bob.privmsg(CHANNEL, "alice: paused now")
        await until_metric(s.hl, 'decision="paused"')
        await until_outbox_empty(s.settings.storage.path)
        listed = await _listed(s.settings, tmp_path)
    assert len(s.twilio.messages) == 5
    reason = "3 SMS in a row undelivered (Twilio error 30003: unreachable handset)"
    assert listed == f"testnet\talice\t+1•••••0001\tpaused until RESUME ({reason})"
    paused = [r.getMessage() for r in caplog.records if "paused" in r.getMessage()]
    assert paused == [f"+1•••••0001 paused (1 registration(s)) until RESUME: {reason}"]


async def _listed(settings: Settings, tmp_path: Path) -> str:
    """`highlightd users list`, run as the admin runs it, beside the daemon."""
    config = tmp_path / "cli.toml"
    config.write_text(f'[storage]\npath = "{settings.storage.path}"\n')
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "highlightd",
        "users",
        "list",
        "--config",
        str(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    return out.decode().strip()
