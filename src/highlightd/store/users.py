"""Registered users, and where a default SMS answer goes (the last highlight)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from typing import Any

from highlightd.core.people import user_row
from highlightd.core.records import Highlight, User
from highlightd.store.database import Database


class Users:
    """Who is registered: one row per (network, nick), with their settings."""

    def __init__(self, db: Database) -> None:
        self._db = db.conn
        self._database = db

    async def add(self, network: str, nick: str, nick_key: str, phone: str) -> User:
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
        self._database.changes += 1
        return User(int(row[0]), network, nick, phone, now)

    async def remove(self, network: str, nick_key: str) -> bool:
        async with self._db.execute(
            "DELETE FROM users WHERE network = ? AND nick_key = ?", (network, nick_key)
        ) as cur:
            self._database.changes += 1
            return cur.rowcount > 0

    async def get(self, network: str, nick_key: str) -> User | None:
        async with self._db.execute(
            f"SELECT {USER_COLUMNS} FROM users WHERE network = ? AND nick_key = ?",
            (network, nick_key),
        ) as cur:
            row = await cur.fetchone()
        return _user(row) if row else None

    async def save(
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
        self._database.changes += 1
        user = await self.get(network, nick_key)
        assert user is not None
        return user

    async def update(self, user_id: int, **fields: object) -> None:
        """Change per-user settings: timezone, quiet, paused_until, opted_out.

        A pause the user sets or lifts replaces one highlightd set, and its reason.
        """
        allowed = {"timezone", "quiet", "paused_until", "opted_out"}
        if not fields or not set(fields) <= allowed:
            raise ValueError(f"can only update {sorted(allowed)}, not {sorted(fields)}")
        if "paused_until" in fields:
            fields["paused_reason"] = None
        assignments = ", ".join(f"{name} = ?" for name in fields)
        await self._db.execute(
            f"UPDATE users SET {assignments} WHERE id = ?", (*fields.values(), user_id)
        )
        self._database.changes += 1

    async def set_opted_out(self, phone: str, opted_out: bool) -> int:
        """Opt every registration of a phone out (or back in); how many there were."""
        async with self._db.execute(
            "UPDATE users SET opted_out = ? WHERE phone = ?", (int(opted_out), phone)
        ) as cur:
            self._database.changes += 1
            return cur.rowcount

    async def pause_phone(self, phone: str, until: float, reason: str) -> int:
        """Pause every registration of a phone (not the opted out), saying why; how many."""
        async with self._db.execute(
            "UPDATE users SET paused_until = ?, paused_reason = ?"
            " WHERE phone = ? AND NOT opted_out",
            (until, reason, phone),
        ) as cur:
            self._database.changes += 1
            return cur.rowcount

    async def by_id(self, user_id: int) -> User | None:
        async with self._db.execute(
            f"SELECT {USER_COLUMNS} FROM users WHERE id = ?", (user_id,)
        ) as cur:
            row = await cur.fetchone()
        return _user(row) if row else None

    async def all(self, network: str | None = None) -> list[User]:
        sql = f"SELECT {USER_COLUMNS} FROM users"
        args: tuple[str, ...] = ()
        if network is not None:
            sql += " WHERE network = ?"
            args = (network,)
        async with self._db.execute(sql + " ORDER BY network, nick_key", args) as cur:
            return [_user(row) async for row in cur]

    async def by_phone(self, phone: str) -> list[User]:
        rows = await self._database.rows(
            f"SELECT {USER_COLUMNS} FROM users WHERE phone = ?", (phone,)
        )
        return [_user(row) for row in rows]

    async def set_last_highlight(self, h: Highlight) -> None:
        await self._database.writer.execute(
            SET_LAST_HIGHLIGHT, (h.user_id, h.channel, h.sender, h.at)
        )

    async def last_highlight(self, user_ids: Sequence[int]) -> Highlight | None:
        """The most recent highlight among these users (one phone may have several)."""
        if not user_ids:
            return None
        marks = ",".join("?" * len(user_ids))
        rows = await self._database.rows(
            "SELECT user_id, channel, sender, at FROM last_highlight"
            f" WHERE user_id IN ({marks}) ORDER BY at DESC LIMIT 1",
            tuple(user_ids),
        )
        return Highlight(*rows[0]) if rows else None


def by_phone_in(conn: sqlite3.Connection, phone: str) -> list[User]:
    """Users.by_phone inside a transaction (a job of the group writer)."""
    rows = conn.execute(f"SELECT {USER_COLUMNS} FROM users WHERE phone = ?", (phone,))
    return [_user(row) for row in rows]


SET_LAST_HIGHLIGHT = (
    "INSERT INTO last_highlight (user_id, channel, sender, at) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (user_id) DO UPDATE SET"
    " channel = excluded.channel, sender = excluded.sender, at = excluded.at"
)


class UserExists(Exception):
    """That nick is already registered on that network."""


# people.user_row's columns, and the network before them
NETWORK_USER_COLUMNS = (
    "id, nick, phone, created_at, timezone, quiet, paused_until, opted_out, account, paused_reason"
)
USER_COLUMNS = f"network, {NETWORK_USER_COLUMNS}"


def _user(row: Any) -> User:
    return user_row(row[0], row[1:])
