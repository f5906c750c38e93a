"""SMS sent (with their cost and status) and received (the outbox of answers)."""

from __future__ import annotations

import time
from collections.abc import Sequence

from highlightd.core.records import IncomingSms, OutboxEntry
from highlightd.store.database import Database


class SentLog:
    """Every SMS we sent: what it cost, its delivery status, and the daily-limit notices."""

    def __init__(self, db: Database) -> None:
        self._db = db.conn
        self._database = db

    async def record(
        self,
        sid: str,
        user_id: int | None,
        to: str,
        status: str,
        segments: int = 1,
        at: float | None = None,
    ) -> None:
        """Remember an SMS sent; at is when (the sender's clock), now by default."""
        now = time.time() if at is None else at
        await self._db.execute(
            "INSERT OR REPLACE INTO sent_sms (sid, user_id, to_phone, status, created_at,"
            " updated_at, segments) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (sid, user_id, to, status, now, now, segments),
        )

    async def segments_since(self, since: float, user_id: int | None = None) -> int:
        """Segments sent since a moment: one user's, or everyone's (user_id None).

        Verification codes are left out: they have a budget of their own (codes_sent).
        """
        sql = (
            "SELECT coalesce(sum(segments), 0) FROM sent_sms WHERE created_at >= ?"
            " AND sid NOT IN (SELECT sid FROM codes_sent WHERE sid IS NOT NULL)"
        )
        args: tuple[float, ...] = (since,)
        if user_id is not None:
            sql += " AND user_id = ?"
            args = (since, user_id)
        async with self._db.execute(sql, args) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def update_status(self, sid: str, status: str) -> bool:
        async with self._db.execute(
            "UPDATE sent_sms SET status = ?, updated_at = ? WHERE sid = ?",
            (status, time.time(), sid),
        ) as cur:
            return cur.rowcount > 0

    async def status(self, sid: str) -> str | None:
        async with self._db.execute("SELECT status FROM sent_sms WHERE sid = ?", (sid,)) as cur:
            row = await cur.fetchone()
        return str(row[0]) if row else None

    async def last_sent_at(self, user_id: int) -> float | None:
        async with self._db.execute(
            "SELECT max(created_at) FROM sent_sms WHERE user_id = ?", (user_id,)
        ) as cur:
            row = await cur.fetchone()
        return float(row[0]) if row and row[0] is not None else None

    async def note_limit(self, user_id: int, day: str) -> bool:
        """Remember that a user was told of the daily limit; False if already told that day."""
        async with self._db.execute(
            "INSERT INTO limit_notices (user_id, day) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (user_id, day),
        ) as cur:
            return cur.rowcount > 0


class ReceivedLog:
    """Every SMS received, deduplicated by Twilio's MessageSid; answers stay in the outbox
    until the IRC side confirms it said them (or told the sender why not)."""

    def __init__(self, db: Database) -> None:
        self._db = db.conn

    async def seen(self, sid: str) -> bool:
        async with self._db.execute("SELECT 1 FROM received_sms WHERE sid = ?", (sid,)) as cur:
            return await cur.fetchone() is not None

    async def accept(self, sms: IncomingSms, relay: bool = True) -> bool:
        """Store an incoming SMS; False when that MessageSid was seen before.

        One not to relay (a command) is stored as already confirmed: the outbox skips it.
        """
        async with self._db.execute(
            "INSERT INTO received_sms (sid, from_phone, body, received_at, confirmed_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (sid) DO NOTHING",
            (
                sms.sid,
                sms.from_phone,
                sms.body,
                sms.received_at,
                None if relay else sms.received_at,
            ),
        ) as cur:
            return cur.rowcount > 0

    async def unconfirmed(self, limit: int = 100) -> list[IncomingSms]:
        """The outbox, oldest first."""
        return [entry.sms for entry in await self.outbox(limit=limit)]

    async def claim(self, sms: IncomingSms) -> bool:
        """Take an incoming SMS for handling; False when its MessageSid was taken before.

        One INSERT decides, so of concurrent duplicates exactly one wins. The SMS is
        held back from the outbox until release(): a command must never reach IRC.
        """
        return await self.accept(sms, relay=False)

    async def release(self, sid: str) -> None:
        """A claimed SMS turned out to be an answer: let the outbox put it on the bus."""
        await self._db.execute("UPDATE received_sms SET confirmed_at = NULL WHERE sid = ?", (sid,))

    async def forget(self, sid: str) -> None:
        """Handling a claimed SMS failed: drop the claim, so that Twilio's retry is handled."""
        await self._db.execute("DELETE FROM received_sms WHERE sid = ?", (sid,))

    async def outbox(
        self, after: tuple[float, str] = (float("-inf"), ""), limit: int = 100
    ) -> list[OutboxEntry]:
        """Unconfirmed answers received after `after` (received_at, sid), oldest first."""
        async with self._db.execute(
            "SELECT sid, from_phone, body, received_at, published_at, published_epoch"
            " FROM received_sms WHERE confirmed_at IS NULL AND (received_at, sid) > (?, ?)"
            " ORDER BY received_at, sid LIMIT ?",
            (*after, limit),
        ) as cur:
            return [OutboxEntry(IncomingSms(*row[:4]), row[4], row[5]) async for row in cur]

    async def published(self, sid: str, epoch: str) -> None:
        """The answer went on the bus of that Redis just now."""
        await self._db.execute(
            "UPDATE received_sms SET published_at = ?, published_epoch = ? WHERE sid = ?",
            (time.time(), epoch, sid),
        )

    async def confirm(self, sids: Sequence[str]) -> None:
        """The IRC side is done with these answers: they leave the outbox."""
        await self._db.executemany(
            "UPDATE received_sms SET confirmed_at = ? WHERE sid = ? AND confirmed_at IS NULL",
            [(time.time(), sid) for sid in sids],
        )
