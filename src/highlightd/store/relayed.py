"""The IRC side's memory of answers: what it did with each MessageSid, and its own name.

The bus may hand the same answer over more than once (the accepting side re-publishes
what it has not seen confirmed); this record is what keeps it from being said twice.
"""

from __future__ import annotations

import sqlite3
import time
import uuid
from dataclasses import dataclass

from highlightd.core.records import Highlight, User
from highlightd.store.database import Database
from highlightd.store.users import by_phone_in

CONSUMER_ID = "relay_consumer"
RECORD = "INSERT INTO said_sms (sid, outcome, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"


@dataclass(frozen=True, slots=True)
class Lookup:
    """What routing an answer reads: what was done with it, its sender's registrations,
    and each one's last highlight."""

    outcome: str | None
    users: list[User]
    highlights: list[Highlight]


class Relayed:
    def __init__(self, db: Database) -> None:
        self._db = db.conn
        self._database = db

    async def outcome(self, sid: str) -> str | None:
        """What was done with this answer ("said", "bounced", ...), or None if nothing yet."""
        rows = await self._database.rows("SELECT outcome FROM said_sms WHERE sid = ?", (sid,))
        return str(rows[0][0]) if rows else None

    async def look_up(self, sid: str, phone: str) -> Lookup:
        """An answer's outcome so far and what routing it reads, in one trip to the store."""
        return await self._database.read(lambda conn: _look_up(conn, sid, phone))

    async def look_up_many(self, answers: list[tuple[str, str]]) -> list[Lookup]:
        """`look_up` for each (sid, phone), in one trip to the store."""
        return await self._database.read(lambda conn: [_look_up(conn, *a) for a in answers])

    async def record(self, sid: str, outcome: str) -> None:
        """Remember what was done with an answer; the first record stands.

        Not fsynced on its own: it only keeps a copy from being said again, so a power
        loss that takes it repeats an answer, never loses one, and a kill keeps it.
        """
        row = (sid, outcome, time.time())
        # A job of its own, not a group writer's write: a network's answers are recorded
        # one at a time, and this one need not wait for a webhook group's fsync.
        await self._database.atomically(lambda conn: conn.execute(RECORD, row), synced=False)

    async def forget_before(self, before: float) -> int:
        """Drop records older than `before`; returns how many went."""
        async with self._db.execute("DELETE FROM said_sms WHERE at < ?", (before,)) as cur:
            return cur.rowcount

    async def consumer_name(self) -> str:
        """This installation's name in the stream's consumer group, made once and kept.

        Not the hostname: a container restarted under a new one is still the same
        consumer, and finds the entries it had taken.
        """
        await self._db.execute(
            "INSERT INTO local_ids (name, value) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (CONSUMER_ID, f"irc-{uuid.uuid4().hex[:12]}"),
        )
        async with self._db.execute(
            "SELECT value FROM local_ids WHERE name = ?", (CONSUMER_ID,)
        ) as cur:
            row = await cur.fetchone()
        assert row is not None  # inserted just above
        return str(row[0])


def _look_up(conn: sqlite3.Connection, sid: str, phone: str) -> Lookup:
    row = conn.execute("SELECT outcome FROM said_sms WHERE sid = ?", (sid,)).fetchone()
    if row is not None:
        return Lookup(str(row[0]), [], [])
    users = by_phone_in(conn, phone)
    if not users:
        return Lookup(None, [], [])
    marks = ",".join("?" * len(users))
    rows = conn.execute(
        f"SELECT user_id, channel, sender, at FROM last_highlight WHERE user_id IN ({marks})",
        tuple(u.id for u in users),
    )
    return Lookup(None, users, [Highlight(*r) for r in rows])
