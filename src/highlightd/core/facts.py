"""The facts a decision is made from, built one way for the daemon and for `explain`. Pure.

The daemon fills in what only a live connection knows (who is in the channel,
who spoke when, who is /away) and the SMS in flight; `explain`, offline, leaves
them empty. Everything else comes from the same values through this code.
"""

from __future__ import annotations

from collections.abc import Callable, Set
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from highlightd.core.clock import QuietHours
from highlightd.core.events import IrcMessage
from highlightd.core.index import NetworkIndex
from highlightd.core.matcher import words
from highlightd.core.policy import (
    Decision,
    Line,
    Person,
    Presence,
    Rules,
    Spend,
    decide,
)
from highlightd.core.records import User
from highlightd.core.smstext import format_highlight, segments, strip_irc_formatting


def person_of(user: User, muted: frozenset[str] = frozenset()) -> Person:
    """The policy's view of a registered user."""
    return Person(
        nick=user.nick,
        timezone=ZoneInfo(user.timezone) if user.timezone else None,
        quiet=QuietHours.parse(user.quiet) if user.quiet else None,
        paused_until=user.paused_until,
        opted_out=user.opted_out,
        muted=muted,
    )


def said(message: IrcMessage) -> str:
    """What was said: a /me action reads "* bob waves"."""
    return f"* {message.sender} {message.text}" if message.action else message.text


@dataclass(frozen=True, slots=True)
class Heard:
    """A channel line, whom it highlights, and what every decision on it shares."""

    message: IrcMessage
    users: tuple[User, ...]  # in registration order
    body: str  # the SMS, formatted once for everyone the line highlights
    named: int  # how many nicks the line names: many is a mass highlight
    present: Set[str]  # the folded nicks in the channel, as far as known


def hear(
    message: IrcMessage,
    index: NetworkIndex,
    present: Set[str] | Callable[[], Set[str]],
    rules: Rules,
) -> Heard | None:
    """Whom a channel line highlights; None for nobody, or for a private message.

    `present` may be a function: the daemon folds the channel's nicks only for a
    line that highlights someone, not for every line of chatter.
    """
    if not message.channel:
        return None  # private messages to the bot are commands, not conversation
    text = strip_irc_formatting(message.text)
    users = index.match(text)
    if not users:
        return None
    if callable(present):
        present = present()
    fold = index.fold
    registered = {fold(u.nick) for u in users}
    named = sum(1 for w in {fold(w) for w in words(text)} if w in present or w in registered)
    body = format_highlight(message.channel, message.sender, said(message), rules.max_segments)
    return Heard(message, tuple(users), body, named, present)


@dataclass(frozen=True, slots=True)
class Seen:
    """What the connection saw of a user by the nick they go by now; offline, nothing."""

    spoke_ago: float | None = None  # seconds since they last spoke where we could hear
    away: bool | None = None  # None: not asked, or the server did not say
    # What the network says of the accounts (see IrcMessage.account): of the client
    # holding that nick now, and of the one that spoke under it last.
    account: str | None = None
    spoke_account: str | None = None


@dataclass(frozen=True, slots=True)
class InFlight:
    """SMS decided but not recorded yet: spending the database does not know of."""

    last_at: float | None = None  # the user's latest
    user_segments: int = 0
    all_segments: int = 0  # everyone's


def spend_with(known: Spend, in_flight: InFlight) -> Spend:
    """What the database knows was spent, and what is on its way."""
    times = [t for t in (known.last_sms_at, in_flight.last_at) if t is not None]
    return Spend(
        last_sms_at=max(times, default=None),
        user_segments_today=known.user_segments_today + in_flight.user_segments,
        global_segments_today=known.global_segments_today + in_flight.all_segments,
    )


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything the policy is told about one highlight of one user."""

    line: Line
    person: Person
    presence: Presence
    spend: Spend

    def decide(self, rules: Rules) -> Decision:
        return decide(self.line, self.person, self.presence, self.spend, rules)


@dataclass(frozen=True, slots=True)
class Context:
    """What a decision needs beside the line and the user, each from where it is kept."""

    now: float
    bot_nick: str
    muted: frozenset[str] = frozenset()  # the user's muted channels, folded
    known: Spend = field(default_factory=Spend)  # spent today, as the database knows it
    in_flight: InFlight = field(default_factory=InFlight)
    seen: Seen = field(default_factory=Seen)


def facts_for(heard: Heard, user: User, index: NetworkIndex, ctx: Context) -> Facts:
    """The facts of one highlight: one function for the daemon and for `explain`."""
    fold = index.fold
    message = heard.message
    sender = fold(message.sender)
    line = Line(
        now=ctx.now,
        channel=fold(message.channel),
        sender=sender,
        # A renamed user is followed: alice talking as alice_lunch is alice talking;
        # mallory talking as alice, under another account, is not (core.identity).
        sender_is_user=index.is_user(user, message.sender, message.account),
        sender_is_bot=sender == fold(ctx.bot_nick),
        nicks_named=heard.named,
        segments=segments(heard.body),
    )
    # Presence counts only for the client that is the registration (core.identity).
    seen, nick = ctx.seen, index.current_nick(user)
    here = index.is_user(user, nick, seen.account)
    spoke = seen.spoke_ago if here and index.is_user(user, nick, seen.spoke_account) else None
    presence = Presence(
        in_channel=here and fold(nick) in heard.present,
        last_spoke=None if spoke is None else ctx.now - spoke,
        away=seen.away if here else None,
    )
    return Facts(line, person_of(user, ctx.muted), presence, spend_with(ctx.known, ctx.in_flight))
