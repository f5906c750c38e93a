"""What Twilio says after sending (core.delivery), and where the store keeps it."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from highlightd.core.delivery import error_code, pause_reason, rank, retry_delay
from highlightd.core.facts import InFlight
from highlightd.core.ircnames import nick_key
from highlightd.core.policy import Spend
from highlightd.core.records import User
from highlightd.core.status import PAUSED_UNTIL_RESUME, held_back, state_of
from highlightd.store import Store

ALICE = "+15551230001"
BOB = "+15551230002"
NOW = 1_800_000_000.0


async def add(store: Store, nick: str, phone: str = ALICE) -> User:
    return await store.users.add("libera", nick, nick_key(nick), phone)


@pytest.mark.parametrize(
    ("old", "new", "moves"),
    [
        ("queued", "sent", True),
        ("accepted", "sending", True),
        ("sent", "delivered", True),
        ("sent", "undelivered", True),
        ("delivered", "sent", False),  # a late `sent` never overwrites `delivered`
        ("delivered", "queued", False),
        ("failed", "delivered", False),  # a final status stays
        ("delivered", "delivered", False),
        ("printed", "delivered", True),  # the console's own status: anything known follows
        ("queued", "something-new", False),
    ],
)
def test_statuses_only_move_forward(old: str, new: str, moves: bool) -> None:
    assert (rank(new) > rank(old)) is moves


@pytest.mark.parametrize(
    ("value", "code"),
    [("21610", 21610), (" 30003 ", 30003), ("", None), (None, None), ("abc", None), ("-1", None)],
)
def test_error_code_from_the_form(value: str | None, code: int | None) -> None:
    assert error_code(value) == code


def test_retry_delay_doubles_up_to_the_cap() -> None:
    assert [retry_delay(n, 1.0, 10.0) for n in range(6)] == [1.0, 1.0, 2.0, 4.0, 8.0, 10.0]
    assert retry_delay(10_000, 0.5, 60.0) == 60.0  # no overflow however long it failed


def test_pause_reason_names_the_error() -> None:
    assert pause_reason(30003, 3) == (
        "3 SMS in a row undelivered (Twilio error 30003: unreachable handset)"
    )


def test_held_back_says_why_a_registration_gets_no_sms() -> None:
    user = User(1, "libera", "alice", ALICE, NOW)
    assert held_back(user, NOW) is None
    paused = User(1, "libera", "alice", ALICE, NOW, paused_until=PAUSED_UNTIL_RESUME)
    assert held_back(paused, NOW) == "paused until RESUME"
    why = pause_reason(30005, 3)
    auto = User(
        1, "libera", "alice", ALICE, NOW, paused_until=PAUSED_UNTIL_RESUME, paused_reason=why
    )
    assert held_back(auto, NOW) == f"paused until RESUME ({why})"
    assert state_of(auto, NOW) == f"paused until RESUME ({why})"
    assert held_back(User(1, "libera", "alice", ALICE, NOW, opted_out=True), NOW) == (
        "opted out (STOP)"
    )


# The store: sent_sms statuses, the count of undeliverable SMS per phone, pauses.


async def test_update_status_moves_forward_only_and_keeps_the_error(store: Store) -> None:
    await store.sent.record("SM1", None, ALICE, "queued")
    assert await store.sent.update_status("SM1", "delivered") is True
    assert await store.sent.update_status("SM1", "sent") is False
    assert await store.sent.status("SM1") == "delivered"
    await store.sent.record("SM2", None, ALICE, "queued")
    assert await store.sent.update_status("SM2", "undelivered", 30003) is True
    assert await store.sent.phone_of("SM2") == ALICE
    assert await store.sent.phone_of("SMnope") is None


async def test_undelivered_streak_counts_per_phone_until_cleared(store: Store) -> None:
    assert await store.sent.undelivered(ALICE, 30003, NOW) == 1
    assert await store.sent.undelivered(BOB, 30005, NOW) == 1
    assert await store.sent.undelivered(ALICE, 30006, NOW + 1) == 2
    assert await store.sent.undelivered_streak(ALICE) == (2, 30006)
    await store.sent.clear_undelivered(ALICE)
    assert await store.sent.undelivered_streak(ALICE) is None
    assert await store.sent.undelivered_streak(BOB) == (1, 30005)


async def test_pause_phone_keeps_the_reason_until_the_owner_changes_the_pause(
    store: Store,
) -> None:
    alice = await add(store, "alice")
    alias = await add(store, "alice_work")
    stopped = await add(store, "other")
    await store.users.set_opted_out(ALICE, True)
    await store.users.set_opted_out(ALICE, False)
    await store.users.update(stopped.id, opted_out=True)
    assert await store.users.pause_phone(ALICE, PAUSED_UNTIL_RESUME, "why") == 2
    for uid in (alice.id, alias.id):
        user = await store.users.by_id(uid)
        assert user is not None
        assert (user.paused_until, user.paused_reason) == (PAUSED_UNTIL_RESUME, "why")
    still = await store.users.by_id(stopped.id)
    assert still is not None and still.paused_reason is None  # opted out: left alone
    await store.users.update(alice.id, paused_until=None)  # RESUME
    resumed = await store.users.by_id(alice.id)
    assert resumed is not None
    assert (resumed.paused_until, resumed.paused_reason) == (None, None)


# The outbox (store.outgoing)


async def test_outbox_gives_each_phone_its_oldest_sms_first(store: Store) -> None:
    alice = await add(store, "alice")
    first = await store.outgoing.add(alice.id, ALICE, "one", "highlight", 1, NOW)
    await store.outgoing.add(alice.id, ALICE, "two", "highlight", 1, NOW)
    bounce = await store.outgoing.add(None, BOB, "why", "bounce", 1, NOW)
    assert [s.id for s in await store.outgoing.due(NOW)] == [first, bounce]
    await store.outgoing.later(first, "sending", NOW + 5, "HTTP 503")
    # alice's first waits, and her second waits behind it: her SMS go out in order.
    assert [s.id for s in await store.outgoing.due(NOW)] == [bounce]
    assert await store.outgoing.next_try(NOW) == NOW + 5
    [again, _] = await store.outgoing.due(NOW + 5)
    assert (again.id, again.state, again.attempts) == (first, "sending", 1)


async def test_an_sms_first_in_its_phones_line_is_marked_sending_as_it_goes_in(
    store: Store,
) -> None:
    alice = await add(store, "alice")
    bob = await add(store, "bob", BOB)
    one, marked = await store.outgoing.add_trying(
        alice.id, ALICE, "one", "highlight", 1, NOW, None, NOW + 0.5
    )
    assert marked
    [sms] = await store.outgoing.due(NOW)
    # Committed as an attempt: a crash before the request means a look-up, not a resend.
    assert (sms.id, sms.state, sms.first_try_at) == (one, "sending", NOW + 0.5)
    # Behind alice's first: waits its turn, unmarked.
    two, marked = await store.outgoing.add_trying(
        alice.id, ALICE, "two", "highlight", 1, NOW, None, NOW + 1
    )
    assert not marked
    assert (await store.outgoing.get(two)).state == "pending"  # type: ignore[union-attr]
    # A user who opted out since the decision: left to the sender's loop, which drops it.
    await store.users.update(bob.id, opted_out=1)
    _three, marked = await store.outgoing.add_trying(
        bob.id, BOB, "three", "highlight", 1, NOW, None, NOW + 1
    )
    assert not marked


async def test_outbox_rows_count_in_flight_until_sent_or_failed(store: Store) -> None:
    alice = await add(store, "alice")
    bob = await add(store, "bob", BOB)
    one = await store.outgoing.add(alice.id, ALICE, "one", "highlight", 1, NOW)
    two = await store.outgoing.add(alice.id, ALICE, "two", "highlight", 2, NOW + 1)
    await store.outgoing.add(bob.id, BOB, "three", "highlight", 1, NOW + 2)
    assert await store.outgoing.spend(alice.id, NOW, NOW) == (Spend(), InFlight(NOW + 1, 3, 4))
    [sms, *_] = await store.outgoing.due(NOW)
    await store.outgoing.sent(sms, "SM1", "queued", NOW + 3)
    await store.outgoing.fail(two, "HTTP 400")
    # Sent: counted as sent now, no longer in flight.
    assert await store.outgoing.spend(alice.id, NOW, NOW) == (
        Spend(NOW + 3, 1, 1),
        InFlight(None, 0, 1),
    )
    assert await store.outgoing.known(["SM1", "SM2"]) == {"SM1"}
    assert await store.outgoing.waiting() == 1
    assert [(s.id, why) for s, why in await store.outgoing.failed()] == [(two, "HTTP 400")]
    assert one == sms.id


async def test_a_digest_takes_its_held_highlights_in_one_transaction(store: Store) -> None:
    alice = await add(store, "alice")
    for n in range(3):
        await store.held.add(alice.id, "#chan", "bob", f"ping {n}", NOW + n, NOW + 60)
    held = await store.held.of(alice.id)
    ids = tuple(h.id for h in held[:2])
    await store.outgoing.add(alice.id, ALICE, "digest", "digest of 2", 1, NOW, releasing=ids)
    assert [h.text for h in await store.held.of(alice.id)] == ["ping 2"]
    assert await store.outgoing.waiting() == 1
    # A failure inside the transaction leaves both as they were, and undoes nothing
    # of what other tasks wrote meanwhile.
    failing = store.outgoing.add(12345, ALICE, "x", "digest of 1", 1, NOW, releasing=(held[2].id,))
    meanwhile = store.held.add(alice.id, "#chan", "bob", "ping 3", NOW + 3, NOW + 60)
    outcome = await asyncio.gather(failing, meanwhile, return_exceptions=True)
    assert isinstance(outcome[0], sqlite3.IntegrityError)
    assert [h.text for h in await store.held.of(alice.id)] == ["ping 2", "ping 3"]
    assert await store.outgoing.waiting() == 1


async def test_a_status_before_its_sms_is_recorded_waits_and_is_applied(store: Store) -> None:
    alice = await add(store, "alice")
    assert await store.sent.advance("SM1", "sent", None, ALICE, NOW) == (ALICE, True)
    assert await store.sent.advance("SM1", "failed", 30003, ALICE, NOW) == (ALICE, True)
    assert await store.sent.advance("SM1", "sent", None, ALICE, NOW) == (ALICE, False)
    assert await store.sent.advance("SM2", "sent", None, None, NOW) == (None, False)
    assert await store.sent.status("SM1") is None  # not ours until the sender says so
    sms_id = await store.outgoing.add(alice.id, ALICE, "hi", "highlight", 1, NOW)
    sms = await store.outgoing.get(sms_id)
    assert sms is not None
    await store.outgoing.sent(sms, "SM1", "queued", NOW)  # the create's answer, late
    assert await store.sent.status("SM1") == "failed"
    assert await store.sent.advance("SM1", "delivered", None, ALICE, NOW) == (ALICE, False)


async def test_accepted_sms_recorded_in_one_write_one_failing_alone(store: Store) -> None:
    """The Sender records the SMS accepted within a moment together (sms/recording.py):
    one whose user was removed while it was in flight fails alone."""
    alice = await add(store, "alice")
    bob = await add(store, "bob", BOB)
    await store.outgoing.add(alice.id, ALICE, "one", "highlight", 1, NOW)
    await store.outgoing.add(bob.id, BOB, "two", "highlight", 1, NOW)
    one, two = await store.outgoing.due(NOW)
    assert await store.users.remove("libera", nick_key("bob"))  # while "two" was in flight

    commits = store._database.writer.groups
    outcomes = await store.outgoing.sent_many(
        [(one, "SM1", "queued", NOW + 1), (two, "SM2", "queued", NOW + 1)]
    )

    assert outcomes[0] is None and isinstance(outcomes[1], sqlite3.IntegrityError)
    assert store._database.writer.groups == commits + 1  # both in one commit
    assert await store.sent.status("SM1") == "queued"
    assert await store.sent.status("SM2") is None
    assert await store.outgoing.waiting() == 0
