"""The spend book: what the decisions read instead of the database, kept in memory. It
must say what `store.outgoing.spend` reads from the tables, through sends, failures,
another process's writes and midnight."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from highlightd.config import SmsSettings
from highlightd.core.ircnames import nick_key
from highlightd.core.policy import Rules
from highlightd.core.records import User
from highlightd.infra.metrics import Metrics
from highlightd.irc.directory import Directory
from highlightd.sms.budget import spend_of
from highlightd.sms.gateway import TwilioGateway
from highlightd.sms.sender import Sender
from highlightd.sms.spending import SpendBook
from highlightd.store import Store
from waiting import eventually

pytestmark = pytest.mark.timeout(30)

PARIS = ZoneInfo("Europe/Paris")
TOKYO = "Asia/Tokyo"
# 23:50 in Paris on 2026-06-15 (UTC+2)
EVENING = dt.datetime(2026, 6, 15, 23, 50, tzinfo=PARIS).timestamp()
RULES = Rules(frozenset(), 5, 300.0, 300.0, 100, 1000, 3, PARIS)


async def settle(sender: Sender, store: Store) -> None:
    """Run the sender until the outbox has nothing left to try."""
    task = asyncio.create_task(sender.run())
    try:
        await eventually(store.outgoing.waiting, lambda n: n == 0, what="an empty outbox")
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def agree(book: SpendBook, store: Store, user_id: int, since: float) -> None:
    assert book.spend(user_id, since, since) == await store.outgoing.spend(user_id, since, since)


async def test_the_book_reads_as_the_tables_through_a_senders_work(
    store: Store, gateway: TwilioGateway
) -> None:
    alice = await store.users.add("libera", "alice", nick_key("alice"), "+15551230001")
    bob = await store.users.add("libera", "bob", nick_key("bob"), "+15551230002")
    settings = SmsSettings(backend="twilio", retry_delay=0.05, retry_delay_max=0.2)
    sender = Sender(store, gateway, Metrics(), lambda: EVENING, settings)
    book = sender.book
    await book.load()
    await sender.send(alice, "one", "highlight")
    await sender.send(alice, "two " * 60, "highlight")  # two segments
    await sender.send(bob, "three", "highlight")
    await sender.bounce("+15551230009", "not said")
    for uid in (alice.id, bob.id):
        await agree(book, store, uid, 0.0)  # all of it waiting in the outbox
    await settle(sender, store)
    await store.users.set_opted_out(bob.phone, True)
    bob_out = await store.users.by_id(bob.id)
    assert bob_out is not None
    await sender.send(bob_out, "four", "highlight")  # given up: opted out
    await settle(sender, store)
    for uid in (alice.id, bob.id):
        for since in (0.0, EVENING, EVENING + 1):
            await agree(book, store, uid, since)
    spend, in_flight = book.spend(alice.id, 0.0, 0.0)
    assert (spend.user_segments_today, spend.global_segments_today) == (3, 5)
    assert in_flight.all_segments == 0
    fresh = SpendBook(store, lambda: EVENING)  # what a restart reads
    await fresh.load()
    assert fresh.spend(bob.id, 0.0, 0.0) == book.spend(bob.id, 0.0, 0.0)


async def test_another_process_sends_count_at_the_next_poll(store: Store, tmp_path: Path) -> None:
    alice = await store.users.add("libera", "alice", nick_key("alice"), "+15551230001")
    book = SpendBook(store, lambda: EVENING)
    directory = Directory(store, also=book.load)
    await directory.refresh()
    other = await Store.open(tmp_path / "highlightd.sqlite3")  # as the CLI or another role
    try:
        await other.sent.record("SMother", alice.id, alice.phone, "sent", 2, EVENING - 60)
    finally:
        await other.close()
    assert book.spend(alice.id, 0.0, 0.0)[0].user_segments_today == 0  # not polled yet
    await directory.refresh()  # what the watcher does every POLL_INTERVAL
    await agree(book, store, alice.id, 0.0)
    assert book.spend(alice.id, 0.0, 0.0)[0].user_segments_today == 2


async def test_a_change_during_a_load_counts_once(store: Store) -> None:
    alice = await store.users.add("libera", "alice", nick_key("alice"), "+15551230001")
    book = SpendBook(store, lambda: EVENING)
    stored = await store.outgoing.add(alice.id, alice.phone, "in", "highlight", 1, EVENING)
    loading = asyncio.create_task(book.load())
    await asyncio.sleep(0)  # the load has asked the database
    book.decided(stored, alice.id, EVENING, 1)  # committed before the load read: in it too
    book.decided(stored + 1, alice.id, EVENING + 1, 2)  # "after" the snapshot
    await loading
    in_flight = book.spend(alice.id, 0.0, 0.0)[1]
    assert (in_flight.user_segments, in_flight.all_segments) == (3, 3)
    assert in_flight.last_at == EVENING + 1


async def test_a_new_day_starts_at_each_users_own_midnight(store: Store) -> None:
    paris = await store.users.add("libera", "alice", nick_key("alice"), "+15551230001")
    await store.users.update(paris.id, timezone="Europe/Paris")
    tokyo = await store.users.add("libera", "bob", nick_key("bob"), "+15551230002")
    await store.users.update(tokyo.id, timezone=TOKYO)
    now = [EVENING]
    book = SpendBook(store, lambda: now[0])
    for user in (paris, tokyo):  # 23:45 in Paris, 06:45 the next morning in Tokyo
        await store.sent.record(f"SM{user.id}", user.id, user.phone, "sent", 1, EVENING - 300)
    await book.load()
    users = [await store.users.by_id(u.id) for u in (paris, tokyo)]
    alice, bob = (u for u in users if u is not None)

    def today(user: User) -> tuple[int, int]:
        spend = spend_of(book, user, now[0], RULES)[0]
        return spend.user_segments_today, spend.global_segments_today

    assert today(alice) == (1, 2)
    assert today(bob) == (1, 2)
    now[0] = EVENING + 15 * 60  # 00:05 in Paris: a new day for alice and for everyone
    assert today(alice) == (0, 0)
    assert today(bob) == (1, 0)  # 07:05 in Tokyo: still the day it was sent
    book.sent(0, "SMlate", bob.id, now[0], 1)  # a send after midnight counts today
    assert today(bob) == (2, 1)
    assert spend_of(book, bob, now[0], RULES)[0].last_sms_at == now[0]
