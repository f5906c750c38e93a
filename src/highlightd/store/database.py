"""The SQLite connection (aiosqlite, WAL) and its migrations; the repositories share it."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

import aiosqlite

from highlightd.store.schema import MIGRATIONS

log = logging.getLogger(__name__)

T = TypeVar("T")


class SchemaTooNew(Exception):
    """The database was written by a newer highlightd."""


def _prepare(path: Path) -> None:
    """Make the folder; refuse a directory here, since aiosqlite's failed connect
    leaves its thread reporting to a loop that may be gone."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory")


class Database:
    """One connection, migrated to the current schema."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn
        # Our own writes to who is registered and what highlights them: data_version
        # only counts other connections' commits.
        self.changes = 0

    @classmethod
    async def open(cls, path: Path) -> Database:
        _prepare(path)
        conn = await aiosqlite.connect(path, isolation_level=None)
        try:
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA foreign_keys = ON")
            await conn.execute("PRAGMA busy_timeout = 5000")
            database = cls(conn)
            await database._migrate()
        except BaseException:
            await conn.close()
            raise
        return database

    async def close(self) -> None:
        await self.conn.close()

    async def atomically(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run work(connection) as one transaction, committed or rolled back whole.

        aiosqlite runs each statement as a job of its own on the connection's
        thread: a BEGIN ... COMMIT sent from here would let other tasks' statements
        in between, into the transaction (and undone by its rollback). This runs
        it all as one job; aiosqlite 0.22 has no public call for that, `_execute`
        is how its own methods queue one. (A second connection is no answer: its
        commits make this one's writes fail at once, "database is locked", while
        a read of another task is open here, and they count as outside changes
        in `data_version`.)
        """

        def job() -> T:
            conn: sqlite3.Connection = self.conn._conn
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = work(conn)
            except BaseException:
                if conn.in_transaction:  # SQLite ends it itself after some errors
                    conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            return result

        queue_job: Callable[[Callable[[], T]], Awaitable[T]] = self.conn._execute
        return await queue_job(job)

    async def _migrate(self) -> None:
        async with self.conn.execute("PRAGMA user_version") as cur:
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
                await self.conn.executescript(script)
            except BaseException:
                if self.conn.in_transaction:
                    await self.conn.execute("ROLLBACK")
                raise
        if version < len(MIGRATIONS):
            log.info("database schema migrated to version %d", len(MIGRATIONS))

    async def data_version(self) -> int:
        """A number that changes whenever another connection (say, the CLI) commits."""
        async with self.conn.execute("PRAGMA data_version") as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0
