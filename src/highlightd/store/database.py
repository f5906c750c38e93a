"""The SQLite connection (aiosqlite, WAL) and its migrations; the repositories share it."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite
from aiosqlite.context import Result

from highlightd.store.schema import MIGRATIONS
from highlightd.store.writer import GroupWriter

log = logging.getLogger(__name__)
T = TypeVar("T")

# Long enough for any ordinary write of another connection (the CLI's included).
# It waits inside aiosqlite's single worker thread, where every other query
# queues behind it, so a longer hold (a backup) is waited out between attempts
# instead, off that thread: reads go on meanwhile (WAL lets them).
BUSY_TIMEOUT_MS = 2000
SYNC_AT_LEAST_EVERY = 1.0  # seconds: see Database.atomically
LOCKED_PATIENCE = 120.0  # per query; then the error goes to the caller's boundary
_RETRY_FIRST = 0.05
_RETRY_CAP = 1.0


class SchemaTooNew(Exception):
    """The database was written by a newer highlightd."""


def _prepare(path: Path) -> None:
    """Make the folder; refuse a directory here, since aiosqlite's failed connect
    leaves its thread reporting to a loop that may be gone."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a directory")


def _locked(exc: sqlite3.OperationalError) -> bool:
    """SQLITE_BUSY ("database is locked"): another connection holds the write lock."""
    return exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY


class RetryingConnection(aiosqlite.Connection):
    """aiosqlite's connection, waiting out another process's lock on the database.

    A statement outside a transaction that finds the database locked is tried
    again with a doubling delay; inside a transaction it is not (the caller must
    roll back). The wait is logged once when it starts and once when it ends.
    """

    def __init__(self, path: Path) -> None:
        super().__init__(partial(sqlite3.connect, str(path), isolation_level=None), 64)
        self._path = path
        self._waiting = 0
        self._waiting_since = 0.0

    def execute(
        self, sql: str, parameters: Iterable[Any] | None = None
    ) -> Result[aiosqlite.Cursor]:
        return Result(self._patiently(partial(super().execute, sql, parameters)))

    def executemany(
        self, sql: str, parameters: Iterable[Iterable[Any]]
    ) -> Result[aiosqlite.Cursor]:
        return Result(self._patiently(partial(super().executemany, sql, parameters)))

    def execute_fetchall(
        self, sql: str, parameters: Iterable[Any] | None = None
    ) -> Result[Iterable[sqlite3.Row]]:
        return Result(self._patiently(partial(super().execute_fetchall, sql, parameters)))

    def executescript(self, sql_script: str) -> Result[aiosqlite.Cursor]:
        return Result(self._patiently(partial(super().executescript, sql_script)))

    async def _patiently(self, call: Callable[[], Awaitable[T]]) -> T:
        deadline: float | None = None
        delay = _RETRY_FIRST
        succeeded = False
        try:
            while True:
                try:
                    result = await call()
                    succeeded = True
                    return result
                except sqlite3.OperationalError as exc:
                    if not _locked(exc) or self.in_transaction:
                        raise
                    now = time.monotonic()
                    if deadline is None:
                        deadline = now + LOCKED_PATIENCE
                        self._wait_starts(now, exc)
                    elif now > deadline:
                        raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, _RETRY_CAP)
        finally:
            if deadline is not None:
                self._wait_ends(succeeded)

    def _wait_starts(self, now: float, exc: sqlite3.OperationalError) -> None:
        self._waiting += 1
        if self._waiting == 1:
            self._waiting_since = now
            log.warning(
                "%s: %s (another process writes); waiting, up to %.0f s per query",
                self._path,
                exc,
                LOCKED_PATIENCE,
            )

    def _wait_ends(self, succeeded: bool) -> None:
        self._waiting -= 1
        if self._waiting == 0 and succeeded:
            waited = time.monotonic() - self._waiting_since
            log.info("%s is writable again after %.1f s", self._path, waited)


def unsynced(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    """work(conn) with synchronous = NORMAL: in WAL mode its COMMIT writes the WAL
    without an fsync. The commit survives a kill of the process (the write is in the
    OS's cache) and any later synced commit or checkpoint fsyncs it with the rest;
    a power loss or OS crash before that loses it."""
    conn.execute("PRAGMA synchronous = NORMAL")
    try:
        return work(conn)
    finally:
        conn.execute("PRAGMA synchronous = FULL")


class Database:
    """One connection, migrated to the current schema."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self.conn = conn
        # Our own writes to who is registered and what highlights them: data_version
        # only counts other connections' commits.
        self.changes = 0
        self.writer = GroupWriter(self)
        # Unsynced commits are fsynced at the latest once the last fsync is this old.
        self.sync_every = SYNC_AT_LEAST_EVERY
        self.synced_at = time.monotonic()  # the last fsync (the group writer sets it too)

    @classmethod
    async def open(cls, path: Path) -> Database:
        _prepare(path)
        conn = await RetryingConnection(path)
        try:
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await conn.execute("PRAGMA journal_mode = WAL")
            # A commit is on disk once COMMIT returns: WAL fsynced at every commit, so a
            # power loss keeps it too (NORMAL would fsync at checkpoints only). Group
            # commit (store/writer.py) shares that fsync among the writes of a moment.
            await conn.execute("PRAGMA synchronous = FULL")
            await conn.execute("PRAGMA foreign_keys = ON")
            database = cls(conn)
            await database._migrate()
        except BaseException:
            await conn.close()
            raise
        return database

    async def close(self) -> None:
        await self.writer.idle()
        await self.conn.close()

    async def rows(self, sql: str, parameters: Iterable[Any] = ()) -> list[Any]:
        """A query's rows in one job on the connection's thread (a cursor walked from
        here costs a round trip to that thread for the query, each batch, and the close)."""
        return list(await self.conn.execute_fetchall(sql, parameters))

    async def read(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """work(connection), a few queries, in one job on the connection's thread."""

        def job() -> T:
            conn: sqlite3.Connection = self.conn._conn
            return work(conn)

        queue_job: Callable[[Callable[[], T]], Awaitable[T]] = self.conn._execute
        if isinstance(self.conn, RetryingConnection):
            return await self.conn._patiently(lambda: queue_job(job))
        return await queue_job(job)

    def start(self, work: Callable[[sqlite3.Connection], T]) -> asyncio.Future[T]:
        """work(connection) queued on the connection's thread now, not at the caller's
        next await as `read` (a coroutine) does; its future. No retry on a lock."""
        conn: sqlite3.Connection = self.conn._conn  # ValueError once closed
        done: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self.conn._tx.put_nowait((done, partial(work, conn)))  # what `_execute` does
        return done

    def others_queued(self) -> bool:
        """Whether a job waits for the connection's thread (aiosqlite's queue, private)."""
        return not self.conn._tx.empty()

    async def write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """work(connection) in the writer's next group commit; its result once on disk."""
        return await self.writer.write(work)

    async def atomically(self, work: Callable[[sqlite3.Connection], T], synced: bool = True) -> T:
        """Run work(connection) as one transaction, committed or rolled back whole;
        unless synced, its COMMIT skips the fsync (see `unsynced`) while the last one
        is less than `sync_every` old: a power loss takes at most that much of them.

        aiosqlite runs each statement as a job of its own on the connection's
        thread: a BEGIN ... COMMIT sent from here would let other tasks' statements
        in between, into the transaction (and undone by its rollback). This runs
        it all as one job; aiosqlite 0.22 has no public call for that, `_execute`
        is how its own methods queue one. (A second connection is no answer: its
        commits make this one's writes fail at once, "database is locked", while
        a read of another task is open here, and they count as outside changes
        in `data_version`.)
        """

        synced = synced or time.monotonic() - self.synced_at >= self.sync_every

        def job() -> T:
            conn: sqlite3.Connection = self.conn._conn
            if not synced:
                return unsynced(conn, transaction)
            return transaction(conn)

        def transaction(conn: sqlite3.Connection) -> T:
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
        if isinstance(self.conn, RetryingConnection):
            # Another process holding the write lock is waited out here too: the job
            # rolled back, so running it again whole is safe.
            result = await self.conn._patiently(lambda: queue_job(job))
        else:
            result = await queue_job(job)
        if synced:
            self.synced_at = time.monotonic()
        return result

    async def reading(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run work(connection) as one job, in one read transaction: a consistent
        snapshot, read with fetchall in the connection's thread (no round trip per
        batch of rows, as iterating an aiosqlite cursor makes)."""

        def job() -> T:
            conn: sqlite3.Connection = self.conn._conn
            conn.execute("BEGIN")
            try:
                return work(conn)
            finally:
                conn.execute("COMMIT")

        queue_job: Callable[[Callable[[], T]], Awaitable[T]] = self.conn._execute
        if isinstance(self.conn, RetryingConnection):
            return await self.conn._patiently(lambda: queue_job(job))
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
