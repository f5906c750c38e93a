"""How a registration's state reads to its owner, on IRC and by SMS. Pure."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from highlightd.core.phones import mask_phone
from highlightd.core.records import User

# PAUSE without a duration: until RESUME. A date rather than infinity keeps SQLite plain.
PAUSED_UNTIL_RESUME = dt.datetime(9999, 12, 31, tzinfo=dt.UTC).timestamp()


def when(ts: float, tz: str | None) -> str:
    zone = ZoneInfo(tz) if tz else dt.UTC
    return dt.datetime.fromtimestamp(ts, zone).strftime("%Y-%m-%d %H:%M %Z")


def state_of(user: User, now: float) -> str:
    """Whether SMS go out for a user: on, off after STOP, or paused."""
    if user.opted_out:
        return "SMS off (you answered STOP; text START to turn them on)"
    return _paused(user, now) or "SMS on"


def held_back(user: User, now: float) -> str | None:
    """Why no SMS goes out for a registration, for `users list`; None when they do."""
    if user.opted_out:
        return "opted out (STOP)"
    return _paused(user, now)


def _paused(user: User, now: float) -> str | None:
    if not user.paused_until or user.paused_until <= now:
        return None
    if user.paused_until >= PAUSED_UNTIL_RESUME:
        text = "paused until RESUME"
    else:
        text = f"paused until {when(user.paused_until, user.timezone)}"
    # Set when highlightd paused it (the phone could not get SMS), not its owner.
    return f"{text} ({user.paused_reason})" if user.paused_reason else text


def describe(
    user: User, keywords: list[str], exceptions: list[str], muted: list[str], now: float
) -> str:
    """A user's settings in one line (the phone masked)."""
    parts = [f"{user.nick} on {user.network}: {mask_phone(user.phone)}, {state_of(user, now)}"]
    if keywords:
        parts.append("keywords " + ", ".join(keywords))
    if exceptions:
        parts.append("except " + ", ".join(exceptions))
    if muted:
        parts.append("muted " + ", ".join(muted))
    if user.quiet:
        parts.append(f"quiet {user.quiet} {user.timezone or 'UTC'}")
    return "; ".join(parts)
