"""Whether a highlight is worth an SMS now, later (in a digest), or never. Pure.

The rules, in order; the first that applies decides:
1. never: the user's own line, a bot's, an ignored nick's; a muted channel; the
   user opted out or paused; a mass highlight (the line names many nicks).
2. drop, the user is active: in that channel, spoke recently, not /away: they saw it.
3. hold for a digest: inside the user's quiet hours, or within the cooldown of
   their last SMS.
4. hold for a digest: over the user's or the global daily segment budget.
5. send.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from highlightd.core.smstext import encoding, fit, format_highlight, segments, strip_irc_formatting

Action = Literal["drop", "hold", "send"]


class Reason(StrEnum):
    OWN_LINE = "own_line"
    BOT = "bot"
    IGNORED = "ignored_sender"
    MUTED = "muted_channel"
    OPTED_OUT = "opted_out"
    PAUSED = "paused"
    MASS = "mass_highlight"
    ACTIVE = "active"
    QUIET = "quiet_hours"
    COOLDOWN = "cooldown"
    USER_BUDGET = "user_budget"
    GLOBAL_BUDGET = "global_budget"
    SEND = "send"


@dataclass(frozen=True, slots=True)
class Rules:
    """The effective [policy] for one network; nicks in ignore_nicks are already folded."""

    ignore_nicks: frozenset[str]
    mass_highlight: int
    active_window: float
    cooldown: float
    user_daily_segments: int
    global_daily_segments: int
    max_segments: int
    timezone: ZoneInfo


# Services and well-known bots: their lines name people without anyone talking to them.
DEFAULT_IGNORE_NICKS = (
    "ChanServ", "NickServ", "MemoServ", "OperServ", "BotServ", "HostServ", "HelpServ",
    "SaslServ", "InfoServ", "StatServ", "Global", "Alis", "Sigyn", "Eir", "Phrik", "Ubottu",
    "Limnoria", "Supybot", "Sopel", "CloudBot", "Gonzobot", "GitHub", "GitLab", "Travis-CI",
    "Jenkins", "Dependabot", "Renovate",
)  # fmt: skip


class PolicyDefaults(Protocol):
    """[policy] as the config holds it (config.PolicySettings)."""

    @property
    def cooldown(self) -> float: ...
    @property
    def active_window(self) -> float: ...
    @property
    def mass_highlight(self) -> int: ...
    @property
    def ignore_nicks(self) -> Sequence[str]: ...
    @property
    def user_daily_segments(self) -> int: ...
    @property
    def global_daily_segments(self) -> int: ...
    @property
    def max_segments(self) -> int: ...
    @property
    def timezone(self) -> str: ...


class PolicyOverrides(Protocol):
    """A network's [networks.policy]: None is "as in [policy]" (config.NetworkPolicy)."""

    @property
    def cooldown(self) -> float | None: ...
    @property
    def active_window(self) -> float | None: ...
    @property
    def mass_highlight(self) -> int | None: ...
    @property
    def ignore_nicks(self) -> Sequence[str]: ...
    @property
    def max_segments(self) -> int | None: ...


class NetworkPolicy(Protocol):
    """A network as far as the policy cares (config.NetworkSettings)."""

    @property
    def policy(self) -> PolicyOverrides: ...


def rules_for(policy: PolicyDefaults, network: NetworkPolicy, fold: Callable[[str], str]) -> Rules:
    """The effective rules of one network: its own [networks.policy] over [policy]."""
    own = network.policy
    ignore = (*DEFAULT_IGNORE_NICKS, *policy.ignore_nicks, *own.ignore_nicks)
    return Rules(
        ignore_nicks=frozenset(fold(n) for n in ignore),
        mass_highlight=own.mass_highlight or policy.mass_highlight,
        active_window=_first(own.active_window, policy.active_window),
        cooldown=_first(own.cooldown, policy.cooldown),
        user_daily_segments=policy.user_daily_segments,
        global_daily_segments=policy.global_daily_segments,
        max_segments=own.max_segments or policy.max_segments,
        timezone=ZoneInfo(policy.timezone),
    )


def _first(value: float | None, default: float) -> float:
    return default if value is None else value


@dataclass(frozen=True, slots=True)
class QuietHours:
    start: dt.time
    end: dt.time

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """'22:00-07:00' -> QuietHours; ValueError when it is not that shape."""
        try:
            start, end = (dt.time.fromisoformat(part.strip()) for part in text.split("-"))
        except ValueError:
            raise ValueError(f"quiet hours must look like 22:00-07:00, not {text!r}") from None
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ValueError("quiet hours must be wall-clock times, without a UTC offset")
        if start == end:
            raise ValueError("quiet hours must not start and end at the same time")
        return cls(start, end)


@dataclass(frozen=True, slots=True)
class Person:
    """What the policy knows about the highlighted user."""

    nick: str
    timezone: ZoneInfo | None = None  # None: the policy's timezone
    quiet: QuietHours | None = None
    paused_until: float | None = None
    opted_out: bool = False
    muted: frozenset[str] = frozenset()  # folded channel names


@dataclass(frozen=True, slots=True)
class Presence:
    """The user on IRC right now; away None means not known (treated as here)."""

    in_channel: bool = False
    last_spoke: float | None = None
    away: bool | None = None


@dataclass(frozen=True, slots=True)
class Spend:
    last_sms_at: float | None = None
    user_segments_today: int = 0
    global_segments_today: int = 0


@dataclass(frozen=True, slots=True)
class Line:
    """The highlighting line; names are folded by the caller (the server's CASEMAPPING)."""

    now: float
    channel: str
    sender: str
    sender_is_user: bool = False
    sender_is_bot: bool = False
    nicks_named: int = 1
    segments: int = 1  # what sending it would cost


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    reason: Reason
    detail: str
    until: float | None = None  # for "hold": when the hold can end, if known

    def __str__(self) -> str:
        return f"{self.action} ({self.reason}): {self.detail}"


def decide(line: Line, person: Person, presence: Presence, spend: Spend, rules: Rules) -> Decision:
    """The first rule that applies, in the order of the module docstring."""
    never = _never(line, person, rules)
    if never is not None:
        return never
    if (
        presence.in_channel
        and presence.last_spoke is not None
        and line.now - presence.last_spoke < rules.active_window
        and not presence.away
    ):
        ago = line.now - presence.last_spoke
        return Decision(
            "drop", Reason.ACTIVE, f"{person.nick} is in {line.channel} and spoke {ago:.0f} s ago"
        )
    return hold_or_send(line.now, line.segments, person, spend, rules)


def _never(line: Line, person: Person, rules: Rules) -> Decision | None:
    if line.sender_is_user:
        return Decision("drop", Reason.OWN_LINE, "the user's own line")
    if line.sender_is_bot:
        return Decision("drop", Reason.BOT, "a line of this bot")
    if line.sender in rules.ignore_nicks:
        return Decision("drop", Reason.IGNORED, f"{line.sender} is in ignore_nicks")
    if line.channel in person.muted:
        return Decision("drop", Reason.MUTED, f"{person.nick} muted {line.channel}")
    if person.opted_out:
        return Decision("drop", Reason.OPTED_OUT, f"{person.nick} opted out of SMS (STOP)")
    if person.paused_until is not None and line.now < person.paused_until:
        return Decision(
            "drop", Reason.PAUSED, f"{person.nick} paused SMS until {_utc(person.paused_until)}"
        )
    if line.nicks_named >= rules.mass_highlight:
        return Decision(
            "drop",
            Reason.MASS,
            f"the line names {line.nicks_named} nicks (mass_highlight = {rules.mass_highlight})",
        )
    return None


def hold_or_send(now: float, cost: int, person: Person, spend: Spend, rules: Rules) -> Decision:
    """Rules 3 to 5, shared by highlights and the digests that gather held ones."""
    tz = person.timezone or rules.timezone
    if person.quiet is not None and in_quiet_hours(now, tz, person.quiet):
        end = quiet_hours_end(now, tz, person.quiet)
        return Decision("hold", Reason.QUIET, f"quiet hours until {_local(end, tz)}", end)
    if (
        rules.cooldown > 0
        and spend.last_sms_at is not None
        and now - spend.last_sms_at < rules.cooldown
    ):
        end = spend.last_sms_at + rules.cooldown
        return Decision(
            "hold",
            Reason.COOLDOWN,
            f"last SMS {now - spend.last_sms_at:.0f} s ago (cooldown {rules.cooldown:.0f} s)",
            end,
        )
    if spend.user_segments_today + cost > rules.user_daily_segments:
        return Decision(
            "hold",
            Reason.USER_BUDGET,
            f"{spend.user_segments_today} of {rules.user_daily_segments} segments used today",
            next_day(now, tz),
        )
    if spend.global_segments_today + cost > rules.global_daily_segments:
        return Decision(
            "hold",
            Reason.GLOBAL_BUDGET,
            f"{spend.global_segments_today} of {rules.global_daily_segments} segments "
            "used today by everyone",
            next_day(now, rules.timezone),
        )
    return Decision("send", Reason.SEND, f"{cost} segment(s)")


# Clock arithmetic, in the user's timezone


def _at(now: float, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.fromtimestamp(now, tz)


def in_quiet_hours(now: float, tz: ZoneInfo, quiet: QuietHours) -> bool:
    t = _at(now, tz).time()
    if quiet.start < quiet.end:
        return quiet.start <= t < quiet.end
    return t >= quiet.start or t < quiet.end  # across midnight


def quiet_hours_end(now: float, tz: ZoneInfo, quiet: QuietHours) -> float:
    """The next moment the clock on the wall reaches the end of the quiet hours.

    Wall clock, so DST moves it: a skipped end time ends them at the jump, a
    repeated one at whichever occurrence comes next.
    """
    today = _at(now, tz).date()
    for day in (today, today + dt.timedelta(days=1)):
        for moment in _moments(day, quiet.end, tz):
            if moment > now:
                return moment
    raise AssertionError("unreachable: the end time comes round within two days")


def day_start(now: float, tz: ZoneInfo) -> float:
    """Midnight of the current local day: where a daily budget starts counting."""
    return _moments(_at(now, tz).date(), dt.time(0), tz)[0]


def next_day(now: float, tz: ZoneInfo) -> float:
    return _moments(_at(now, tz).date() + dt.timedelta(days=1), dt.time(0), tz)[0]


def _moments(day: dt.date, wall: dt.time, tz: ZoneInfo) -> list[float]:
    """The instants at which the clock on the wall reads `wall` on `day`, in order.

    Usually one; two in the hour an autumn change repeats; and for a time a
    spring change skips, the jump itself (the first instant past it).
    """
    naive = dt.datetime.combine(day, wall)
    first = naive.replace(tzinfo=tz, fold=0).timestamp()
    second = naive.replace(tzinfo=tz, fold=1).timestamp()
    if first < second:
        return [first, second]  # repeated
    if first == second:
        return [first]
    # Skipped: fold=1 reads it with the offset after the jump, so it lies before it.
    early, late = second, first
    before = dt.datetime.fromtimestamp(early, tz).utcoffset()
    while late - early > 1:
        mid = (early + late) / 2
        if dt.datetime.fromtimestamp(mid, tz).utcoffset() == before:
            early = mid
        else:
            late = mid
    return [float(math.ceil(late))]


def _local(ts: float, tz: ZoneInfo) -> str:
    return _at(ts, tz).strftime("%H:%M %Z")


def _utc(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


# Digests


@dataclass(frozen=True, slots=True)
class Held:
    channel: str
    sender: str
    text: str
    at: float


def digest_text(held: Sequence[Held], max_segments: int) -> str:
    """One SMS for several held highlights: the latest in full, then a count.

    `3 highlights: [#b] <carol> text (+2 more in #a, #b)`
    """
    if not held:
        raise ValueError("a digest needs at least one highlight")
    ordered = sorted(held, key=lambda h: h.at)
    latest = ordered[-1]
    if len(ordered) == 1:
        return format_highlight(latest.channel, latest.sender, latest.text, max_segments)
    channel, sender = _flat(latest.channel), _flat(latest.sender)
    head = f"[{channel}] <{sender}> " if channel else f"<{sender}> "
    channels = sorted({h.channel or "private" for h in ordered[:-1]})
    prefix = f"{len(ordered)} highlights: {head}"
    suffix = f" (+{len(ordered) - 1} more in {', '.join(channels)})"
    text = _flat(latest.text)
    whole = prefix + text + suffix
    if segments(whole) <= max_segments:
        return whole
    # Cut the message, never the count.
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if segments(_cut(prefix, text[:mid], suffix)) <= max_segments:
            lo = mid
        else:
            hi = mid - 1
    candidate = _cut(prefix, text[:lo], suffix)
    if segments(candidate) <= max_segments:
        return candidate
    return fit(prefix + suffix.strip(), max_segments)


def _cut(prefix: str, kept: str, suffix: str) -> str:
    # "…" only where what is kept is UCS-2 anyway: it would switch a GSM-7 SMS.
    kept = kept.rstrip()
    ellipsis = "…" if encoding(prefix + kept + suffix) == "UCS-2" else "..."
    return prefix + kept + ellipsis + suffix


def _flat(text: str) -> str:
    return " ".join(strip_irc_formatting(text).split())
