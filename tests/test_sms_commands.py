"""What an SMS from a registered phone does before (or instead of) reaching IRC."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from highlightd.core.ircnames import nick_key
from highlightd.core.smstext import segments
from highlightd.core.status import PAUSED_UNTIL_RESUME
from highlightd.store import Store
from highlightd.web.inbound import handle_sms

PHONE = "+15551230001"
NOW = 1_800_000_000.0


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(tmp_path / "db.sqlite3")
    await store.users.add("libera", "alice", nick_key("alice"), PHONE)
    await store.users.add("oftc", "alice", nick_key("alice"), PHONE)  # one phone, two networks
    try:
        yield store
    finally:
        await store.close()


async def opted_out(store: Store) -> list[bool]:
    return [u.opted_out for u in await store.users.by_phone(PHONE)]


@pytest.mark.parametrize(
    "body", ["STOP", "stop", " Stop ", "STOP\n", "STOPALL", "unsubscribe", "CANCEL", "END",
             "QUIT", "REVOKE", "OPTOUT"],
)  # fmt: skip
async def test_opt_out_words_opt_every_registration_out(store: Store, body: str) -> None:
    outcome = await handle_sms(store, PHONE, body, NOW)
    assert (outcome.relay, outcome.reply) == (False, None)  # Twilio confirms, not us
    assert await opted_out(store) == [True, True]


@pytest.mark.parametrize("body", ["START", "yes", "UNSTOP"])
async def test_opt_in_words_opt_back_in_only_when_out(store: Store, body: str) -> None:
    assert (await handle_sms(store, PHONE, body, NOW)).relay  # not out: an answer, relayed
    await handle_sms(store, PHONE, "STOP", NOW)
    outcome = await handle_sms(store, PHONE, body, NOW)
    assert (outcome.relay, outcome.reply) == (False, None)
    assert await opted_out(store) == [False, False]


@pytest.mark.parametrize("body", ["HELP", "help", "INFO"])
async def test_help_words_are_left_to_twilio(store: Store, body: str) -> None:
    outcome = await handle_sms(store, PHONE, body, NOW)
    assert (outcome.relay, outcome.reply) == (False, None)


@pytest.mark.parametrize(
    "body", ["hello", "stop please", "please stop", "STOP!", "#chan STOP", "pause the build"]
)
async def test_everything_else_is_an_answer_to_relay(store: Store, body: str) -> None:
    outcome = await handle_sms(store, PHONE, body, NOW)
    assert (outcome.relay, outcome.reply) == (True, None)
    assert await opted_out(store) == [False, False]


async def test_pause_resume_status_are_answered_in_one_segment(store: Store) -> None:
    paused = await handle_sms(store, PHONE, "pause 2h", NOW)
    assert not paused.relay and paused.reply is not None
    assert "paused until" in paused.reply and segments(paused.reply) == 1
    assert [u.paused_until for u in await store.users.by_phone(PHONE)] == [NOW + 7200] * 2

    forever = await handle_sms(store, PHONE, "PAUSE", NOW)
    assert forever.reply is not None and "paused until RESUME" in forever.reply
    assert [u.paused_until for u in await store.users.by_phone(PHONE)] == [PAUSED_UNTIL_RESUME] * 2

    resumed = await handle_sms(store, PHONE, "Resume", NOW)
    assert resumed.reply is not None and "SMS on" in resumed.reply
    assert [u.paused_until for u in await store.users.by_phone(PHONE)] == [None, None]

    status = await handle_sms(store, PHONE, "status", NOW)
    assert status.reply == "highlightd: SMS on (alice on libera, alice on oftc)"


async def test_bad_pause_duration_gets_a_hint_and_changes_nothing(store: Store) -> None:
    outcome = await handle_sms(store, PHONE, "PAUSE soon", NOW)
    assert not outcome.relay
    assert outcome.reply is not None and "30m, 2h or 1d" in outcome.reply
    assert [u.paused_until for u in await store.users.by_phone(PHONE)] == [None, None]
