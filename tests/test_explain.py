"""`highlightd explain`: the answer to "why didn't I get a text?"."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import sqlite3
from pathlib import Path

import pytest

from highlightd.cli import main
from highlightd.config import load_settings
from highlightd.core.ircnames import nick_key
from highlightd.explain import explain as explain_lines
from highlightd.store import Store

CONFIG = """
[storage]
path = "{db}"

[policy]
user_daily_segments = 3

[[networks]]
name = "libera"
host = "irc.example.org"
nick = "hlbot"
channels = ["#chan"]
"""


@pytest.fixture
def config(tmp_path: Path) -> str:
    path = tmp_path / "highlightd.toml"
    path.write_text(CONFIG.format(db=tmp_path / "db.sqlite3"))
    asyncio.run(_setup(path))
    return str(path)


async def _setup(config: Path) -> None:
    store = await Store.open(load_settings(str(config)).storage.path)
    try:
        await store.users.add("libera", "alice", nick_key("alice"), "+15551230001")
        await store.users.add("libera", "carol", nick_key("carol"), "+15551230003")
    finally:
        await store.close()


async def _sent(config: str, user_id: int, count: int) -> None:
    store = await Store.open(load_settings(config).storage.path)
    try:
        for n in range(count):
            await store.sent.record(f"SM{user_id}-{n}", user_id, "+15551230001", "delivered")
    finally:
        await store.close()


def explain(capsys: pytest.CaptureFixture[str], config: str, *args: str) -> tuple[int, str]:
    code = main(["explain", "--config", config, "--network", "libera", *args])
    out, err = capsys.readouterr()
    return code, out + err


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--nick", "alice", "--sender", "bob", "alice: lunch?"], "decision:  send (send)"),
        (
            ["--nick", "alice", "--sender", "bob", "alice: lunch?"],
            "SMS:       [#chan] <bob> alice: lunch?",
        ),
        (["--nick", "ALICE", "--sender", "bob", "hey Alice"], "decision:  send (send)"),
        (["--nick", "alice", "--sender", "bob", "malice also [alice]"], "highlight: no"),
        (["--nick", "alice", "--sender", "ChanServ", "alice: hi"], "drop (ignored_sender)"),
        (["--nick", "alice", "--sender", "alice", "I am alice"], "drop (own_line)"),
        (["--nick", "alice", "--sender", "hlbot", "alice: hi"], "drop (bot)"),
        (["--nick", "alice", "--channel", "#other", "alice: hi"], "<someone> in #other"),
    ],
)
def test_explain_answers(
    capsys: pytest.CaptureFixture[str], config: str, args: list[str], expected: str
) -> None:
    code, out = explain(capsys, config, *args)
    assert code == 0
    assert expected in out


def test_explain_cooldown_after_a_recent_sms(
    capsys: pytest.CaptureFixture[str], config: str
) -> None:
    asyncio.run(_sent(config, 1, 1))
    code, out = explain(capsys, config, "--nick", "alice", "alice: again?")
    assert code == 0
    assert "decision:  hold (cooldown)" in out
    assert "one digest SMS" in out


async def test_explain_budget_spent_today(config: str) -> None:
    settings = load_settings(config)
    noon = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC).timestamp()
    store = await Store.open(settings.storage.path)
    try:
        for n in range(3):  # carol's 3 segments, spent well before the cooldown
            await store.sent.record(f"SM{n}", 2, "+15551230003", "delivered")
        with contextlib.closing(sqlite3.connect(settings.storage.path)) as db, db:
            db.execute("UPDATE sent_sms SET created_at = ?", (noon - 3600,))
        carol = await explain_lines(settings, store, "libera", "carol", "carol: more?", now=noon)
        alice = await explain_lines(settings, store, "libera", "alice", "alice: fine", now=noon)
        tomorrow = await explain_lines(
            settings, store, "libera", "carol", "carol: more?", now=noon + 12 * 3600 + 1
        )
    finally:
        await store.close()
    assert "decision:  hold (user_budget): 3 of 3 segments used today" in carol
    assert "decision:  send (send): 1 segment(s)" in alice
    assert "decision:  send (send): 1 segment(s)" in tomorrow  # a new day, a new budget


def test_explain_unknown_user_or_network(capsys: pytest.CaptureFixture[str], config: str) -> None:
    code, out = explain(capsys, config, "--nick", "zed", "zed: hi")
    assert code == 1
    assert "zed is not registered on libera" in out
    code = main(["explain", "--config", config, "--network", "oftc", "--nick", "alice", "x"])
    assert code == 2  # a network the config does not have: a usage error
    assert "no network named 'oftc'" in capsys.readouterr().err


async def _keywords(config: str) -> None:
    store = await Store.open(load_settings(config).storage.path)
    try:
        await store.registrations.add_keyword(1, "deploy", nick_key("deploy"), False)
        await store.registrations.add_keyword(1, "staging", nick_key("staging"), True)
    finally:
        await store.close()


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["--sender", "bob", "deploy finished"],
            ["highlight: yes, their keyword 'deploy' is a word of the line", "decision:  send"],
        ),
        (
            ["--sender", "bob", "staging deploy finished"],
            [
                "highlight: no: their keyword 'deploy' is a word of the line, "
                "but so is their exception 'staging'"
            ],
        ),
        (
            ["--as", "alice_lunch", "--sender", "bob", "alice_lunch: back?"],
            ["nick now:  alice goes by alice_lunch", "highlight: yes, 'alice_lunch'"],
        ),
        (["--as", "alice_lunch", "--sender", "alice_lunch", "alice: hi"], ["drop (own_line)"]),
        (["--sender", "bob", "alice_lunch: back?"], ["highlight: no"]),  # not followed
    ],
)
def test_explain_keywords_and_followed_nicks(
    capsys: pytest.CaptureFixture[str], config: str, args: list[str], expected: list[str]
) -> None:
    asyncio.run(_keywords(config))
    code, out = explain(capsys, config, "--nick", "alice", *args)
    assert code == 0
    for text in expected:
        assert text in out
