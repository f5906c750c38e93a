from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from highlightd.core.ircnames import nick_key
from highlightd.core.records import Highlight, IncomingSms, User
from highlightd.irc.directory import Directory
from highlightd.store import SchemaTooNew, Store, UserExists
from highlightd.store.schema import MIGRATIONS

ALICE = "+15551230001"
BOB = "+15551230002"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "highlightd.sqlite3"


@pytest.fixture
async def store(db_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(db_path)
    try:
        yield store
    finally:
        await store.close()


def pragma(path: Path, name: str) -> object:
    with sqlite3.connect(path) as db:
        return db.execute(f"PRAGMA {name}").fetchone()[0]


async def add(store: Store, nick: str, phone: str = ALICE, network: str = "libera") -> User:
    return await store.users.add(network, nick, nick_key(nick), phone)


def sms(sid: str, at: float, body: str = "hi", phone: str = ALICE) -> IncomingSms:
    return IncomingSms(sid, phone, body, at)


# Schema and migrations


async def test_fresh_database_is_migrated_and_in_wal_mode(store: Store, db_path: Path) -> None:
    assert pragma(db_path, "user_version") == len(MIGRATIONS)
    assert pragma(db_path, "journal_mode") == "wal"
    with sqlite3.connect(db_path) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"users", "last_highlight", "sent_sms", "received_sms"} <= tables


async def test_reopening_does_not_migrate_again(
    db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="highlightd.store.database")
    first = await Store.open(db_path)
    try:
        await add(first, "alice")
    finally:
        await first.close()
    migrated = [r.getMessage() for r in caplog.records if "schema migrated" in r.getMessage()]
    assert migrated == [f"database schema migrated to version {len(MIGRATIONS)}"]
    caplog.clear()

    second = await Store.open(db_path)
    try:
        assert [u.nick for u in await second.users.all()] == ["alice"]
    finally:
        await second.close()
    assert [r for r in caplog.records if "schema migrated" in r.getMessage()] == []
    assert pragma(db_path, "user_version") == len(MIGRATIONS)


async def test_newer_schema_refuses_to_open(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    newer = len(MIGRATIONS) + 1
    with sqlite3.connect(db_path) as db:
        db.execute(f"PRAGMA user_version = {newer}")
    with pytest.raises(SchemaTooNew, match="newer than this highlightd") as caught:
        await Store.open(db_path)
    assert f"version {newer}" in str(caught.value)
    assert "upgrade highlightd" in str(caught.value)
    assert pragma(db_path, "user_version") == newer


# Users


async def test_add_and_list_users(store: Store) -> None:
    alice = await add(store, "Alice")
    bob = await add(store, "bob", BOB, network="oftc")
    carol = await add(store, "carol", BOB)
    assert alice.id != bob.id != carol.id
    assert (alice.network, alice.nick, alice.phone) == ("libera", "Alice", ALICE)
    assert await store.users.all() == [alice, carol, bob]  # by network, then nick
    assert await store.users.all("libera") == [alice, carol]
    assert await store.users.all("oftc") == [bob]
    assert await store.users.all("efnet") == []


async def test_add_same_nick_key_raises_user_exists(store: Store) -> None:
    await add(store, "[alice]")
    with pytest.raises(UserExists, match=r"\{ALICE\} is already registered on libera"):
        await add(store, "{ALICE}", BOB)
    assert len(await store.users.all()) == 1
    # Another network is another namespace.
    await add(store, "[alice]", network="oftc")
    assert len(await store.users.all()) == 2


async def test_remove_user(store: Store) -> None:
    await add(store, "alice")
    bob = await add(store, "bob", BOB)
    assert await store.users.remove("libera", nick_key("ALICE")) is True
    assert await store.users.all() == [bob]
    assert await store.users.remove("libera", nick_key("alice")) is False
    assert await store.users.remove("oftc", nick_key("bob")) is False
    assert await store.users.all() == [bob]


async def test_users_by_phone(store: Store) -> None:
    alice = await add(store, "alice")
    alice_oftc = await add(store, "alice", network="oftc")
    await add(store, "bob", BOB)
    found = await store.users.by_phone(ALICE)
    assert sorted(found, key=lambda u: u.id) == [alice, alice_oftc]
    assert await store.users.by_phone("+15559990000") == []


# Reply routing


async def test_last_highlight_picks_the_most_recent_of_several_users(store: Store) -> None:
    a = await add(store, "alice")
    b = await add(store, "alice", network="oftc")
    c = await add(store, "bob", BOB)
    await store.users.set_last_highlight(Highlight(a.id, "#one", "x", 100.0))
    await store.users.set_last_highlight(Highlight(b.id, "#two", "y", 200.0))
    await store.users.set_last_highlight(Highlight(c.id, "#three", "z", 300.0))

    assert await store.users.last_highlight([a.id, b.id]) == Highlight(b.id, "#two", "y", 200.0)
    assert await store.users.last_highlight([a.id]) == Highlight(a.id, "#one", "x", 100.0)
    assert await store.users.last_highlight([a.id, b.id, c.id]) == Highlight(
        c.id, "#three", "z", 300.0
    )
    assert await store.users.last_highlight([]) is None
    assert await store.users.last_highlight([c.id + 100]) is None


async def test_last_highlight_updates_on_conflict(store: Store) -> None:
    a = await add(store, "alice")
    b = await add(store, "alice", network="oftc")
    await store.users.set_last_highlight(Highlight(a.id, "#one", "x", 100.0))
    await store.users.set_last_highlight(Highlight(b.id, "#two", "y", 200.0))
    await store.users.set_last_highlight(Highlight(a.id, "#new", "w", 300.0))
    assert await store.users.last_highlight([a.id]) == Highlight(a.id, "#new", "w", 300.0)
    assert await store.users.last_highlight([a.id, b.id]) == Highlight(a.id, "#new", "w", 300.0)


async def test_removing_a_user_removes_its_last_highlight(store: Store, db_path: Path) -> None:
    a = await add(store, "alice")
    await store.users.set_last_highlight(Highlight(a.id, "#one", "x", 100.0))
    assert await store.users.remove("libera", nick_key("alice"))
    assert await store.users.last_highlight([a.id]) is None
    with sqlite3.connect(db_path) as db:
        assert db.execute("SELECT count(*) FROM last_highlight").fetchone()[0] == 0


async def test_last_highlight_needs_an_existing_user(store: Store) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        await store.users.set_last_highlight(Highlight(12345, "#one", "x", 100.0))


# Sent SMS


async def test_sent_sms_status(store: Store, db_path: Path) -> None:
    a = await add(store, "alice")
    assert await store.sent.last_sent_at(a.id) is None
    await store.sent.record("SM1", a.id, ALICE, "queued")
    await store.sent.record("SM2", a.id, ALICE, "queued")
    await store.sent.record("SM3", None, BOB, "failed")
    assert await store.sent.status("SM1") == "queued"
    assert await store.sent.status("SM3") == "failed"
    assert await store.sent.status("SMnope") is None

    assert await store.sent.update_status("SM1", "delivered") is True
    assert await store.sent.status("SM1") == "delivered"
    assert await store.sent.status("SM2") == "queued"
    assert await store.sent.update_status("SMnope", "delivered") is False
    assert await store.sent.status("SMnope") is None

    with sqlite3.connect(db_path) as db:
        newest = db.execute("SELECT max(created_at) FROM sent_sms WHERE user_id = ?", (a.id,))
        assert await store.sent.last_sent_at(a.id) == newest.fetchone()[0]


async def test_removing_a_user_keeps_its_sent_sms(store: Store) -> None:
    a = await add(store, "alice")
    await store.sent.record("SM1", a.id, ALICE, "sent")
    await store.users.remove("libera", nick_key("alice"))
    assert await store.sent.status("SM1") == "sent"
    assert await store.sent.last_sent_at(a.id) is None


# Received SMS


async def test_accept_incoming_deduplicates_by_sid(store: Store) -> None:
    assert await store.received.accept(sms("SM1", 10.0, "first")) is True
    assert await store.received.accept(sms("SM1", 11.0, "retry")) is False
    assert await store.received.accept(sms("SM2", 12.0)) is True
    assert await store.received.unconfirmed() == [sms("SM1", 10.0, "first"), sms("SM2", 12.0)]


@pytest.mark.parametrize("surely", [False, True])
async def test_take_if_answer_stores_a_registered_senders_answer_once(
    store: Store, surely: bool
) -> None:
    # surely: the one-statement path the webhook takes for a plain answer.
    await add(store, "alice")
    take = store.received.take_if_answer
    assert await take(sms("SM1", 10.0, phone=BOB), lambda _u: True, surely=surely) == (False, None)
    assert await take(sms("SM2", 11.0), lambda _u: True, surely=surely) == (True, True)
    assert await take(sms("SM2", 12.0, "retry"), lambda _u: True, surely=surely) == (True, False)
    assert await take(sms("SM3", 13.0), lambda _u: False) == (True, None)  # a command
    assert await store.received.unconfirmed() == [sms("SM2", 11.0)]


async def test_plain_answers_of_one_group_are_stored_together_and_each_told_its_outcome(
    store: Store,
) -> None:
    await add(store, "alice")
    take = store.received.take_if_answer
    assert await take(sms("SMcopy", 1.0), lambda _u: True) == (True, True)
    plain = [sms(f"SM{n}", 10.0 + n) for n in range(8)]
    # Stored in one statement (store/taking.py); then with a stranger and a copy among
    # them, which undo that statement: each is taken alone.
    assert (
        await asyncio.gather(*(take(s, lambda _u: True, surely=True) for s in plain))
        == [(True, True)] * 8
    )
    mixed = [sms("SMa", 20.0), sms("SMx", 21.0, phone=BOB), sms("SMcopy", 22.0), sms("SMb", 23.0)]
    outcomes = await asyncio.gather(*(take(s, lambda _u: True, surely=True) for s in mixed))
    assert outcomes == [(True, True), (False, None), (True, False), (True, True)]
    stored = await store.received.unconfirmed(limit=100)
    assert [s.sid for s in stored] == ["SMcopy", *(s.sid for s in plain), "SMa", "SMb"]


async def test_take_if_answer_takes_over_a_claim_left_undecided(store: Store) -> None:
    await add(store, "alice")
    assert await store.received.claim(sms("SM1", 10.0)) is True  # its process died here
    take = store.received.take_if_answer
    assert await take(sms("SM1", 11.0), lambda _u: True, surely=True) == (True, False)
    assert await store.received.unconfirmed() == []
    taken = await take(sms("SM1", 12.0), lambda _u: True, take_over=True, surely=True)
    assert taken == (True, True)
    assert await store.received.unconfirmed() == [sms("SM1", 12.0)]


async def test_unconfirmed_in_order_and_confirm(store: Store) -> None:
    for sid, at in [("SMc", 30.0), ("SMa", 10.0), ("SMb", 20.0)]:
        await store.received.accept(sms(sid, at))
    assert [s.sid for s in await store.received.unconfirmed()] == ["SMa", "SMb", "SMc"]
    assert [s.sid for s in await store.received.unconfirmed(limit=2)] == ["SMa", "SMb"]

    await store.received.confirm(["SMb"])
    assert [s.sid for s in await store.received.unconfirmed()] == ["SMa", "SMc"]
    await store.received.confirm(["SMa"])
    await store.received.confirm(["SMc"])
    assert await store.received.unconfirmed() == []
    # A confirmed SMS is still known: Twilio retrying it is not accepted again.
    assert await store.received.accept(sms("SMa", 40.0)) is False
    assert await store.received.unconfirmed() == []


async def test_the_outbox_read_in_order_from_its_index_up_to_a_point(
    store: Store, db_path: Path
) -> None:
    for sid, at in [("SMc", 30.0), ("SMa", 10.0), ("SMb", 20.0)]:
        await store.received.accept(sms(sid, at))
    upto = await store.received.newest()
    await store.received.accept(sms("SMd", 5.0))  # stored after: left out
    page = await store.received.outbox((10.0, "SMa"), 10, upto)
    assert [entry.sms.sid for entry in page] == ["SMb", "SMc"]
    assert [entry.sms.sid for entry in await store.received.outbox()] == [
        "SMd", "SMa", "SMb", "SMc"
    ]  # fmt: skip
    with sqlite3.connect(db_path) as db:
        plan = db.execute(
            "EXPLAIN QUERY PLAN SELECT sid FROM received_sms WHERE confirmed_at IS NULL"
            " AND (received_at, sid) > (0, '') AND rowid <= 9 ORDER BY received_at, sid"
        ).fetchall()
    assert not [step for step in plan if "TEMP B-TREE" in step[3]], plan  # no sort per page


async def test_outbox_survives_reopening(db_path: Path) -> None:
    first = await Store.open(db_path)
    try:
        await first.received.accept(sms("SM1", 1.0, "kept"))
    finally:
        await first.close()
    second = await Store.open(db_path)
    try:
        assert await second.received.unconfirmed() == [sms("SM1", 1.0, "kept")]
    finally:
        await second.close()


# Change detection across connections


async def test_data_version_changes_only_on_another_connections_commit(
    store: Store, db_path: Path
) -> None:
    before = await store.data_version()
    assert await store.data_version() == before
    await add(store, "alice")  # our own commit
    assert await store.data_version() == before

    other = await Store.open(db_path)
    try:
        await add(other, "bob", BOB)
    finally:
        await other.close()
    after = await store.data_version()
    assert after != before
    assert await store.data_version() == after


async def test_directory_refresh_sees_users_added_elsewhere(store: Store, db_path: Path) -> None:
    directory = Directory(store)
    await directory.refresh()
    assert directory.match("libera", "rfc1459", "hi alice") == set()

    other = await Store.open(db_path)
    try:
        alice = await add(other, "alice")
    finally:
        await other.close()
    assert directory.user(alice.id) is None  # not until the next refresh
    await directory.refresh()
    assert directory.user(alice.id) == alice
    assert directory.match("libera", "rfc1459", "hi ALICE") == {alice.id}
    assert directory.match("oftc", "rfc1459", "hi alice") == set()

    other = await Store.open(db_path)
    try:
        await other.users.remove("libera", nick_key("alice"))
    finally:
        await other.close()
    await directory.refresh()
    assert directory.user(alice.id) is None
    assert directory.match("libera", "rfc1459", "hi alice") == set()


async def test_the_change_log_moves_with_users_keywords_and_mutes_only(
    store: Store, db_path: Path
) -> None:
    async def version() -> int:
        return (await store.registry.versions())[0]

    seen = [await version()]

    async def moved() -> bool:
        now = await version()
        changed = now != seen[-1]
        seen.append(now)
        return changed

    alice = await add(store, "alice")
    assert await moved()
    await store.registrations.add_keyword(alice.id, "deploy", "deploy", False)
    assert await moved()
    await store.registrations.mute(alice.id, "#chan", True)
    assert await moved()
    await store.users.update(alice.id, timezone="Europe/Paris")
    assert await moved()
    await store.users.set_last_highlight(Highlight(alice.id, "#chan", "bob", 1.0))
    await store.sent.record("SM1", alice.id, ALICE, "sent", 1)
    assert not await moved()  # not who is registered, nor what highlights them
    other = await Store.open(db_path)  # the CLI
    try:
        await other.registrations.remove_keyword(alice.id, "deploy", False)
    finally:
        await other.close()
    assert await moved()
    await store.users.remove("libera", nick_key("alice"))
    assert await moved()


async def test_the_directory_patches_in_the_users_changed(store: Store, db_path: Path) -> None:
    directory = Directory(store)
    alice = await add(store, "alice")
    await directory.refresh()
    index = directory.index
    await store.registrations.add_keyword(alice.id, "deploy", "deploy", False)
    await directory.catch_up()  # our own write: no poll needed
    assert directory.match("libera", "rfc1459", "deploy") == {alice.id}
    other = await Store.open(db_path)  # the CLI
    try:
        bob = await add(other, "bob", BOB)
        await other.users.set_opted_out(ALICE, True)
    finally:
        await other.close()
    await directory.refresh()
    assert directory.match("libera", "rfc1459", "bob deploy") == {alice.id, bob.id}
    patched = directory.user(alice.id)
    assert patched is not None and patched.opted_out
    assert directory.index is index  # patched in place, not read whole again
