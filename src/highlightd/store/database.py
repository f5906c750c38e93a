"""SQLite storage (aiosqlite, WAL): users, reply routing, sent and received SMS."""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiosqlite

from highlightd.store.registrations import RegistrationRecords
from highlightd.store.schema import MIGRATIONS

log = logging.getLogger(__name__)

_USER_COLUMNS = (
    "id, network, nick, phone, created_at, timezone, quiet, paused_until, opted_out, account"
)


class SchemaTooNew(Exception):
    """The database was written by a newer highlightd."""


class UserExists(Exception):
    """That nick is already registered on that network."""


@dataclass(frozen=True, slots=True)
class User:
    id: int
    network: str
    nick: str
    phone: str
    created_at: float
    timezone: str | None = None
    quiet: str | None = None  # "22:00-07:00"
    paused_until: float | None = None
    opted_out: bool = False
    account: str | None = None  # the services account the registration is bound to


@dataclass(frozen=True, slots=True)
class HeldHighlight:
    id: int
    user_id: int
    channel: str
    sender: str
    text: str
    at: float
    until: float


@dataclass(frozen=True, slots=True)
class Highlight:
    """Who mentioned a user, and where: where a default SMS reply goes."""

    user_id: int
    channel: str
    sender: str
    at: float


@dataclass(frozen=True, slots=True)
class IncomingSms:
    sid: str
    from_phone: str
    body: str
    received_at: float


def _prepare(path: Path) -> None:
    """Make the folder; refuse a directory here, since aiosqlite's failed connect
    leaves its thread reporting to a loop that may be gone."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory")


def _user(row: Any) -> User:
    uid, network, nick, phone, created, tz, quiet, paused, opted_out, account = row
    return User(uid, network, nick, phone, created, tz, quiet, paused, bool(opted_out), account)


class Store(RegistrationRecords):
    """The one place that speaks SQL."""

    def __init__(self, db: aiosqlite.Connection) -> None:
        self._db = db
        # Our own writes to who is registered and what highlights them: data_version
        # only counts other connections' commits.
        self.changes = 0

    @classmethod
    async def open(cls, path: Path) -> Store:
        _prepare(path)
        db = await aiosqlite.connect(path, isolation_level=None)
        try:
            await db.execute("PRAGMA journal_mode = WAL")
            await db.execute("PRAGMA foreign_keys = ON")
            await db.execute("PRAGMA busy_timeout = 5000")
            store = cls(db)
            await store._migrate()
        except BaseException:
            await db.close()
            raise
        return store

    async def close(self) -> None:
        await self._db.close()

    async def _migrate(self) -> None:
        async with self._db.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        version = int(row[0]) if row else 0
        if version > len(MIGRATIONS):
            raise SchemaTooNew(
                f"database schema version {version} is newer than this highlightd "
                f"({len(MIGRATIONS)}); upgrade highlightd"
            )
        for number in range(version, len(MIGRATIONS)):
            # One transaction per version: a failed migration leaves the previous schema.
            script = (
                f"BEGIN IMMEDIATE;\n{MIGRATIONS[number]}\n"
                f"PRAGMA user_version = {number + 1};\nCOMMIT;"
            )
            try:
                await self._db.executescript(script)
            except BaseException:
                if self._db.in_transaction:
                    await self._db.execute("ROLLBACK")
                raise
        if version < len(MIGRATIONS):
            log.info("database schema migrated to version %d", len(MIGRATIONS))

    async def data_version(self) -> int:
        """A number that changes whenever another connection (say, the CLI) commits."""
        async with self._db.execute("PRAGMA data_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    # Users

    async def add_user(self, network: str, nick: str, nick_key: str, phone: str) -> User:
        now = time.time()
        try:
            async with self._db.execute(
                "INSERT INTO users (network, nick, nick_key, phone, created_at)"
                " VALUES (?, ?, ?, ?, ?) RETURNING id",
                (network, nick, nick_key, phone, now),
            ) as cur:
                row = await cur.fetchone()
        except sqlite3.IntegrityError as exc:
            raise UserExists(f"{nick} is already registered on {network}") from exc
        assert row is not None
        self.changes += 1
        return User(int(row[0]), network, nick, phone, now)

    async def remove_user(self, network: str, nick_key: str) -> bool:
        async with self._db.execute(
            "DELETE FROM users WHERE network = ? AND nick_key = ?", (network, nick_key)
        ) as cur:
            self.changes += 1
            return cur.rowcount > 0

    async def user(self, network: str, nick_key: str) -> User | None:
        async with self._db.execute(
            f"SELECT {_USER_COLUMNS} FROM users WHERE network = ? AND nick_key = ?",
            (network, nick_key),
        ) as cur:
            row = await cur.fetchone()
        return _user(row) if row else None

    async def save_user(
        self, network: str, nick: str, nick_key: str, phone: str, account: str | None
    ) -> User:
        """Register, or move an existing registration to a new phone (and account)."""
        await self._db.execute(
            "INSERT INTO users (network, nick, nick_key, phone, created_at, account)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (network, nick_key) DO UPDATE SET"
            " nick = excluded.nick, phone = excluded.phone, account = excluded.account,"
            " opted_out = 0",
            (network, nick, nick_key, phone, time.time(), account),
        )
        self.changes += 1
        user = await self.user(network, nick_key)
        assert user is not None
        return user

    async def update_user(self, user_id: int, **fields: object) -> None:
        """Change per-user settings: timezone, quiet, paused_until, opted_out."""
        allowed = {"timezone", "quiet", "paused_until", "opted_out"}
        if not fields or not set(fields) <= allowed:
            raise ValueError(f"can only update {sorted(allowed)}, not {sorted(fields)}")
        assignments = ", ".join(f"{name} = ?" for name in fields)
        await self._db.execute(
            f"UPDATE users SET {assignments} WHERE id = ?", (*fields.values(), user_id)
        )
        self.changes += 1

    async def set_opted_out(self, phone: str, opted_out: bool) -> int:
        """Opt every registration of a phone out (or back in); how many there were."""
        async with self._db.execute(
            "UPDATE users SET opted_out = ? WHERE phone = ?", (int(opted_out), phone)
        ) as cur:
            self.changes += 1
            return cur.rowcount

    async def users(self, network: str | None = None) -> list[User]:
        sql = f"SELECT {_USER_COLUMNS} FROM users"
        args: tuple[str, ...] = ()
        if network is not None:
            sql += " WHERE network = ?"
            args = (network,)
        async with self._db.execute(sql + " ORDER BY network, nick_key", args) as cur:
            return [_user(row) async for row in cur]

    async def users_by_phone(self, phone: str) -> list[User]:
        async with self._db.execute(
            f"SELECT {_USER_COLUMNS} FROM users WHERE phone = ?", (phone,)
        ) as cur:
            return [_user(row) async for row in cur]

    # Reply routing

    async def set_last_highlight(self, h: Highlight) -> None:
        await self._db.execute(
            "INSERT INTO last_highlight (user_id, channel, sender, at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (user_id) DO UPDATE SET"
            " channel = excluded.channel, sender = excluded.sender, at = excluded.at",
            (h.user_id, h.channel, h.sender, h.at),
        )

    async def last_highlight(self, user_ids: Sequence[int]) -> Highlight | None:
        """The most recent highlight among these users (one phone may have several)."""
        if not user_ids:
            return None
        marks = ",".join("?" * len(user_ids))
        async with self._db.execute(
            "SELECT user_id, channel, sender, at FROM last_highlight"
            f" WHERE user_id IN ({marks}) ORDER BY at DESC LIMIT 1",
            tuple(user_ids),
        ) as cur:
            row = await cur.fetchone()
        return Highlight(*row) if row else None

    # Sent SMS

    async def record_sent(
        self, sid: str, user_id: int | None, to: str, status: str, segments: int = 1
    ) -> None:
        now = time.time()
        await self._db.execute(
            "INSERT OR REPLACE INTO sent_sms (sid, user_id, to_phone, status, created_at,"
            " updated_at, segments) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (sid, user_id, to, status, now, now, segments),
        )

    async def segments_since(self, since: float, user_id: int | None = None) -> int:
        """Segments sent since a moment: one user's, or everyone's (user_id None)."""
        sql = "SELECT coalesce(sum(segments), 0) FROM sent_sms WHERE created_at >= ?"
        args: tuple[float, ...] = (since,)
        if user_id is not None:
            sql += " AND user_id = ?"
            args = (since, user_id)
        async with self._db.execute(sql, args) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def update_sent_status(self, sid: str, status: str) -> bool:
        async with self._db.execute(
            "UPDATE sent_sms SET status = ?, updated_at = ? WHERE sid = ?",
            (status, time.time(), sid),
        ) as cur:
            return cur.rowcount > 0

    async def sent_status(self, sid: str) -> str | None:
        async with self._db.execute("SELECT status FROM sent_sms WHERE sid = ?", (sid,)) as cur:
            row = await cur.fetchone()
        return str(row[0]) if row else None

    async def last_sent_at(self, user_id: int) -> float | None:
        async with self._db.execute(
            "SELECT max(created_at) FROM sent_sms WHERE user_id = ?", (user_id,)
        ) as cur:
            row = await cur.fetchone()
        return float(row[0]) if row and row[0] is not None else None

    # Held highlights, waiting for a digest

    async def hold(
        self, user_id: int, channel: str, sender: str, text: str, at: float, until: float
    ) -> None:
        await self._db.execute(
            "INSERT INTO held (user_id, channel, sender, text, at, until)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (user_id, channel, sender, text, at, until),
        )

    async def held(self, user_id: int) -> list[HeldHighlight]:
        async with self._db.execute(
            "SELECT id, user_id, channel, sender, text, at, until FROM held"
            " WHERE user_id = ? ORDER BY at",
            (user_id,),
        ) as cur:
            return [HeldHighlight(*row) async for row in cur]

    async def held_until(self) -> dict[int, float]:
        """For each user with held highlights, when the earliest hold may end."""
        async with self._db.execute("SELECT user_id, min(until) FROM held GROUP BY user_id") as cur:
            return {int(u): float(t) async for u, t in cur}

    async def postpone_held(self, user_id: int, until: float) -> None:
        await self._db.execute("UPDATE held SET until = ? WHERE user_id = ?", (until, user_id))

    async def release_held(self, ids: Sequence[int]) -> None:
        marks = ",".join("?" * len(ids))
        await self._db.execute(f"DELETE FROM held WHERE id IN ({marks})", tuple(ids))

    async def note_limit(self, user_id: int, day: str) -> bool:
        """Remember that a user was told of the daily limit; False if already told that day."""
        async with self._db.execute(
            "INSERT INTO limit_notices (user_id, day) VALUES (?, ?) ON CONFLICT DO NOTHING",
            (user_id, day),
        ) as cur:
            return cur.rowcount > 0

    # Received SMS: an outbox to the bus, deduplicated by Twilio's MessageSid

    async def seen_incoming(self, sid: str) -> bool:
        async with self._db.execute("SELECT 1 FROM received_sms WHERE sid = ?", (sid,)) as cur:
            return await cur.fetchone() is not None

    async def accept_incoming(self, sms: IncomingSms, relay: bool = True) -> bool:
        """Store an incoming SMS; False when that MessageSid was seen before.

        One not to relay (a command) is stored as already handled: the outbox skips it.
        """
        async with self._db.execute(
            "INSERT INTO received_sms (sid, from_phone, body, received_at, forwarded_at)"
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

    async def unforwarded(self, limit: int = 100) -> list[IncomingSms]:
        async with self._db.execute(
            "SELECT sid, from_phone, body, received_at FROM received_sms"
            " WHERE forwarded_at IS NULL ORDER BY received_at LIMIT ?",
            (limit,),
        ) as cur:
            return [IncomingSms(*row) async for row in cur]

    async def mark_forwarded(self, sid: str) -> None:
        await self._db.execute(
            "UPDATE received_sms SET forwarded_at = ? WHERE sid = ?", (time.time(), sid)
        )
