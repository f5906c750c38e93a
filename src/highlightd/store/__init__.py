"""SQLite storage: one connection, and a repository per kind of record."""

from __future__ import annotations

import gc
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from highlightd.core.index import UserIndex
from highlightd.store.database import Database, SchemaTooNew
from highlightd.store.held import HeldHighlights
from highlightd.store.outgoing import Outgoing
from highlightd.store.privacy import Privacy
from highlightd.store.registrations import Registrations
from highlightd.store.relayed import Relayed
from highlightd.store.smslog import ReceivedLog, SentLog
from highlightd.store.users import NETWORK_USER_COLUMNS, UserExists, Users

__all__ = ["SchemaTooNew", "Store", "UserExists"]

_NetworkRows = tuple[list[tuple[Any, ...]], list[tuple[int, str]], list[tuple[int, str]]]


def _index_rows(conn: sqlite3.Connection) -> tuple[dict[str, _NetworkRows], list[Any]]:
    """What UserIndex.from_rows takes, as it takes them, in one snapshot."""
    networks = [n for (n,) in conn.execute("SELECT DISTINCT network FROM users").fetchall()]
    # One network (the usual case) needs no filter: a plain scan is the fastest read.
    users = "" if len(networks) == 1 else " WHERE network = :network"
    mine = "" if len(networks) == 1 else " AND user_id IN (SELECT id FROM users" + users + ")"
    keywords = "SELECT user_id, word FROM keywords WHERE exception = :exception" + mine
    return {
        network: (
            conn.execute(
                f"SELECT {NETWORK_USER_COLUMNS} FROM users{users}", {"network": network}
            ).fetchall(),
            conn.execute(keywords, {"network": network, "exception": 0}).fetchall(),
            conn.execute(keywords, {"network": network, "exception": 1}).fetchall(),
        )
        for network in networks
    }, conn.execute("SELECT user_id, channel_key FROM muted").fetchall()


def _registry_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT n FROM registry_version").fetchone()[0])


def _registry_rows(
    conn: sqlite3.Connection,
) -> tuple[tuple[dict[str, _NetworkRows], list[Any]], int]:
    return _index_rows(conn), _registry_version(conn)


class Store:
    """The one place that speaks SQL: `store.users`, `.sent`, `.outgoing`, `.received`,
    `.held`, `.registrations`, `.relayed`, `.privacy`, over one database."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self.users = Users(database)
        self.sent = SentLog(database)
        self.outgoing = Outgoing(database)
        self.received = ReceivedLog(database)
        self.held = HeldHighlights(database)
        self.registrations = Registrations(database)
        self.relayed = Relayed(database)
        self.privacy = Privacy(database, self.users)

    @classmethod
    async def open(cls, path: Path) -> Store:
        return cls(await Database.open(path))

    async def close(self) -> None:
        await self._database.close()

    @property
    def changes(self) -> int:
        """How many writes this process made to users, keywords and mutes."""
        return self._database.changes

    async def versions(self) -> tuple[int, int]:
        """Two numbers, in one read: the registry version, which every change to users,
        keywords and mutes moves, whichever process made it (schema 8's triggers); and
        PRAGMA data_version, which any other connection's commit moves."""
        async with self._database.conn.execute(
            "SELECT n, data_version FROM registry_version, pragma_data_version"
        ) as cur:
            row = await cur.fetchone()
        assert row is not None
        return int(row[0]), int(row[1])

    async def user_index(self) -> UserIndex:
        return (await self.registry())[0]

    async def registry(
        self, casemappings: Mapping[str, str] | None = None
    ) -> tuple[UserIndex, int]:
        """Registered users, their keywords and mutes, indexed for matching lines (core.index).

        Read as rows in one snapshot and indexed without a record per keyword: with
        100,000 users this is most of the start-up.
        """
        (networks, muted), version = await self._database.reading(_registry_rows)
        # Hundreds of thousands of objects, none of them garbage: a collection run
        # every 700 of them only scans what is being built (a third of the time).
        collecting = gc.isenabled()
        gc.disable()
        try:
            return UserIndex.from_rows(networks, muted, casemappings), version
        finally:
            if collecting:
                gc.enable()

    async def data_version(self) -> int:
        """A number that changes whenever another connection (say, the CLI) commits."""
        return await self._database.data_version()
