"""What is stored about a person, and for how long: erasure, retention, export."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path

import pytest

from fake_twilio import FakeTwilio
from harness import (
    ALICE_PHONE,
    CHANNEL,
    ask,
    code_in,
    in_channel,
    running,
    settings_dict,
    wait_for_bot,
    web_port,
)
from highlightd.cli import main
from highlightd.config import Settings
from highlightd.core.ircnames import nick_key
from highlightd.core.records import IncomingSms
from highlightd.store import Store
from servers import IrcClientFactory, IrcServer, RedisServer

pytestmark = pytest.mark.timeout(60)

DAY = 24 * 3600.0
DIGITS = ALICE_PHONE.lstrip("+")


def tables_holding(path: Path, needle: str) -> set[str]:
    """Every table with a row in which some value contains needle."""
    found = set()
    with sqlite3.connect(path) as db:
        names = [r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for name in names:
            for row in db.execute(f"SELECT * FROM {name}"):
                if any(needle in str(value) for value in row):
                    found.add(name)
    return found


async def test_unregister_leaves_no_row_holding_the_phone(
    tmp_path: Path,
    irc_server: IrcServer,
    redis_server: RedisServer,
    fake_twilio: FakeTwilio,
    irc_client_factory: IrcClientFactory,
) -> None:
    settings = Settings(
        **settings_dict(tmp_path, irc_server, redis_server.url, fake_twilio, web_port())
    )
    alice, bob = await in_channel(irc_client_factory, "alice", "bob")
    async with running(settings) as hl:
        await wait_for_bot(bob)
        assert "I texted a code" in await ask(alice, f"REGISTER {ALICE_PHONE}")
        code = code_in((await fake_twilio.wait_for_messages(1))[-1].body)
        assert (await ask(alice, f"VERIFY {code}")).startswith("done:")
        await ask(alice, "KEYWORDS ADD deploy")
        await ask(alice, "MUTE #elsewhere")
        await bob.privmsg(CHANNEL, "alice: lunch?")
        await fake_twilio.wait_for_messages(2)
        await hl.sms("on my way")
        await bob.expect(lambda line: line.text == "alice (SMS): on my way")
        held = tables_holding(settings.storage.path, DIGITS)
        assert {"users", "sent_sms", "received_sms", "codes_sent"} <= held

        # No services account here: the registered phone consents with a code.
        assert "the registered phone" in await ask(alice, "UNREGISTER")
        code = code_in((await fake_twilio.wait_for_messages(3))[-1].body)
        assert await ask(alice, f"UNREGISTER {code}") == "alice is unregistered; no more SMS"
        assert tables_holding(settings.storage.path, DIGITS) == set()
        assert tables_holding(settings.storage.path, "on my way") == set()
        assert tables_holding(settings.storage.path, "deploy") == set()


async def test_a_phone_still_registered_elsewhere_is_kept_until_its_last_registration(
    store: Store, tmp_path: Path
) -> None:
    for network in ("libera", "oftc"):
        await store.users.add(network, "alice", "alice", ALICE_PHONE)
    await store.sent.record("SM1", None, ALICE_PHONE, "sent")
    assert await store.privacy.unregister("libera", "alice")
    assert "sent_sms" in tables_holding(tmp_path / "highlightd.sqlite3", DIGITS)
    assert await store.privacy.unregister("oftc", "alice")
    assert tables_holding(tmp_path / "highlightd.sqlite3", DIGITS) == set()
    assert not await store.privacy.unregister("oftc", "alice")


async def test_retention_prunes_old_bodies_and_logs_but_not_unsent_answers(
    store: Store, tmp_path: Path
) -> None:
    now = time.time()
    await store.users.add("libera", "alice", "alice", ALICE_PHONE)
    for sid, age in (("SMold", 40), ("SMnew", 1)):
        await store.sent.record(sid, None, ALICE_PHONE, "delivered")
        await store.received.accept(IncomingSms(sid, ALICE_PHONE, f"body {sid}", now - age * DAY))
        await store.received.confirm([sid])
    await store.received.accept(
        IncomingSms("SMwaiting", ALICE_PHONE, "not yet said", now - 40 * DAY)
    )
    with sqlite3.connect(tmp_path / "highlightd.sqlite3") as db:
        db.execute("UPDATE sent_sms SET created_at = ? WHERE sid = 'SMold'", (now - 40 * DAY,))

    pruned = await store.privacy.prune(now - 30 * DAY, now)

    assert pruned["sent_sms"] == 1
    assert pruned["received_sms"] == 1
    assert await store.sent.status("SMold") is None
    assert await store.sent.status("SMnew") == "delivered"
    assert not await store.received.seen("SMold")
    assert await store.received.seen("SMnew")
    assert await store.received.seen("SMwaiting")  # still owed to IRC
    assert await store.privacy.prune(now - 30 * DAY, now) == dict.fromkeys(pruned, 0)


async def _fill(path: Path) -> None:
    store = await Store.open(path)
    try:
        user = await store.users.add("libera", "Alice", nick_key("Alice"), ALICE_PHONE)
        await store.registrations.add_keyword(user.id, "deploy", "deploy", False)
        await store.sent.record("SM1", user.id, ALICE_PHONE, "delivered")
        await store.received.accept(IncomingSms("SM2", ALICE_PHONE, "on my way", time.time()))
    finally:
        await store.close()


def test_users_export_prints_what_is_stored_as_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(_fill(tmp_path / "highlightd.sqlite3"))
    config = tmp_path / "highlightd.toml"
    config.write_text(f'[storage]\npath = "{tmp_path / "highlightd.sqlite3"}"\n')
    argv = ["users", "export", "--config", str(config), "--network", "libera", "--nick", "alice"]

    assert main(argv) == 0
    exported = json.loads(capsys.readouterr().out)

    assert exported["user"]["nick"] == "Alice"
    assert exported["user"]["phone"] == ALICE_PHONE
    assert exported["keywords"] == [{"word": "deploy", "exception": 0}]
    assert [s["sid"] for s in exported["sms_sent"]] == ["SM1"]
    assert [s["body"] for s in exported["sms_received"]] == ["on my way"]
    assert main([*argv[:-1], "bob"]) == 1
    assert "bob is not registered on libera" in capsys.readouterr().err


async def test_the_daemon_prunes_at_start(
    tmp_path: Path,
    irc_server: IrcServer,
    redis_server: RedisServer,
    irc_client_factory: IrcClientFactory,
) -> None:
    data = settings_dict(tmp_path, irc_server, redis_server.url, None, web_port())
    data["storage"]["retention_days"] = 7
    settings = Settings(**data)
    old = time.time() - 8 * DAY
    store = await Store.open(settings.storage.path)
    try:
        await store.received.accept(IncomingSms("SMold", ALICE_PHONE, "old news", old))
        await store.received.confirm(["SMold"])
    finally:
        await store.close()
    assert tables_holding(settings.storage.path, "old news") == {"received_sms"}
    [bob] = await in_channel(irc_client_factory, "bob")
    async with running(settings):
        async with asyncio.timeout(10):
            while True:  # a wait with a guard: pruning runs beside the start
                if not tables_holding(settings.storage.path, "old news"):
                    break
                await asyncio.sleep(0.05)
        await wait_for_bot(bob)  # a stop while IRC registers is another story
