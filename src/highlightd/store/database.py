"""The SQLite connection (aiosqlite, WAL) and its migrations; the repositories share it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite

from highlightd.store.schema import MIGRATIONS

log = logging.getLogger(__name__)


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

    def __init__(self, conn: aiosqlite.Connection, tx_conn: aiosqlite.Connection) -> None:
        self.conn = conn
        # Statements of other tasks on `conn` would join a transaction open there (and
        # be undone by its rollback): transactions have a connection of their own.
        self._tx_conn = tx_conn
        self._tx_lock = asyncio.Lock()
        # Our own writes to who is registered and what highlights them: data_version
        # only counts other connections' commits.
        self.changes = 0

    @classmethod
    async def open(cls, path: Path) -> Database:
        _prepare(path)
        conn = await aiosqlite.connect(path, isolation_level=None)
        try:
            await conn.execute("PRAGMA journal_mode = WAL")
            await _configure(conn)
            tx_conn = await aiosqlite.connect(path, isolation_level=None)
        except BaseException:
            await conn.close()
            raise
        database = cls(conn, tx_conn)
        try:
            await _configure(tx_conn)
            await database._migrate()
        except BaseException:
            await database.close()
            raise
        return database

    async def close(self) -> None:
        await self._tx_conn.close()
        await self.conn.close()

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """A connection in a transaction of its own: committed at the end, or rolled back."""
        async with self._tx_lock:
            conn = self._tx_conn
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
                await conn.execute("COMMIT")
            except BaseException:
                # A cancelled COMMIT may still have run: then there is nothing to roll back.
                with contextlib.suppress(sqlite3.OperationalError):
                    await conn.execute("ROLLBACK")
                raise

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


async def _configure(conn: aiosqlite.Connection) -> None:
    await conn.execute("PRAGMA foreign_keys = ON")
    await conn.execute("PRAGMA busy_timeout = 5000")
