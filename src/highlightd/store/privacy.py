"""What the database holds about a person: erasure on unregistering, retention, export."""

from __future__ import annotations

import datetime as dt
from typing import Any

from highlightd.store.database import Database
from highlightd.store.users import Users

# Every column outside `users` that holds a phone number. The rows keyed by user id
# (keywords, mutes, held highlights, the last mentioner, limit notices) go with the
# user row (ON DELETE CASCADE); sent_sms.user_id only becomes NULL, so its phone
# column is listed here.
PHONE_COLUMNS = (
    ("sent_sms", "to_phone"),
    ("received_sms", "from_phone"),
    ("pending", "phone"),
    ("codes_sent", "phone"),
)


class Privacy:
    def __init__(self, db: Database, users: Users) -> None:
        self._db = db.conn
        self._users = users

    async def unregister(self, network: str, nick_key: str) -> bool:
        """Remove a registration and, unless another one uses its phone, every trace of
        the phone; False when nobody is registered under that nick."""
        user = await self._users.get(network, nick_key)
        if user is None or not await self._users.remove(network, nick_key):
            return False
        await self.forget_phone(user.phone)
        return True

    async def forget_phone(self, phone: str) -> int:
        """Delete every row holding phone, unless a registration still uses it.

        Twilio keeps its own opt-out list (STOP), which is what carriers require; a
        number that said STOP and registers again is refused by Twilio (21610).
        """
        async with self._db.execute("SELECT 1 FROM users WHERE phone = ? LIMIT 1", (phone,)) as cur:
            if await cur.fetchone() is not None:
                return 0
        deleted = 0
        for table, column in PHONE_COLUMNS:
            async with self._db.execute(f"DELETE FROM {table} WHERE {column} = ?", (phone,)) as cur:
                deleted += cur.rowcount
        return deleted

    async def prune(self, before: float, now: float) -> dict[str, int]:
        """Delete SMS bodies and logs from before `before`; rows deleted, by table.

        An answer not yet put on the bus is kept whatever its age, and expired pending
        registrations go at once (their code is useless).
        """
        day = dt.datetime.fromtimestamp(before, dt.UTC).date().isoformat()
        statements = {
            "received_sms": (
                "DELETE FROM received_sms WHERE received_at < ? AND confirmed_at IS NOT NULL",
                before,
            ),
            "sent_sms": ("DELETE FROM sent_sms WHERE created_at < ?", before),
            "codes_sent": ("DELETE FROM codes_sent WHERE at < ?", before),
            "limit_notices": ("DELETE FROM limit_notices WHERE day < ?", day),
            "pending": ("DELETE FROM pending WHERE expires < ?", now),
        }
        pruned = {}
        for table, (sql, value) in statements.items():
            async with self._db.execute(sql, (value,)) as cur:
                pruned[table] = cur.rowcount
        return pruned

    async def export(self, network: str, nick_key: str) -> dict[str, Any] | None:
        """Everything stored about one registration, as JSON-ready values; None if unknown."""
        user = await self._users.get(network, nick_key)
        if user is None:
            return None
        by_user = "WHERE user_id = ?"
        return {
            "user": (await self._rows("SELECT * FROM users WHERE id = ?", user.id))[0],
            "keywords": await self._rows(
                f"SELECT word, exception FROM keywords {by_user}", user.id
            ),
            "muted": await self._rows(f"SELECT channel_key FROM muted {by_user}", user.id),
            "last_highlight": await self._rows(f"SELECT * FROM last_highlight {by_user}", user.id),
            "held": await self._rows(f"SELECT * FROM held {by_user} ORDER BY at", user.id),
            "sms_sent": await self._rows(
                "SELECT * FROM sent_sms WHERE to_phone = ? ORDER BY created_at", user.phone
            ),
            "sms_received": await self._rows(
                "SELECT * FROM received_sms WHERE from_phone = ? ORDER BY received_at", user.phone
            ),
            "codes_sent": await self._rows(
                "SELECT * FROM codes_sent WHERE phone = ? ORDER BY at", user.phone
            ),
            "limit_notices": await self._rows(f"SELECT day FROM limit_notices {by_user}", user.id),
            # A REGISTER of another number, not yet verified (the code itself is hashed).
            "pending": await self._rows(
                "SELECT nick, phone, account, expires, tries FROM pending"
                " WHERE network = ? AND nick_key = ?",
                network,
                nick_key,
            ),
        }

    async def _rows(self, sql: str, *values: object) -> list[dict[str, Any]]:
        async with self._db.execute(sql, values) as cur:
            names = [column[0] for column in cur.description]
            return [dict(zip(names, row, strict=True)) for row in await cur.fetchall()]
