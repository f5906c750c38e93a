"""Per-nick limits and memory with a clock the test turns: windows, capacity, CTCP answers."""

from __future__ import annotations

import asyncio

import pytest

from highlightd import __version__
from highlightd.irc.bounded import Lru, Verdict, Windows
from highlightd.irc.ctcp import GLOBAL_PER_MINUTE, CtcpDesk
from scripted_irc import ScriptedIrc, bot_on


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_window_allows_its_limit_then_refuses_once_aloud_then_quietly() -> None:
    clock = Clock()
    windows = Windows(3, clock=clock)
    verdicts = [windows.take("bob") for _ in range(6)]
    assert verdicts == [Verdict.ALLOWED] * 3 + [Verdict.REFUSED_FIRST] + [Verdict.REFUSED] * 2
    assert windows.take("ann") is Verdict.ALLOWED  # a sender of its own


def test_a_new_window_allows_again_and_says_slow_down_again() -> None:
    clock = Clock()
    windows = Windows(1, clock=clock)
    assert [windows.take("bob") for _ in range(2)] == [Verdict.ALLOWED, Verdict.REFUSED_FIRST]
    clock.now += 59.9
    assert windows.take("bob") is Verdict.REFUSED
    clock.now += 0.1
    assert [windows.take("bob") for _ in range(2)] == [Verdict.ALLOWED, Verdict.REFUSED_FIRST]


def test_windows_forget_the_oldest_past_their_capacity_and_the_expired() -> None:
    clock = Clock()
    windows = Windows(1, capacity=100, clock=clock)
    for i in range(10_000):
        windows.take(f"nick{i}")
    assert len(windows) == 100
    clock.now += 60
    windows.take("late")
    assert len(windows) == 1


def test_lru_keeps_the_most_recent_keys_only() -> None:
    lru: Lru[str, int] = Lru(capacity=100)
    lru.put("alice", 0)
    for i in range(10_000):
        lru.put(f"nick{i}", i)
        if i % 50 == 0:
            lru.put("alice", i)  # still talking: kept
    assert len(lru) == 100
    assert lru.get("nick0") is None
    assert lru.get("nick9999") == 9999
    assert lru.get("alice") == 9950


@pytest.mark.parametrize(
    ("query", "contents", "expected"),
    [
        ("VERSION", None, f"highlightd {__version__}"),
        ("version", None, f"highlightd {__version__}"),
        ("PING", "12345", "12345"),
        ("PING", "x" * 500, "x" * 64),
        ("CLIENTINFO", None, "CLIENTINFO PING TIME VERSION"),
        ("FINGER", None, None),
        ("DCC", "SEND x 1 2 3", None),
        ("ACTION", "waves", None),
    ],
)
def test_ctcp_queries_answered(query: str, contents: str | None, expected: str | None) -> None:
    assert CtcpDesk().answer("bob", query, contents) == expected


def test_ctcp_once_a_minute_per_sender_whatever_the_query() -> None:
    clock = Clock()
    desk = CtcpDesk(clock)
    assert desk.answer("bob", "VERSION", None) is not None
    assert [desk.answer("bob", q, None) for q in ("VERSION", "TIME", "PING") * 100] == [None] * 300
    assert desk.answer("ann", "VERSION", None) is not None
    clock.now += 60
    assert desk.answer("bob", "TIME", None) is not None


def test_ctcp_answers_in_all_are_capped_per_minute() -> None:
    clock = Clock()
    desk = CtcpDesk(clock)
    answered = [desk.answer(f"nick{i}", "VERSION", None) for i in range(500)]
    assert sum(a is not None for a in answered) == GLOBAL_PER_MINUTE
    clock.now += 60
    assert desk.answer("nick999", "VERSION", None) is not None


async def test_userhost_in_names_is_requested_where_offered() -> None:
    async with (
        ScriptedIrc(caps="multi-prefix userhost-in-names") as server,
        bot_on(server) as bot,
    ):
        await asyncio.wait_for(bot.network.send("#chan", "hello"), 10)
        requested = [
            word
            for line in bot.server.received
            if line.command == "CAP" and line.params[:1] == ["REQ"]
            for word in line.text.split()
        ]
        assert "userhost-in-names" in requested
        assert not [line for line in bot.server.received if line.command == "WHOIS"]
