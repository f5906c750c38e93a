"""What was spent on SMS lately, and what is on its way, kept in memory: the budgets and
the cooldown are read for every highlight, and reading them must not wait on the disk.

Loaded from the database once (and again when the users are reloaded: a user
forgotten takes their SMS along), then kept in step by the Sender, which makes
every SMS that counts: an outbox row when decided, a sent one or a given up one.
Only the process running the IRC side sends them (verification codes, sent by
registration, have a budget of their own and count in neither). The same numbers as
`store.outgoing.spend`, which reads them from the tables.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable
from functools import partial

from highlightd.core.facts import InFlight
from highlightd.core.policy import Spend
from highlightd.store import Store

# How far back sent SMS are kept: every "today" starts less than a day and a few hours
# ago (DST, the furthest timezones), so two days cover them all.
KEEP = 2 * 86_400.0


class Tally:
    """Segments by key, each with its time: their sum since a moment, kept as they come.

    Adding a key twice counts it once, so a change may be applied again safely.
    """

    __slots__ = ("_items", "_since", "_total")

    def __init__(self) -> None:
        self._items: dict[Hashable, tuple[float, int]] = {}
        self._since = math.inf  # the moment _total counts from
        self._total = 0

    def __len__(self) -> int:
        return len(self._items)

    def add(self, key: Hashable, at: float, segments: int) -> None:
        if key in self._items:
            return
        self._items[key] = (at, segments)
        if at >= self._since:
            self._total += segments

    def remove(self, key: Hashable) -> None:
        item = self._items.pop(key, None)
        if item is not None and item[0] >= self._since:
            self._total -= item[1]

    def since(self, moment: float) -> int:
        """The segments at or after moment; a new moment (a new day) counts them again
        and forgets what is older than KEEP before it."""
        if moment != self._since:
            horizon = moment - KEEP
            self._items = {k: v for k, v in self._items.items() if v[0] >= horizon}
            self._since = moment
            self._total = sum(segments for at, segments in self._items.values() if at >= moment)
        return self._total

    def latest(self) -> float | None:
        return max((at for at, _ in self._items.values()), default=None)


class SpendBook:
    """The spend of every user and of everyone, as `store.outgoing.spend` would read it."""

    def __init__(self, store: Store, clock: Callable[[], float]) -> None:
        self._store = store
        self._clock = clock
        self._reset()
        # Changes made while a load is under way, applied again on top of what it read.
        self._journal: list[Callable[[], None]] | None = None

    def _reset(self) -> None:
        self._sent = Tally()  # every sent SMS but verification codes, by sid
        self._sent_by_user: dict[int, Tally] = {}
        self._last_sent: dict[int, float] = {}  # each user's latest SMS, however old
        self._waiting = Tally()  # the outbox, by row id (its time: when decided)
        self._waiting_by_user: dict[int, Tally] = {}
        self._waiting_of: dict[int, int] = {}  # outbox row id -> its user

    async def load(self) -> None:
        """Read it all again from the database (start-up, and after a reload of users)."""
        journal: list[Callable[[], None]] = []
        self._journal = journal
        try:
            sent, waiting, latest = await self._store.outgoing.spend_rows(self._clock() - KEEP)
        finally:
            self._journal = None
        self._reset()
        self._last_sent.update(latest)
        for sid, user_id, at, segments, code in sent:
            self._add_sent(sid, user_id, at, segments, bool(code))
        for sms_id, user_id, at, segments in waiting:
            self._decided(sms_id, user_id, at, segments)
        for change in journal:
            change()

    # What the Sender tells, as each change commits

    def decided(self, sms_id: int, user_id: int | None, at: float, segments: int) -> None:
        """An SMS is in the outbox: it counts from now on."""
        self._apply(partial(self._decided, sms_id, user_id, at, segments))

    def sent(self, sms_id: int, sid: str, user_id: int | None, at: float, segments: int) -> None:
        """An SMS of the outbox was sent (recorded at `at`)."""
        self._apply(partial(self._sent_now, sms_id, sid, user_id, at, segments))

    def dropped(self, sms_id: int) -> None:
        """An SMS of the outbox was given up: it no longer counts."""
        self._apply(partial(self._dropped, sms_id))

    def _apply(self, change: Callable[[], None]) -> None:
        change()
        if self._journal is not None:
            self._journal.append(change)

    def _decided(self, sms_id: int, user_id: int | None, at: float, segments: int) -> None:
        self._waiting.add(sms_id, at, segments)
        if user_id is not None:
            self._waiting_by_user.setdefault(user_id, Tally()).add(sms_id, at, segments)
            self._waiting_of[sms_id] = user_id

    def _dropped(self, sms_id: int) -> None:
        self._waiting.remove(sms_id)
        user_id = self._waiting_of.pop(sms_id, None)
        if user_id is not None:
            mine = self._waiting_by_user[user_id]
            mine.remove(sms_id)
            if not mine:
                del self._waiting_by_user[user_id]

    def _sent_now(
        self, sms_id: int, sid: str, user_id: int | None, at: float, segments: int
    ) -> None:
        self._dropped(sms_id)
        self._add_sent(sid, user_id, at, segments, False)

    def _add_sent(
        self, sid: str, user_id: int | None, at: float, segments: int, code: bool
    ) -> None:
        if not code:
            self._sent.add(sid, at, segments)
        if user_id is not None:
            self._sent_by_user.setdefault(user_id, Tally()).add(sid, at, segments)
            self._last_sent[user_id] = max(at, self._last_sent.get(user_id, at))

    # What a decision reads

    def spend(self, user_id: int, user_since: float, all_since: float) -> tuple[Spend, InFlight]:
        """What a user (and everyone) spent since a moment, and what is on its way."""
        mine = self._sent_by_user.get(user_id)
        waiting = self._waiting_by_user.get(user_id)
        return (
            Spend(
                self._last_sent.get(user_id),
                mine.since(user_since) if mine is not None else 0,
                self._sent.since(all_since),
            ),
            InFlight(
                waiting.latest() if waiting else None,
                waiting.since(-math.inf) if waiting is not None else 0,
                self._waiting.since(-math.inf),
            ),
        )
