"""`highlightd explain`: what would happen to a line for a user, and why."""

from __future__ import annotations

import time

from highlightd.config import Settings
from highlightd.core.facts import person_of
from highlightd.core.ircnames import nick_key
from highlightd.core.matcher import Matcher, irc_lower, words
from highlightd.core.policy import Line, Presence, Reason, decide, rules_for
from highlightd.core.smstext import encoding, format_highlight, segments, strip_irc_formatting
from highlightd.sms.budget import spend_of
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
    now: float | None = None,
) -> list[str]:
    """The answer, as lines for a person to read."""
    network = settings.network(network_name)
    if network is None:
        known = ", ".join(n.name for n in settings.networks) or "none"
        raise ExplainError(f"no network named {network_name!r} in the config (have: {known})")
    users = await store.users.all(network_name)
    user = next((u for u in users if nick_key(u.nick) == nick_key(nick)), None)
    if user is None:
        raise ExplainError(f"{nick} is not registered on {network_name}: nothing would be sent")
    now = time.time() if now is None else now
    channel = channel or (network.channels[0] if network.channels else "#channel")

    def fold(name: str) -> str:
        return irc_lower(name, CASEMAPPING)

    out = [f"line:      <{sender}> in {channel} on {network_name}: {text!r}"]
    plain = strip_irc_formatting(text)
    matcher: Matcher[int] = Matcher(CASEMAPPING)
    for u in users:
        matcher.add(u.nick, u.id)
    highlighted = matcher.match(plain)
    if user.id not in highlighted:
        out.append(f"highlight: no: no IRC word of the line is {user.nick!r}")
        out.append(f"           words: {', '.join(words(plain)) or '(none)'}")
        return out
    out.append(f"highlight: yes, {user.nick!r} is a word of the line")
    rules = rules_for(settings.policy, network, fold)
    body = format_highlight(channel, sender, text, rules.max_segments)
    named = {fold(w) for w in words(plain)} & {fold(u.nick) for u in users if u.id in highlighted}
    line = Line(
        now=now,
        channel=fold(channel),
        sender=fold(sender),
        sender_is_user=fold(sender) == fold(user.nick),
        sender_is_bot=fold(sender) == fold(network.nick),
        nicks_named=len(named),
        segments=segments(body),
    )
    muted = (await store.registrations.muted()).get(user.id, frozenset())
    spend = await spend_of(store, user, now, rules)
    decision = decide(line, person_of(user, muted), Presence(), spend, rules)
    out.append(f"decision:  {decision}")
    if decision.action == "send":
        out.append(f"SMS:       {body}")
        out.append(
            f"           {segments(body)} segment(s), {encoding(body)}, {len(body)} characters"
        )
    elif decision.action == "hold":
        out.append("           kept; when the hold ends, one digest SMS carries it")
    if decision.reason is not Reason.ACTIVE and decision.action != "drop":
        out.append(
            f"note:      presence is not known offline: were {user.nick} in {channel}, "
            f"having spoken in the last {rules.active_window:.0f} s and not /away, "
            "the line would be dropped (active)"
        )
    return out
