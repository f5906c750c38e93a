"""What has been spent on SMS today, as the database knows it."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from highlightd.core.clock import day_start
from highlightd.core.policy import Rules, Spend
from highlightd.core.records import User
from highlightd.store import Store


async def spend_of(store: Store, user: User, now: float, rules: Rules) -> Spend:
    """What a user (and everyone) spent today, as the database knows it."""
    tz = ZoneInfo(user.timezone) if user.timezone else rules.timezone
    return Spend(
        last_sms_at=await store.sent.last_sent_at(user.id),
        user_segments_today=await store.sent.segments_since(day_start(now, tz), user.id),
        global_segments_today=await store.sent.segments_since(day_start(now, rules.timezone)),
    )
