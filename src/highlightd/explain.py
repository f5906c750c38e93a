"""`highlightd explain`: what would happen to a line for a user, and why.

The answer is the daemon's own: the same index of users and keywords, loaded
from the store, and the same facts (core.facts) for the policy. What only a
live connection knows (who is in the channel and talking, who is /away, a
NICK change) is left out, or taken as given (`as_nick`).
"""

from __future__ import annotations

from highlightd.config import NetworkSettings, Settings
from highlightd.core.events import IrcMessage
from highlightd.core.facts import Context, facts_for, hear
from highlightd.core.index import NetworkIndex, Why
from highlightd.core.matcher import words
from highlightd.core.policy import Decision, Reason, Rules, rules_for
from highlightd.core.records import User
from highlightd.core.smstext import encoding, segments, strip_irc_formatting
from highlightd.sms.budget import spend_of
from highlightd.sms.spending import SpendBook
from highlightd.store import Store

# Offline there is no server to announce its CASEMAPPING: rfc1459 folds the most.
CASEMAPPING = "rfc1459"


class ExplainError(Exception):
    """The question cannot be answered (unknown network or user)."""


async def explain(
    settings: Settings,
    store: Store,
    network_name: str,
    nick: str,
    text: str,
    sender: str = "someone",
    channel: str | None = None,
    *,
    now: float,
    as_nick: str | None = None,
) -> list[str]:
    """The answer, as lines for a person to read; as_nick: the nick the user goes by now."""
    network = _network(settings, network_name)
    index = (await store.user_index()).network(network_name, CASEMAPPING)
    user = index.registered(nick)
    if user is None:
        raise ExplainError(f"{nick} is not registered on {network_name}: nothing would be sent")
    channel = channel or (network.channels[0] if network.channels else "#channel")
    out = [f"line:      <{sender}> in {channel} on {network_name}: {text!r}"]
    if as_nick:
        index.renamed(user.nick, as_nick)  # as the daemon follows a NICK change
        out.append(f"nick now:  {user.nick} goes by {index.current_nick(user)}")
    rules = rules_for(settings.policy, network, index.fold)
    # The sender and the bot are in the channel; nobody else is known offline.
    present = {index.fold(sender), index.fold(network.nick)}
    heard = hear(IrcMessage(network_name, channel, sender, text, now), index, present, rules)
    plain = strip_irc_formatting(text)
    why = index.why(plain, user)
    if heard is None or user not in heard.users:
        return [*out, *_not_highlighted(why, user, index, plain)]
    out.append(_highlighted(why, user, index))
    book = SpendBook(store, lambda: now)
    await book.load()
    known, in_flight = spend_of(book, user, now, rules)
    ctx = Context(
        now=now,
        bot_nick=network.nick,
        muted=(await store.registrations.muted()).get(user.id, frozenset()),
        known=known,
        in_flight=in_flight,
    )
    decision = facts_for(heard, user, index, ctx).decide(rules)
    return [*out, *_outcome(decision, heard.body, index.current_nick(user), channel, rules)]


def _network(settings: Settings, name: str) -> NetworkSettings:
    network = settings.network(name)
    if network is None:
        known = ", ".join(n.name for n in settings.networks) or "none"
        raise ExplainError(f"no network named {name!r} in the config (have: {known})")
    return network


def _highlighted(why: Why, user: User, index: NetworkIndex) -> str:
    if why.nicks:
        return f"highlight: yes, {user.nick!r} is a word of the line"
    if why.followed:
        return (
            f"highlight: yes, {why.followed[0]!r} is a word of the line: "
            f"{user.nick} goes by {index.current_nick(user)} now"
        )
    return f"highlight: yes, their keyword {why.keywords[0]!r} is a word of the line"


def _not_highlighted(why: Why, user: User, index: NetworkIndex, plain: str) -> list[str]:
    if why.keywords and why.exceptions:
        first = (
            f"highlight: no: their keyword {why.keywords[0]!r} is a word of the line, "
            f"but so is their exception {why.exceptions[0]!r}"
        )
    else:
        names = " or ".join(repr(n) for n in dict.fromkeys((user.nick, index.current_nick(user))))
        first = f"highlight: no: no IRC word of the line is {names} or a keyword of theirs"
    return [first, f"           words: {', '.join(words(plain)) or '(none)'}"]


def _outcome(decision: Decision, body: str, nick: str, channel: str, rules: Rules) -> list[str]:
    out = [f"decision:  {decision}"]
    if decision.action == "send":
        out.append(f"SMS:       {body}")
        out.append(
            f"           {segments(body)} segment(s), {encoding(body)}, {len(body)} characters"
        )
    elif decision.action == "hold":
        out.append("           kept; when the hold ends, one digest SMS carries it")
    if decision.reason is not Reason.ACTIVE and decision.action != "drop":
        out.append(
            f"note:      presence is not known offline: were {nick} in {channel}, "
            f"having spoken in the last {rules.active_window:.0f} s and not /away, "
            "the line would be dropped (active)"
        )
    return out
