"""SMS sent (with their cost and status) and received (the outbox of answers)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from highlightd.core.delivery import STATUS_RANK, UNKNOWN_RANK, rank
from highlightd.core.records import IncomingSms, OutboxEntry, User
from highlightd.store.database import Database
from highlightd.store.taking import CLAIMED, Take
from highlightd.store.taking import insert as _insert


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
        await self._database.writer.execute(
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

    async def update_status(self, sid: str, status: str, error_code: int | None = None) -> bool:
        """Move an SMS's status forward (a late `sent` never replaces `delivered`);
        False when it did not move (or the SMS is not ours)."""
        async with self._db.execute(
            "UPDATE sent_sms SET status = ?, error_code = coalesce(?, error_code),"
            f" updated_at = ? WHERE sid = ? AND {_RANK_OF_STATUS} < ?",
            (status, error_code, time.time(), sid, rank(status)),
        ) as cur:
            return cur.rowcount > 0

    async def advance(
        self, sid: str, status: str, error_code: int | None, to: str | None, at: float
    ) -> tuple[str | None, bool]:
        """A status callback: (the SMS's phone, whether its status moved forward).

        A callback can beat the sender to recording its SMS (an answer lost, then
        the message found in Twilio's list): its status waits in early_status, and
        the phone is the callback's `To`, until store.outgoing.sent applies it.
        """
        if await self.update_status(sid, status, error_code):
            return await self.phone_of(sid), True
        if (phone := await self.phone_of(sid)) is not None or to is None:
            return phone, False
        await self._db.execute("DELETE FROM early_status WHERE at < ?", (at - EARLY_STATUS_KEPT,))
        async with self._db.execute(
            "INSERT INTO early_status (sid, to_phone, status, error_code, at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (sid) DO UPDATE SET status = excluded.status,"
            " error_code = coalesce(excluded.error_code, error_code), at = excluded.at"
            f" WHERE {_RANK_OF_STATUS} < {rank_sql('excluded.status')}",
            (sid, to, status, error_code, at),
        ) as cur:
            moved = cur.rowcount > 0
        if await self.phone_of(sid) is not None:  # recorded meanwhile, before this was kept
            await self.update_status(sid, status, error_code)
            await self._db.execute("DELETE FROM early_status WHERE sid = ?", (sid,))
        return to, moved

    async def phone_of(self, sid: str) -> str | None:
        """The phone an SMS of ours went to."""
        async with self._db.execute("SELECT to_phone FROM sent_sms WHERE sid = ?", (sid,)) as cur:
            row = await cur.fetchone()
        return str(row[0]) if row else None

    async def undelivered(self, phone: str, code: int, at: float) -> int:
        """Count one more undeliverable SMS in a row for a phone; the count so far."""
        async with self._db.execute(
            "INSERT INTO undelivered (phone, streak, last_code, last_at) VALUES (?, 1, ?, ?)"
            " ON CONFLICT (phone) DO UPDATE SET streak = streak + 1,"
            " last_code = excluded.last_code, last_at = excluded.last_at RETURNING streak",
            (phone, code, at),
        ) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def clear_undelivered(self, phone: str) -> None:
        """Start the count of undeliverable SMS again (one was delivered, or the phone paused)."""
        await self._db.execute("DELETE FROM undelivered WHERE phone = ?", (phone,))

    async def undelivered_streak(self, phone: str) -> tuple[int, int] | None:
        """(undeliverable SMS in a row, the last error code), if any."""
        async with self._db.execute(
            "SELECT streak, last_code FROM undelivered WHERE phone = ?", (phone,)
        ) as cur:
            row = await cur.fetchone()
        return (int(row[0]), int(row[1])) if row else None

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


def rank_sql(column: str) -> str:
    """SQL for core.delivery.rank of a status column."""
    whens = " ".join(f"WHEN '{name}' THEN {value}" for name, value in STATUS_RANK.items())
    return f"(CASE {column} {whens} ELSE {UNKNOWN_RANK} END)"


_RANK_OF_STATUS = rank_sql("status")
EARLY_STATUS_KEPT = 86400.0  # seconds: a status for an SMS we never record is not ours


# Past any rowid: outbox() without an end.
LAST = 2**63 - 1


class ReceivedLog:
    """Every SMS received, deduplicated by Twilio's MessageSid; answers stay in the outbox
    until the IRC side confirms it said them (or told the sender why not)."""

    def __init__(self, db: Database) -> None:
        self._db = db.conn
        self._database = db

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

    async def claim(self, sms: IncomingSms, take_over: bool = False) -> bool:
        """Take an incoming SMS for handling; False when its MessageSid was taken before.

        One INSERT decides, so of concurrent duplicates exactly one wins. The SMS is
        held back from the outbox (confirmed_at = CLAIMED) until release() or
        handled(): a command must never reach IRC. With take_over, a claim never
        decided (its process died first) goes to this caller: Twilio's retry of
        that SMS. Only the one process that handles webhooks may pass it, and only
        for a sid it is not handling itself.
        """
        return await self._insert(sms, CLAIMED, take_over) > 0

    async def take_if_answer(
        self,
        sms: IncomingSms,
        is_answer: Callable[[list[User]], bool],
        take_over: bool = False,
        surely: bool = False,
    ) -> tuple[bool, bool | None]:
        """Whether the sender is registered and, when is_answer(their registrations), the
        SMS stored as an answer (claim() and release() at once), in one job of the group
        writer. surely: is_answer holds whoever sent it; then it is stored without a
        look-up first, with the others of its group (store/taking.py).

        Returns (registered, None when not an answer and nothing was stored, else
        whether it was taken: False for a copy).
        """
        return await self._database.writer.write(Take(sms, is_answer, take_over, surely))

    async def _insert(self, sms: IncomingSms, confirmed_at: float | None, take_over: bool) -> int:
        return await self._database.write(lambda conn: _insert(conn, sms, confirmed_at, take_over))

    async def release(self, sid: str) -> None:
        """A claimed SMS turned out to be an answer: let the outbox put it on the bus."""
        await self._database.writer.execute(
            "UPDATE received_sms SET confirmed_at = NULL WHERE sid = ?", (sid,)
        )

    async def handled(self, sid: str, at: float) -> None:
        """A claimed SMS was a command, done: it never goes on the bus."""
        await self._database.writer.execute(
            "UPDATE received_sms SET confirmed_at = ? WHERE sid = ?", (at, sid)
        )

    async def forget(self, sid: str) -> None:
        """Handling a claimed SMS failed: drop the claim, so that Twilio's retry is handled."""
        await self._database.writer.execute("DELETE FROM received_sms WHERE sid = ?", (sid,))

    async def newest(self) -> int:
        """Where the log ends now: outbox(upto=) leaves out what is stored after this."""
        rows = await self._database.rows("SELECT coalesce(max(rowid), 0) FROM received_sms")
        return int(rows[0][0])

    async def outbox(
        self, after: tuple[float, str] = (float("-inf"), ""), limit: int = 100, upto: int = LAST
    ) -> list[OutboxEntry]:
        """Unconfirmed answers received after `after` (received_at, sid), oldest first;
        those stored after newest() said `upto`, left out."""
        rows = await self._database.rows(
            "SELECT sid, from_phone, body, received_at, published_at, published_epoch"
            " FROM received_sms WHERE confirmed_at IS NULL AND (received_at, sid) > (?, ?)"
            " AND rowid <= ? ORDER BY received_at, sid LIMIT ?",
            (*after, upto, limit),
        )
        return [OutboxEntry(IncomingSms(*row[:4]), row[4], row[5]) for row in rows]

    async def published(self, sids: Sequence[str], epoch: str, at: float | None = None) -> None:
        """These answers went on the bus of that Redis at `at` (default: just now)."""
        at = time.time() if at is None else at
        rows = [(at, epoch, sid) for sid in sids]
        await self._database.writer.write(
            lambda conn: conn.executemany(
                "UPDATE received_sms SET published_at = ?, published_epoch = ? WHERE sid = ?",
                rows,
            )
        )

    async def confirm(self, sids: Sequence[str]) -> None:
        """The IRC side is done with these answers: they leave the outbox."""
        at = time.time()
        rows = [(at, sid) for sid in sids]
        await self._database.writer.write(
            lambda conn: conn.executemany(
                "UPDATE received_sms SET confirmed_at = ? WHERE sid = ? AND confirmed_at IS NULL",
                rows,
            )
        )
