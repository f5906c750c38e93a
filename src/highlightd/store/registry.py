"""Who is registered and what highlights them, read for the users index (core.index):
all of it in one snapshot, or only the users changed since a point of schema 8's log."""

from __future__ import annotations

import gc
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from highlightd.core.index import UserIndex
from highlightd.store.database import Database
from highlightd.store.users import NETWORK_USER_COLUMNS

_NetworkRows = tuple[list[tuple[Any, ...]], list[tuple[int, str]], list[tuple[int, str]]]
_SEQ = "coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'registry_changes'), 0)"
# More changed users than this are read whole: each is dropped from the index by a
# pass over it, and a reload costs about as much as a few dozen of those.
MAX_PATCH = 50


@dataclass(frozen=True, slots=True)
class Changed:
    """The users changed since a point of the log, as they are now (gone: no row)."""

    user_ids: tuple[int, ...]
    users: list[tuple[Any, ...]]  # network, then people.user_row's columns
    words: list[tuple[int, str, int]]  # user id, word, exception
    muted: list[tuple[int, str]]  # user id, folded channel
    version: int


class Registry:
    def __init__(self, db: Database) -> None:
        self._database = db

    async def versions(self) -> tuple[int, int]:
        """Two numbers, in one read: the last change to users, keywords and mutes,
        whichever process made it (schema 8's log); and PRAGMA data_version, which any
        other connection's commit moves."""
        async with self._database.conn.execute(
            f"SELECT {_SEQ}, data_version FROM pragma_data_version"
        ) as cur:
            row = await cur.fetchone()
        assert row is not None
        return int(row[0]), int(row[1])

    async def load(self, casemappings: Mapping[str, str] | None = None) -> tuple[UserIndex, int]:
        """Every user, keyword and mute, indexed (core.index), and the log's point.

        Read as rows in one snapshot and indexed without a record per keyword: with
        100,000 users this is most of the start-up.
        """
        (networks, muted), version = await self._database.reading(_everything)
        # Hundreds of thousands of objects, none of them garbage: a collection run
        # every 700 of them only scans what is being built (a third of the time).
        collecting = gc.isenabled()
        gc.disable()
        try:
            return UserIndex.from_rows(networks, muted, casemappings), version
        finally:
            if collecting:
                gc.enable()

    async def since(self, version: int) -> Changed | None:
        """The users changed after that point, read again; None when too many."""
        return await self._database.reading(lambda conn: _changed(conn, version))

    async def applied(self, version: int) -> None:
        """The log up to that point is in the index: it need not be kept."""
        await self._database.conn.execute("DELETE FROM registry_changes WHERE seq <= ?", (version,))


def _everything(conn: sqlite3.Connection) -> tuple[tuple[dict[str, _NetworkRows], list[Any]], int]:
    """What UserIndex.from_rows takes, as it takes them, and the log's point."""
    networks = [n for (n,) in conn.execute("SELECT DISTINCT network FROM users").fetchall()]
    # One network (the usual case) needs no filter: a plain scan is the fastest read.
    users = "" if len(networks) == 1 else " WHERE network = :network"
    mine = "" if len(networks) == 1 else " AND user_id IN (SELECT id FROM users" + users + ")"
    keywords = "SELECT user_id, word FROM keywords WHERE exception = :exception" + mine
    rows = {
        network: (
            conn.execute(
                f"SELECT {NETWORK_USER_COLUMNS} FROM users{users}", {"network": network}
            ).fetchall(),
            conn.execute(keywords, {"network": network, "exception": 0}).fetchall(),
            conn.execute(keywords, {"network": network, "exception": 1}).fetchall(),
        )
        for network in networks
    }
    muted = conn.execute("SELECT user_id, channel_key FROM muted").fetchall()
    return (rows, muted), _version(conn)


def _version(conn: sqlite3.Connection) -> int:
    return int(conn.execute(f"SELECT {_SEQ}").fetchone()[0])


def _changed(conn: sqlite3.Connection, since: int) -> Changed | None:
    ids: Sequence[int] = [
        uid
        for (uid,) in conn.execute(
            "SELECT DISTINCT user_id FROM registry_changes WHERE seq > ?", (since,)
        ).fetchall()
    ]
    if len(ids) > MAX_PATCH:
        return None
    marks = ",".join("?" * len(ids))
    return Changed(
        tuple(ids),
        conn.execute(
            f"SELECT network, {NETWORK_USER_COLUMNS} FROM users WHERE id IN ({marks})", ids
        ).fetchall(),
        conn.execute(
            f"SELECT user_id, word, exception FROM keywords WHERE user_id IN ({marks})", ids
        ).fetchall(),
        conn.execute(
            f"SELECT user_id, channel_key FROM muted WHERE user_id IN ({marks})", ids
        ).fetchall(),
        _version(conn),
    )
