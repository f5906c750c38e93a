"""The SMS outbox: every SMS decided is a row here first, until it is sent or given up."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import astuple
from functools import partial
from typing import Any

from highlightd.core.facts import InFlight
from highlightd.core.policy import Spend
from highlightd.core.records import Highlight, OutgoingSms
from highlightd.store.database import Database
from highlightd.store.sentrecords import Accepted, record
from highlightd.store.users import SET_LAST_HIGHLIGHT

_SpendRows = tuple[
    list[tuple[str, int | None, float, int, int]],
    list[tuple[int, int | None, float, int]],
    list[tuple[int, float]],
]

# Rows that still count: waiting for a first try, or for a look into Twilio's list.
_WAITING = "state IN ('pending', 'sending')"
_COLUMNS = (
    "id, user_id, to_phone, body, kind, segments, decided_at, state, attempts, first_try_at,"
    " next_at"
)


class Outgoing:
    """SMS on their way: written when decided, gone once recorded in store.sent."""

    def __init__(self, db: Database) -> None:
        self._db = db.conn
        self._database = db

    async def add(
        self,
        user_id: int | None,
        phone: str,
        body: str,
        kind: str,
        segments: int,
        decided_at: float,
        releasing: Sequence[int] = (),
        highlight: Highlight | None = None,
    ) -> int:
        """Keep an SMS to send; the held highlights it carries (a digest) go in the same
        transaction, so a crash leaves either them or the digest, never neither; so
        does the highlight it is about, where the user's answers will go."""
        row = (user_id, phone, body, kind, segments, decided_at)
        add = partial(_add, row=row, releasing=releasing, highlight=highlight, trying_at=None)
        new_id, _trying = await self._database.write(add)
        return new_id

    async def add_trying(
        self, user_id: int, phone: str, body: str, kind: str, segments: int,
        decided_at: float, highlight: Highlight | None, at: float,
    ) -> tuple[int, bool]:  # fmt: skip
        """As `add`, and marked "sending" (as `trying`) in the same commit when no older
        SMS to the phone is on its way and the user wants SMS: its request may go out
        once this returns, with no commit of its own. Whether it was marked."""
        row = (user_id, phone, body, kind, segments, decided_at)
        add = partial(_add, row=row, releasing=(), highlight=highlight, trying_at=at)
        return await self._database.write(add)

    async def due(self, now: float) -> list[OutgoingSms]:
        """For each phone, its oldest SMS still on its way, if its next try is due."""
        return await self._database.read(partial(_due, now=now))

    async def look(self, now: float) -> tuple[list[OutgoingSms], int, float | None]:
        """`due`, `waiting` and `next_try` in one job on the connection's thread."""

        def look(conn: sqlite3.Connection) -> tuple[list[OutgoingSms], int, float | None]:
            return _due(conn, now), _waiting(conn), _next_try(conn, now)

        return await self._database.read(look)

    async def get(self, sms_id: int) -> OutgoingSms | None:
        async with self._db.execute(
            f"SELECT {_COLUMNS} FROM outgoing WHERE id = ?", (sms_id,)
        ) as cur:
            row = await cur.fetchone()
        return _row(row) if row else None

    async def next_try(self, after: float) -> float | None:
        """The earliest next try later than `after`."""
        return await self._database.read(partial(_next_try, after=after))

    async def trying(self, sms_id: int, at: float) -> None:
        """Before a request goes out: from now on the SMS may exist at Twilio."""
        await self._database.writer.execute(
            "UPDATE outgoing SET state = 'sending', first_try_at = coalesce(first_try_at, ?)"
            " WHERE id = ?",
            (at, sms_id),
        )

    async def later(self, sms_id: int, state: str, next_at: float, error: str) -> None:
        """A failed try (counted): the next at next_at; "pending" only when no attempt
        can have created it."""
        await self._database.writer.execute(
            "UPDATE outgoing SET state = ?, next_at = ?, error = ?, attempts = attempts + 1"
            " WHERE id = ?",
            (state, next_at, error, sms_id),
        )

    async def retry_now(self) -> None:
        """Every SMS waiting for its next try may go now (Twilio is back)."""
        await self._db.execute(f"UPDATE outgoing SET next_at = 0 WHERE {_WAITING}")

    async def fail(self, sms_id: int, error: str) -> None:
        """Given up: kept for the record, no longer counted or tried."""
        await self._database.writer.execute(
            "UPDATE outgoing SET state = 'failed', error = ? WHERE id = ?", (error, sms_id)
        )

    async def sent(self, sms: OutgoingSms, sid: str, status: str, at: float) -> None:
        """Recorded as sent (store.sent) and off the outbox, in one transaction."""
        await self._database.write(partial(record, accepted=(sms, sid, status, at)))

    async def sent_many(self, done: Sequence[Accepted]) -> list[Exception | None]:
        """`sent` for each (sms, sid, status, at), all in one commit; each one's failure."""
        writes = [partial(record, accepted=each) for each in done]
        results = await self._database.writer.write_each(writes)
        return [r if isinstance(r, Exception) else None for r in results]

    async def known(self, sids: Sequence[str]) -> set[str]:
        """Which of these sids are recorded already (another decision's SMS)."""
        if not sids:
            return set()
        marks = ",".join("?" * len(sids))
        async with self._db.execute(
            f"SELECT sid FROM sent_sms WHERE sid IN ({marks})", tuple(sids)
        ) as cur:
            return {str(r[0]) async for r in cur}

    async def spend(
        self, user_id: int, user_since: float, all_since: float
    ) -> tuple[Spend, InFlight]:
        """What a user (and everyone) spent since a moment, and what is on its way.

        One statement, so one snapshot: an SMS moving from here to store.sent while
        it is read is counted once, never zero times.
        """
        async with self._db.execute(
            "SELECT (SELECT max(created_at) FROM sent_sms WHERE user_id = :user),"
            " (SELECT coalesce(sum(segments), 0) FROM sent_sms"
            "  WHERE created_at >= :mine AND user_id = :user),"
            " (SELECT coalesce(sum(segments), 0) FROM sent_sms WHERE created_at >= :all"
            # Verification codes have a budget of their own (codes_sent), not this one.
            "  AND sid NOT IN (SELECT sid FROM codes_sent WHERE sid IS NOT NULL)),"
            f" (SELECT max(decided_at) FROM outgoing WHERE {_WAITING} AND user_id = :user),"
            " (SELECT coalesce(sum(segments), 0) FROM outgoing"
            f"  WHERE {_WAITING} AND user_id = :user),"
            f" (SELECT coalesce(sum(segments), 0) FROM outgoing WHERE {_WAITING})",
            {"user": user_id, "mine": user_since, "all": all_since},
        ) as cur:
            row = await cur.fetchone()
        assert row is not None
        last_sent, mine, everyone, last_decided, mine_flying, all_flying = row
        return (
            Spend(_float(last_sent), int(mine), int(everyone)),
            InFlight(_float(last_decided), int(mine_flying), int(all_flying)),
        )

    async def spend_rows(self, since: float) -> _SpendRows:
        """What sms.spending.SpendBook keeps, in one snapshot: the SMS sent since a moment
        (sid, user, when, segments, whether a verification code), the outbox (id, user,
        decided, segments), and each user's latest SMS sent, however old."""

        def read(conn: sqlite3.Connection) -> _SpendRows:
            sent = conn.execute(
                "SELECT sid, user_id, created_at, segments, sid IN"
                " (SELECT sid FROM codes_sent WHERE sid IS NOT NULL)"
                " FROM sent_sms WHERE created_at >= ?",
                (since,),
            ).fetchall()
            waiting = conn.execute(
                f"SELECT id, user_id, decided_at, segments FROM outgoing WHERE {_WAITING}"
            ).fetchall()
            latest = conn.execute(
                "SELECT user_id, max(created_at) FROM sent_sms"
                " WHERE user_id IS NOT NULL GROUP BY user_id"
            ).fetchall()
            return sent, waiting, latest

        return await self._database.reading(read)

    async def waiting(self) -> int:
        return await self._database.read(_waiting)

    async def failed(self) -> list[tuple[OutgoingSms, str]]:
        """SMS given up, with why (for inspection)."""
        async with self._db.execute(
            f"SELECT {_COLUMNS}, error FROM outgoing WHERE state = 'failed' ORDER BY id"
        ) as cur:
            return [(_row(r[:-1]), str(r[-1])) async for r in cur]


def _add(
    conn: sqlite3.Connection,
    row: tuple[Any, ...],
    releasing: Sequence[int],
    highlight: Highlight | None,
    trying_at: float | None,
) -> tuple[int, bool]:
    new_id = int(
        conn.execute(
            "INSERT INTO outgoing (user_id, to_phone, body, kind, segments, decided_at)"
            " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            row,
        ).fetchone()[0]
    )
    if releasing:
        marks = ",".join("?" * len(releasing))
        conn.execute(f"DELETE FROM held WHERE id IN ({marks})", tuple(releasing))
    if highlight is not None:
        conn.execute(SET_LAST_HIGHLIGHT, astuple(highlight))
    # Marked only when first in its phone's line (each phone's SMS go out in order), and
    # its user still wants SMS (a STOP or a pause committed since the decision).
    trying = trying_at is not None and bool(
        conn.execute(
            f"SELECT NOT EXISTS (SELECT 1 FROM outgoing WHERE to_phone = ? AND id < ? AND"
            f" {_WAITING}) AND EXISTS (SELECT 1 FROM users WHERE id = ? AND NOT opted_out"
            " AND (paused_until IS NULL OR paused_until <= ?))",
            (row[1], new_id, row[0], row[5]),
        ).fetchone()[0]
    )
    if trying:
        conn.execute(
            "UPDATE outgoing SET state = 'sending', first_try_at = ? WHERE id = ?",
            (trying_at, new_id),
        )
    return new_id, trying


def _due(conn: sqlite3.Connection, now: float) -> list[OutgoingSms]:
    return [
        _row(r)
        for r in conn.execute(
            f"SELECT {_COLUMNS} FROM outgoing o WHERE next_at <= ? AND id = (SELECT min(id)"
            f" FROM outgoing WHERE to_phone = o.to_phone AND {_WAITING}) ORDER BY id",
            (now,),
        )
    ]


def _waiting(conn: sqlite3.Connection) -> int:
    return int(conn.execute(f"SELECT count(*) FROM outgoing WHERE {_WAITING}").fetchone()[0])


def _next_try(conn: sqlite3.Connection, after: float) -> float | None:
    row = conn.execute(
        f"SELECT min(next_at) FROM outgoing WHERE {_WAITING} AND next_at > ?", (after,)
    ).fetchone()
    return float(row[0]) if row[0] is not None else None


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _row(row: Any) -> OutgoingSms:
    sms_id, user_id, phone, body, kind, segs, decided, state, attempts, first, next_at = row
    return OutgoingSms(
        sms_id,
        user_id,
        phone,
        body,
        kind,
        int(segs),
        float(decided),
        state,
        int(attempts),
        first,
        float(next_at),
    )
