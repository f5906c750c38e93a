"""The facts a decision is made from: one function for the daemon and for explain."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from highlightd.core.events import IrcMessage
from highlightd.core.facts import Context, InFlight, Seen, facts_for, hear, spend_with
from highlightd.core.index import NetworkIndex, UserIndex
from highlightd.core.policy import Rules, Spend
from highlightd.core.records import Keyword, User

NOW = 1_800_000_000.0
ALICE = User(1, "libera", "alice", "+15551230001", 0.0)
BOB = User(2, "libera", "bob", "+15551230002", 0.0)
RULES = Rules(
    ignore_nicks=frozenset(),
    mass_highlight=3,
    active_window=300,
    cooldown=0,
    user_daily_segments=20,
    global_daily_segments=500,
    max_segments=1,
    timezone=ZoneInfo("UTC"),
)


def index() -> NetworkIndex:
    net = UserIndex.build([ALICE, BOB], [Keyword(1, "deploy", False)]).network("libera", "ascii")
    net.renamed("alice", "alice_lunch")
    return net


def said(
    text: str, sender: str = "carol", channel: str = "#chan", action: bool = False
) -> IrcMessage:
    return IrcMessage("libera", channel, sender, text, NOW, action)


def test_private_lines_and_lines_naming_nobody_are_not_heard() -> None:
    assert hear(said("alice: hi", channel=""), index(), set(), RULES) is None
    assert hear(said("nothing here"), index(), set(), RULES) is None


def test_heard_line_formats_one_sms_and_counts_present_nicks_named() -> None:
    heard = hear(said("deploy, bob and dan", action=True), index(), {"dan", "carol"}, RULES)
    assert heard is not None
    assert heard.users == (ALICE, BOB)
    assert heard.body == "[#chan] <carol> * carol deploy, bob and dan"
    assert heard.named == 2  # bob (registered) and dan (present); "deploy" is no nick


@pytest.mark.parametrize(
    ("sender", "seen", "own", "in_channel", "last_spoke"),
    [
        ("carol", Seen(), False, True, None),
        ("alice_lunch", Seen(), True, True, None),  # followed: alice talking
        ("ALICE", Seen(), True, True, None),  # her registered nick, while renamed
        ("carol", Seen(spoke_ago=30.0, away=True), False, True, NOW - 30.0),
    ],
)
def test_facts_of_a_followed_user(
    sender: str, seen: Seen, own: bool, in_channel: bool, last_spoke: float | None
) -> None:
    net = index()
    heard = hear(said("alice_lunch: deploy?", sender), net, {"alice_lunch", sender}, RULES)
    assert heard is not None
    facts = facts_for(heard, ALICE, net, Context(now=NOW, bot_nick="hlbot", seen=seen))
    assert facts.line.sender_is_user is own
    assert (facts.presence.in_channel, facts.presence.last_spoke) == (in_channel, last_spoke)
    assert facts.presence.away is seen.away


def test_spend_counts_what_is_in_flight() -> None:
    known = Spend(last_sms_at=NOW - 100, user_segments_today=2, global_segments_today=7)
    assert spend_with(known, InFlight()) == known
    flying = InFlight(last_at=NOW - 1, user_segments=1, all_segments=3)
    assert spend_with(known, flying) == Spend(NOW - 1, 3, 10)
    assert spend_with(Spend(), flying).last_sms_at == NOW - 1


ALICE_BOUND = User(1, "libera", "alice", "+15551230001", 0.0, account="alice")
MALLORY = User(3, "libera", "mallory", "+15551230003", 0.0)


@pytest.mark.parametrize(
    ("sender", "account", "seen", "own", "in_channel", "last_spoke", "away"),
    [
        # The network reports accounts: the account decides, not the nick.
        ("alice", "alice", Seen(30.0, True, "alice", "alice"), True, True, NOW - 30.0, True),
        ("alice", "mallory", Seen(30.0, False, "mallory", "mallory"), False, False, None, None),
        ("alice", "", Seen(30.0, None, "", ""), False, False, None, None),
        # alice holds her nick now, but the line heard under it was mallory's.
        ("bob", None, Seen(30.0, None, "alice", "mallory"), False, True, None, None),
    ],
)
def test_presence_counts_only_for_the_registrations_account(
    sender: str,
    account: str | None,
    seen: Seen,
    own: bool,
    in_channel: bool,
    last_spoke: float | None,
    away: bool | None,
) -> None:
    net = UserIndex.build([ALICE_BOUND], []).network("libera", "ascii")
    message = IrcMessage("libera", "#chan", sender, "alice: hi", NOW, False, account)
    heard = hear(message, net, {"alice", "bob"}, RULES)
    assert heard is not None
    facts = facts_for(heard, ALICE_BOUND, net, Context(now=NOW, bot_nick="hlbot", seen=seen))
    assert facts.line.sender_is_user is own
    assert (facts.presence.in_channel, facts.presence.last_spoke) == (in_channel, last_spoke)
    assert facts.presence.away is away


def test_a_nick_taken_from_another_registration_is_not_present() -> None:
    net = UserIndex.build([ALICE, MALLORY], []).network("libera", "ascii")
    net.renamed("mallory", "alice")  # no accounts: the rename tells who holds alice
    heard = hear(said("alice: hi", "alice"), net, {"alice"}, RULES)
    assert heard is not None
    facts = facts_for(heard, ALICE, net, Context(now=NOW, bot_nick="hlbot", seen=Seen(5.0)))
    assert not facts.line.sender_is_user
    assert (facts.presence.in_channel, facts.presence.last_spoke) == (False, None)
