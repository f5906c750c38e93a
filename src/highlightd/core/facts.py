"""The facts a decision is made from, built one way for the daemon and for `explain`. Pure."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from highlightd.core.policy import Person, QuietHours
from highlightd.core.records import User


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
