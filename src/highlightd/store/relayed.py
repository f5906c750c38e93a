"""The IRC side's memory of answers: what it did with each MessageSid, and its own name.

The bus may hand the same answer over more than once (the accepting side re-publishes
what it has not seen confirmed); this record is what keeps it from being said twice.
"""

from __future__ import annotations

import time
import uuid

from highlightd.store.database import Database

CONSUMER_ID = "relay_consumer"


class Relayed:
    def __init__(self, db: Database) -> None:
        self._db = db.conn
        self._database = db

    async def outcome(self, sid: str) -> str | None:
        """What was done with this answer ("said", "bounced", ...), or None if nothing yet."""
        rows = await self._database.rows("SELECT outcome FROM said_sms WHERE sid = ?", (sid,))
        return str(rows[0][0]) if rows else None

    async def record(self, sid: str, outcome: str) -> None:
        """Remember what was done with an answer; the first record stands."""
        await self._database.writer.execute(
            "INSERT INTO said_sms (sid, outcome, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (sid, outcome, time.time()),
        )

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
