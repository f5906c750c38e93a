"""What has been spent on SMS today, and saying so once a day when a budget is reached."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from highlightd.core.clock import day_start, local_day
from highlightd.core.facts import InFlight
from highlightd.core.policy import Decision, Reason, Rules, Spend
from highlightd.core.records import User
from highlightd.sms.sender import Sender
from highlightd.sms.spending import SpendBook
from highlightd.store import Store

log = logging.getLogger(__name__)

LIMIT_NOTICE = (
    "highlightd: today's SMS limit ({budget} segments) is reached; "
    "what comes next waits for one digest tomorrow."
)


def spend_of(book: SpendBook, user: User, now: float, rules: Rules) -> tuple[Spend, InFlight]:
    """What a user (and everyone) spent today, and what is in the outbox: no I/O."""
    tz = ZoneInfo(user.timezone) if user.timezone else rules.timezone
    return book.spend(user.id, day_start(now, tz), day_start(now, rules.timezone))


class LimitNotices:
    """A daily budget reached is said once a day: to the admin in the log, to the user by SMS."""

    def __init__(self, store: Store, sender: Sender) -> None:
        self._store = store
        self._sender = sender
        self._warned: set[tuple[str, str]] = set()  # (whose budget, local day)

    async def held(self, decision: Decision, user: User, rules: Rules, now: float) -> None:
        """A highlight (or digest) of user was held: say so if a budget held it."""
        if decision.reason not in (Reason.USER_BUDGET, Reason.GLOBAL_BUDGET):
            return
        mine = decision.reason is Reason.USER_BUDGET
        tz = ZoneInfo(user.timezone) if mine and user.timezone else rules.timezone
        day = local_day(now, tz)
        who = user.nick if mine else "everyone"
        key = (f"{user.network}/{user.nick}" if mine else "everyone", day)
        if key not in self._warned:
            self._warned.add(key)
            log.warning(
                "daily SMS budget reached for %s on %s (%s): holding highlights for a digest",
                who,
                user.network,
                decision.detail,
            )
        if await self._store.sent.note_limit(user.id, day):
            budget = rules.user_daily_segments if mine else rules.global_daily_segments
            await self._sender.send(user, LIMIT_NOTICE.format(budget=budget), "limit")
