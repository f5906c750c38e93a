"""The webhook's write: an incoming SMS claimed, or stored as an answer when its sender is
registered; the plain answers of one group commit in one statement.

Each statement on the connection's thread waits for the GIL, which the loop holds
while it runs requests (docs/library-notes.md, aiosqlite): a statement per answer
was most of a group's time on that thread under load. So the answers of a group
that need no look-up first (plain ones: `Take.surely`) go in one INSERT; if any of
them is not stored (a stranger's, a copy), the group is undone and each of its
writes runs alone, as it would have.
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass

from highlightd.core.records import IncomingSms, User
from highlightd.store.users import by_phone_in
from highlightd.store.writer import RunAlone

# confirmed_at of an SMS taken for handling and not decided yet (answer or command).
CLAIMED = -1.0
_COLUMNS = "INSERT INTO received_sms (sid, from_phone, body, received_at, confirmed_at)"
# A row already there is taken over only when it is an undecided claim and we may.
_CONFLICT = (
    " ON CONFLICT (sid) DO UPDATE SET"
    " received_at = excluded.received_at, confirmed_at = excluded.confirmed_at"
    " WHERE received_sms.confirmed_at = ? AND ?"
)


def insert(
    conn: sqlite3.Connection, sms: IncomingSms, confirmed_at: float | None, take_over: bool
) -> int:
    """Store an incoming SMS (see ReceivedLog.claim); how many rows it changed."""
    return conn.execute(
        f"{_COLUMNS} VALUES (?, ?, ?, ?, ?){_CONFLICT}",
        (sms.sid, sms.from_phone, sms.body, sms.received_at, confirmed_at, CLAIMED, take_over),
    ).rowcount


@functools.lru_cache(maxsize=64)
def _answers_sql(count: int) -> str:
    """insert() of `count` answers (confirmed_at NULL), each only if its sender is registered."""
    values = ", ".join(["(?, ?, ?, ?)"] * count)
    return (
        f"{_COLUMNS} SELECT v.column1, v.column2, v.column3, v.column4, NULL"
        f" FROM (VALUES {values}) AS v"
        " WHERE EXISTS (SELECT 1 FROM users WHERE phone = v.column2)" + _CONFLICT
    )


@dataclass(frozen=True, slots=True)
class Take:
    """One webhook's write (see ReceivedLog.take_if_answer); the group writer runs those
    next to each other in a group through `together`."""

    sms: IncomingSms
    is_answer: Callable[[list[User]], bool]
    take_over: bool
    surely: bool  # is_answer holds whoever sent it: stored without a look-up first

    def __call__(self, conn: sqlite3.Connection) -> tuple[bool, bool | None]:
        sms = self.sms
        if self.surely:
            row = (sms.sid, sms.from_phone, sms.body, sms.received_at)
            if conn.execute(_answers_sql(1), (*row, CLAIMED, self.take_over)).rowcount:
                return True, True
        users = by_phone_in(conn, sms.from_phone)
        if not users or not self.is_answer(users):
            return bool(users), None
        return True, insert(conn, sms, None, self.take_over) > 0

    @staticmethod
    def together(conn: sqlite3.Connection, takes: list[Take]) -> list[tuple[bool, bool | None]]:
        """Each take's outcome: all in one INSERT when every one is a plain answer that
        is stored. When one is not (a stranger's, a copy: rare), the group writer undoes
        the group and runs each write alone (RunAlone), as when a write fails: a
        savepoint around the INSERT would cost two statements in every group."""
        take_over = takes[0].take_over
        if all(take.surely and take.take_over == take_over for take in takes):
            rows = [
                value
                for take in takes
                for value in (
                    take.sms.sid,
                    take.sms.from_phone,
                    take.sms.body,
                    take.sms.received_at,
                )
            ]
            stored = conn.execute(_answers_sql(len(takes)), (*rows, CLAIMED, take_over)).rowcount
            if stored != len(takes):
                raise RunAlone(f"{len(takes) - stored} of {len(takes)} answers not stored")
            return [(True, True)] * len(takes)
        return [take(conn) for take in takes]
