"""The Sender and its outbox against the fake Twilio API: each decided SMS exactly once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

import pytest

from fake_twilio import FakeTwilio
from highlightd.config import SmsSettings
from highlightd.core.ircnames import nick_key
from highlightd.core.records import User
from highlightd.infra.metrics import Metrics
from highlightd.sms.gateway import TwilioGateway
from highlightd.sms.sender import Sender
from highlightd.store import Store

PHONE = "+15551230001"
FAST = SmsSettings(backend="twilio", retry_delay=0.05, retry_delay_max=0.2)

pytestmark = pytest.mark.timeout(30)


@contextlib.asynccontextmanager
async def sending(
    store: Store,
    gateway: TwilioGateway,
    settings: SmsSettings = FAST,
    sender: Sender | None = None,
) -> AsyncIterator[tuple[Sender, Metrics]]:
    """A Sender running until the block ends (as the daemon's TaskGroup would stop it)."""
    metrics = Metrics()
    sender = sender or Sender(store, gateway, metrics, time.time, settings)
    task = asyncio.create_task(sender.run())
    try:
        yield sender, metrics
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def alice(store: Store) -> User:
    return await store.users.add("libera", "alice", nick_key("alice"), PHONE)


async def until_settled(store: Store) -> None:
    """Wait (with a guard) until the outbox has nothing left to try."""
    async with asyncio.timeout(15):
        while True:
            if not await store.outgoing.waiting():
                return
            await asyncio.sleep(0.02)


def sample(metrics: Metrics, result: str) -> float:
    value = metrics.registry.get_sample_value("highlightd_sms_sent_total", {"result": result})
    return value or 0.0


async def test_an_outage_delays_each_sms_and_sends_it_once(
    store: Store,
    gateway: TwilioGateway,
    fake_twilio: FakeTwilio,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="highlightd.sms.sender")
    user = await alice(store)
    fake_twilio.unavailable_for(1.5)
    async with sending(store, gateway) as (sender, metrics):
        for n in range(3):
            await sender.send(user, f"ping {n}", "highlight")
        messages = await fake_twilio.wait_for_messages(3)
        await until_settled(store)
    assert [m.body for m in messages] == ["ping 0", "ping 1", "ping 2"]
    assert len(fake_twilio.messages) == 3
    assert fake_twilio.requests > 3  # the outage was met
    assert sample(metrics, "sent") == 3
    said = [r.getMessage() for r in caplog.records if r.name == "highlightd.sms.sender"]
    assert len([m for m in said if "Twilio unavailable" in m]) == 1
    assert len([m for m in said if "Twilio is back" in m]) == 1


async def test_created_then_500_is_found_and_not_sent_again(
    store: Store,
    gateway: TwilioGateway,
    fake_twilio: FakeTwilio,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="highlightd.sms.sender")
    user = await alice(store)
    fake_twilio.fail_after_create_next(500)
    async with sending(store, gateway) as (sender, _):
        await sender.send(user, "ping", "highlight")
        [message] = await fake_twilio.wait_for_messages(1)
        await until_settled(store)
    assert (fake_twilio.requests, len(fake_twilio.messages)) == (1, 1)
    assert fake_twilio.list_requests >= 1
    assert await store.sent.status(message.sid) == "sent"  # recorded: budgets count it
    assert any("found in Twilio's list" in r.getMessage() for r in caplog.records)


async def test_created_then_no_answer_is_found_and_not_sent_again(
    store: Store, gateway: TwilioGateway, fake_twilio: FakeTwilio
) -> None:
    user = await alice(store)
    fake_twilio.hang_after_create_next()
    async with sending(store, gateway) as (sender, _):
        await sender.send(user, "ping", "highlight")
        [message] = await fake_twilio.wait_for_messages(1)
        await until_settled(store)
    assert (fake_twilio.requests, len(fake_twilio.messages)) == (1, 1)
    assert await store.sent.status(message.sid) is not None


async def test_sms_queued_behind_one_in_flight_go_at_once_and_in_order(
    store: Store, gateway: TwilioGateway, fake_twilio: FakeTwilio
) -> None:
    """An attempt that ends wakes the outbox's look only when it must (an SMS passed
    over meanwhile, a failure): those behind it wait for no timer (the look's is 60 s)."""
    user = await alice(store)
    fake_twilio.slow_next(0.3)  # in flight while the others are decided (timeout: 0.5 s)
    async with sending(store, gateway) as (sender, _):
        await asyncio.sleep(0.1)  # run has looked once: the first goes out from send
        for n in range(6):
            await sender.send(user, f"sms {n}", "highlight")
        messages = await fake_twilio.wait_for_messages(6, timeout=10)
        await until_settled(store)
    assert [m.body for m in messages] == [f"sms {n}" for n in range(6)]


async def test_two_alike_each_claim_their_own_message(
    store: Store, gateway: TwilioGateway, fake_twilio: FakeTwilio
) -> None:
    user = await alice(store)
    fake_twilio.fail_after_create_next(500)
    fake_twilio.fail_next(500, 20500, "Internal Server Error")  # the second: not created
    async with sending(store, gateway) as (sender, _):
        await sender.send(user, "same", "highlight")
        await sender.send(user, "same", "highlight")
        await fake_twilio.wait_for_messages(2)
        await until_settled(store)
    assert len(fake_twilio.messages) == 2  # one each: never 0, never 2, for one decision


async def test_an_sms_not_out_within_max_delay_is_given_up_once(
    store: Store,
    gateway: TwilioGateway,
    fake_twilio: FakeTwilio,
    caplog: pytest.LogCaptureFixture,
) -> None:
    user = await alice(store)
    fake_twilio.unavailable_for(60)
    settings = SmsSettings(backend="twilio", retry_delay=0.05, retry_delay_max=0.1, max_delay=0.5)
    async with sending(store, gateway, settings) as (sender, metrics):
        await sender.send(user, "ping", "highlight")
        await until_settled(store)
    [(failed, why)] = await store.outgoing.failed()
    assert failed.body == "ping"
    assert "503" in why
    assert sample(metrics, "expired") == 1
    given_up = [r.getMessage() for r in caplog.records if "given up" in r.getMessage()]
    assert given_up == [
        f"SMS {failed.id} (highlight) to +1•••••0001 not sent within sms.max_delay (0.5 s):"
        f" {why}; given up (it may have been sent)"
    ]
    assert fake_twilio.messages == []


async def test_error_21610_opts_the_phone_out_and_drops_what_waits(
    store: Store, gateway: TwilioGateway, fake_twilio: FakeTwilio
) -> None:
    user = await alice(store)
    fake_twilio.fail_next(400, 21610, "Attempt to send to unsubscribed recipient")
    async with sending(store, gateway) as (sender, metrics):
        await sender.send(user, "one", "highlight")
        await until_settled(store)
        stopped = await store.users.by_id(user.id)
        assert stopped is not None and stopped.opted_out
        await sender.send(user, "two", "highlight")  # decided before the opt-out was seen
        await until_settled(store)
    assert fake_twilio.messages == []
    assert fake_twilio.requests == 1
    assert [s.body for s, _ in await store.outgoing.failed()] == ["one", "two"]
    assert sample(metrics, "failed") == 1


async def test_a_restart_during_the_retry_sends_it_once(
    store: Store, gateway: TwilioGateway, fake_twilio: FakeTwilio
) -> None:
    user = await alice(store)
    fake_twilio.unavailable_for(60)
    async with sending(store, gateway) as (sender, _):
        await sender.send(user, "ping", "highlight")
        async with asyncio.timeout(10):  # a guard: until the first try met the outage
            while True:
                if fake_twilio.requests:
                    break
                await asyncio.sleep(0.02)
    # Stopped during the retry (the daemon stopping or killed): the row stays.
    assert await store.outgoing.waiting() == 1
    fake_twilio.available()
    async with sending(store, gateway):
        [message] = await fake_twilio.wait_for_messages(1)
        await until_settled(store)
    assert message.body == "ping"
    assert len(fake_twilio.messages) == 1


async def test_a_bounce_goes_through_the_outbox_too(
    store: Store, gateway: TwilioGateway, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.fail_next(429, 20429, "Too Many Requests")
    async with sending(store, gateway) as (sender, _):
        await sender.bounce(PHONE, "highlightd: nobody to answer")
        [message] = await fake_twilio.wait_for_messages(1)
        await until_settled(store)
    assert (message.to, message.body) == (PHONE, "highlightd: nobody to answer")
    assert fake_twilio.requests == 2
    assert fake_twilio.list_requests == 0  # a 429 proves nothing was created


async def test_a_listing_older_than_an_id_taken_again_sends_nothing_twice(
    store: Store, gateway: TwilioGateway, fake_twilio: FakeTwilio
) -> None:
    """SQLite gives the next row the id of the newest row deleted: a list of the outbox
    read before one SMS was sent may name, by its id, the next one (another phone)."""
    first = await alice(store)
    second = await store.users.add("libera", "bob", nick_key("bob"), "+15551230002")
    sender = Sender(store, gateway, Metrics(), time.time, FAST)
    await sender.send(first, "to alice", "highlight")
    (listed,) = await store.outgoing.due(time.time())  # the list, then alice's SMS is sent
    await store.outgoing.sent(listed, "SMalice", "queued", time.time())
    await sender.send(second, "to bob", "highlight")  # takes the id alice's SMS had
    (newer,) = await store.outgoing.due(time.time())
    assert newer.id == listed.id
    sender._busy.add(listed.phone)  # as the run loop reserves the phone listed
    await sender._attempt(listed)
    assert fake_twilio.messages == []  # bob's SMS is not tried on alice's reservation
    assert sender._busy == set()
    async with sending(store, gateway, sender=sender):
        await until_settled(store)
    assert [(m.to, m.body) for m in fake_twilio.messages] == [("+15551230002", "to bob")]
