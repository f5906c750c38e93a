"""One table of lines, decided by the running daemon and by `highlightd explain`: they agree.

One daemon run (ngircd, the fake Twilio API) serves every case, in order. Before
each line, explain answers from the same database; then the line is said on IRC,
and the daemon's decision (its DEBUG line per decision) and the SMS it sends are
compared with that answer. The daemon's clock stands still, so that both decide
at the same moment and their reasons read the same to the second.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from fake_twilio import FakeTwilio
from harness import (
    BOT,
    CHANNEL,
    NETWORK,
    Highlightd,
    in_channel,
    running,
    settings_dict,
    wait_for_bot,
    web_port,
)
from highlightd.config import Settings
from highlightd.core.ircnames import nick_key
from highlightd.core.smstext import segments
from highlightd.explain import explain
from highlightd.store import Store
from servers import IrcClientFactory, IrcServer, IrcTestClient, RedisServer

pytestmark = pytest.mark.timeout(90)

NOW = dt.datetime(2026, 6, 15, 12, 0, tzinfo=dt.UTC).timestamp()  # a Monday, noon
GLOBAL_BUDGET = 50
POLICY = {
    "cooldown": 600,
    "active_window": 300,
    "mass_highlight": 5,
    "ignore_nicks": ["grumpy"],
    "user_daily_segments": 3,
    "global_daily_segments": GLOBAL_BUDGET,
    "timezone": "UTC",
}
SENTINEL = "sam"  # muted: each line after a case is decided "drop", and ends the case


@dataclass(frozen=True)
class Registered:
    nick: str
    keywords: tuple[str, ...] = ()
    exceptions: tuple[str, ...] = ()
    quiet: str | None = None
    muted: bool = False
    spent_ago: tuple[float, ...] = ()  # one 1-segment SMS this many seconds before NOW, each


USERS = [
    Registered("nina"),
    Registered("kim", keywords=("deploy",)),
    Registered("ken", keywords=("build",), exceptions=("nightly",)),
    Registered("dave"),  # online, renamed to dave_away: followed
    Registered("olive"),  # online
    Registered("bea"),
    Registered("ivy"),
    Registered("mo", muted=True),
    Registered("quinn", quiet="11:00-13:00"),
    Registered("cody", spent_ago=(60,)),
    Registered("bud", spent_ago=(3600, 3600, 3600)),
    Registered("max"),
    Registered("gus"),
    Registered(SENTINEL, muted=True),
]
PHONES = {u.nick: f"+1555123{n:04d}" for n, u in enumerate(USERS, start=1)}


@dataclass(frozen=True)
class Case:
    id: str
    user: str  # the registered user the line is about
    text: str
    expected: str | None  # how explain's decision starts; None: "highlight: no"
    sender: str = "bob"
    follow: str | None = None  # the nick the user goes by now (explain --as)
    answer: str | None = None  # said by the bot: the SMS answer (from nina) that makes it say it
    spent_by_all: int = 0  # segments everyone spent, added just before the case


# fmt: off
CASES = [
    Case("nick", "nina", "nina: lunch?", "send (send)"),
    Case("keyword", "kim", "deploy finished", "send (send)"),
    Case("keyword-exception", "ken", "the nightly build failed", None),
    Case("keyword-without-exception", "ken", "the build failed", "send (send)"),
    Case("followed-nick", "dave", "dave_away: ping?", "send (send)", follow="dave_away"),
    Case("own-line-followed", "dave", "dave: note to self", "drop (own_line)", "dave_away",
         follow="dave_away"),
    Case("own-line", "olive", "olive was here", "drop (own_line)", sender="olive"),
    Case("bot-line", "bea", "nina (SMS): bea: are you there?", "drop (bot)", BOT,
         answer="#chan bea: are you there?"),
    Case("ignored-sender", "ivy", "ivy: hi", "drop (ignored_sender)", sender="grumpy"),
    Case("muted", "mo", "mo: hi", "drop (muted_channel)"),
    Case("quiet-hours", "quinn", "quinn: hi", "hold (quiet_hours)"),
    Case("cooldown", "cody", "cody: hi", "hold (cooldown)"),
    Case("user-budget", "bud", "bud: hi", "hold (user_budget)"),
    Case("mass-highlight", "max", "max nina kim olive ivy: meeting", "drop (mass_highlight)"),
    Case("global-budget", "gus", "gus: hi", "hold (global_budget)", spent_by_all=GLOBAL_BUDGET),
]
# fmt: on
NOTIFIER = "highlightd.irc.notifier"
DECISION = re.compile(rf"^{NETWORK}/(?P<nick>\S+) highlighted by \S+ in \S+: (?P<decision>.*)$")


@dataclass
class Run:
    settings: Settings
    store: Store
    twilio: FakeTwilio
    clients: dict[str, IrcTestClient]
    caplog: pytest.LogCaptureFixture
    hl: Highlightd = field(init=False)
    seeded: int = 0  # segments recorded by the test itself
    problems: list[str] = field(default_factory=list)

    def decisions(self, nick: str) -> list[str]:
        """The daemon's decisions for nick so far, in order (one DEBUG line each)."""
        said = (DECISION.match(r.getMessage()) for r in self.caplog.records if r.name == NOTIFIER)
        return [m["decision"] for m in said if m and m["nick"] == nick]

    async def settled(self) -> None:
        """Wait until every SMS Twilio accepted is in the database (explain sees it too),
        and the daemon counts what the test recorded (another connection: it reads it
        again within its poll interval)."""
        assert self.hl.daemon.irc is not None
        book = self.hl.daemon.irc.spending
        async with asyncio.timeout(10):
            while True:
                sent = self.seeded + sum(segments(m.body) for m in self.twilio.messages)
                counted = book.spend(0, 0.0, 0.0)[0].global_segments_today
                if await self.store.sent.segments_since(0) == sent == counted:
                    return
                await asyncio.sleep(0.01)

    async def spend(self, user_id: int | None, ago: float) -> None:
        """Record a 1-segment SMS sent `ago` seconds before NOW."""
        self.seeded += 1
        sid = f"SMseed{self.seeded}"
        await self.store.sent.record(sid, user_id, "+15550000000", "delivered", 1, NOW - ago)


async def _register(run: Run) -> None:
    store = run.store
    for spec in USERS:
        user = await store.users.add(NETWORK, spec.nick, nick_key(spec.nick), PHONES[spec.nick])
        for word in spec.keywords:
            await store.registrations.add_keyword(user.id, word, nick_key(word), False)
        for word in spec.exceptions:
            await store.registrations.add_keyword(user.id, word, nick_key(word), True)
        if spec.quiet:
            await store.users.update(user.id, quiet=spec.quiet)
        if spec.muted:
            await store.registrations.mute(user.id, CHANNEL, True)
        for ago in spec.spent_ago:
            await run.spend(user.id, ago)


async def _say(run: Run, case: Case) -> None:
    """Say the case's line on IRC; return once bob saw it (it reached the bot before)."""
    bob = run.clients["bob"]
    if case.answer is not None:
        await run.hl.sms(case.answer, phone=PHONES["nina"])
    else:
        await run.clients[case.sender].privmsg(CHANNEL, case.text)
    if case.sender != "bob":
        line = await bob.expect_privmsg(from_nick=case.sender, target=CHANNEL)
        assert line.text == case.text, line
    # Lines from one connection are decided in order: when the sentinel's decision is
    # logged, the case line's are too.
    before = len(run.decisions(SENTINEL))
    await bob.privmsg(CHANNEL, f"{SENTINEL}: after {case.id}")
    async with asyncio.timeout(10):
        while True:
            if len(run.decisions(SENTINEL)) > before:
                break
            await asyncio.sleep(0.01)


@dataclass(frozen=True)
class Answer:
    lines: list[str]
    decision: str | None  # None: not highlighted
    sms: str | None

    def agrees_with(self, case: Case) -> bool:
        if case.expected is None:
            said_no = any(line.startswith("highlight: no") for line in self.lines)
            return said_no and self.decision is None
        said_yes = any(line.startswith("highlight: yes") for line in self.lines)
        return said_yes and (self.decision or "").startswith(case.expected)


def _sms_for(decision: str | None) -> int:
    """The SMS a decision costs at once: the highlight, or the notice of a budget reached."""
    if decision is None:
        return 0
    return int(decision.startswith("send")) + int("_budget)" in decision)


async def _explain(run: Run, case: Case) -> Answer:
    lines = await explain(
        run.settings,
        run.store,
        NETWORK,
        case.user,
        case.text,
        case.sender,
        CHANNEL,
        now=NOW,
        as_nick=case.follow,
    )
    decision = next((a.removeprefix("decision:  ") for a in lines if "decision:" in a), None)
    sms = next((a.removeprefix("SMS:       ") for a in lines if a.startswith("SMS:")), None)
    return Answer(lines, decision, sms)


async def _check(run: Run, case: Case) -> None:
    """One case through explain, then through the daemon; note where they disagree."""
    for _ in range(case.spent_by_all):
        await run.spend(None, 3600)
    await run.settled()
    answer = await _explain(run, case)
    if not answer.agrees_with(case):
        run.problems.append(f"{case.id}: explain says {answer.lines}")

    decided_before = len(run.decisions(case.user))
    sms_before = len(run.twilio.messages)
    await _say(run, case)
    got = run.decisions(case.user)[decided_before:]
    # The bot never hears its own lines, so the daemon decides nothing for them.
    want = [] if answer.decision is None or case.answer is not None else [answer.decision]
    if got != want:
        run.problems.append(f"{case.id}: daemon decided {got}, explain {want}")

    await run.twilio.wait_for_messages(sms_before + sum(_sms_for(d) for d in got))
    await run.settled()
    new = run.twilio.messages[sms_before:]
    if [m.to for m in new] != [PHONES[case.user]] * _sms_for(want[0] if want else None):
        run.problems.append(f"{case.id}: SMS {new}, explain said {answer.decision}")
    elif answer.sms is not None and new[0].body != answer.sms:
        run.problems.append(f"{case.id}: SMS {new[0].body!r}, explain said {answer.sms!r}")


async def test_daemon_and_explain_decide_alike(
    tmp_path: Path,
    irc_server: IrcServer,
    redis_server: RedisServer,
    fake_twilio: FakeTwilio,
    irc_client_factory: IrcClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = settings_dict(tmp_path, irc_server, redis_server.url, fake_twilio, web_port())
    data["policy"] = POLICY
    settings = Settings(**data)
    store = await Store.open(settings.storage.path)
    try:
        nicks = ("bob", "olive", "grumpy", "dave")
        clients = dict(zip(nicks, await in_channel(irc_client_factory, *nicks), strict=True))
        run = Run(settings, store, fake_twilio, clients, caplog)
        await _register(run)
        caplog.set_level(logging.DEBUG, logger=NOTIFIER)
        async with running(settings, clock=lambda: NOW) as run.hl:
            await _ready(run)
            for case in CASES:
                await _check(run, case)
    finally:
        await store.close()
    assert run.problems == []
    assert len(fake_twilio.messages) == 6  # 4 highlights, 2 notices of a budget reached


async def _ready(run: Run) -> None:
    """The bot in the channel and knowing who is there; dave renamed, and followed."""
    bob, dave = run.clients["bob"], run.clients["dave"]
    await wait_for_bot(bob)
    assert run.hl.daemon.irc is not None
    network = run.hl.daemon.irc.networks[NETWORK]
    async with asyncio.timeout(10):  # pydle knows the members a WHOIS after NAMES
        while True:
            if set(run.clients) <= network.present(CHANNEL):
                break
            await asyncio.sleep(0.02)
    await dave.send_raw("NICK dave_away")
    await bob.expect(lambda line: line.command == "NICK" and line.nick == "dave")
    run.clients["dave_away"] = dave
