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

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

# QuietHours is re-exported: the commands that set quiet hours parse them with it.
from highlightd.core.clock import QuietHours as QuietHours
from highlightd.core.clock import (
    in_quiet_hours,
    local_time,
    next_day,
    quiet_hours_end,
    utc_time,
)

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
            "drop", Reason.PAUSED, f"{person.nick} paused SMS until {utc_time(person.paused_until)}"
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
        return Decision("hold", Reason.QUIET, f"quiet hours until {local_time(end, tz)}", end)
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
