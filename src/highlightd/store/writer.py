"""Group commit: the writes of many tasks in one transaction, one fsync for all of them.

Each write is a function of the sqlite3 connection (one statement or several, kept
whole). A caller's `await` returns only once the transaction holding its write is
committed, so nothing is answered or acknowledged before it is on disk. While one
group commits, the next one gathers: no timer, so a lone write waits for no one,
and under load a group holds up to MAX_GROUP writes (one commit, one fsync).

A write that fails is undone alone and its caller gets the exception; the others
of the group still commit (the group runs again, each write in a SAVEPOINT). A write
may therefore run twice, as a whole group may when another process held the lock:
writes are SQL only, no other side effects.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from highlightd.store.database import Database

T = TypeVar("T")
Work = Callable[[sqlite3.Connection], Any]
MAX_GROUP = 64


class GroupWriter:
    """Queues writes and commits them in groups on the database's one connection."""

    def __init__(self, database: Database) -> None:
        self._database = database
        self._queue: list[tuple[Work, asyncio.Future[Any]]] = []
        self._drainer: asyncio.Task[None] | None = None
        self.groups = 0  # transactions committed (for benchmarks: writes per commit)
        self.writes = 0

    async def write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run work(connection) in the next group; its result once that group is committed."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[T] = loop.create_future()
        done.add_done_callback(_seen)  # a caller cancelled meanwhile (a stop) need not hear
        self._queue.append((work, done))
        if self._drainer is None or self._drainer.done():
            self._drainer = loop.create_task(self._drain())
        # A caller that stops waiting (cancelled) cancels only `done`: its write stays in
        # the group, which may already be on its way to the disk. (No asyncio.shield: it
        # costs a future and two callbacks per write, and guards nothing more here.)
        return await done

    async def execute(self, sql: str, parameters: tuple[Any, ...] = ()) -> int:
        """One statement in the next group; how many rows it changed."""
        return await self.write(lambda conn: conn.execute(sql, parameters).rowcount)

    async def idle(self) -> None:
        """Wait until every write queued so far is committed (or failed): before closing."""
        while self._drainer is not None and not self._drainer.done():
            await asyncio.wait({self._drainer})

    async def _drain(self) -> None:
        while self._queue:
            group, self._queue = self._queue[:MAX_GROUP], self._queue[MAX_GROUP:]
            try:
                outcomes = await self._database.atomically(partial(_run_group, group=group))
            except BaseException as exc:
                for _work, done in group:
                    if not done.done():
                        done.set_exception(_copy(exc))
                if isinstance(exc, asyncio.CancelledError | KeyboardInterrupt | SystemExit):
                    raise
                continue
            self.groups += 1
            self.writes += len(group)
            for (_work, done), (failure, result) in zip(group, outcomes, strict=True):
                if done.done():
                    continue
                if failure is None:
                    done.set_result(result)
                else:
                    done.set_exception(failure)


def _run_group(
    conn: sqlite3.Connection, group: list[tuple[Work, asyncio.Future[Any]]]
) -> list[tuple[Exception | None, Any]]:
    """Every write, in the one transaction; when one fails, the group again, each write
    in a savepoint of its own (two statements more per write, so only then)."""
    try:
        return [(None, work(conn)) for work, _done in group]
    except Exception:
        if not conn.in_transaction:
            raise  # SQLite ended the whole transaction (a full disk, say): the group fails
    conn.execute("ROLLBACK")
    conn.execute("BEGIN IMMEDIATE")
    outcomes: list[tuple[Exception | None, Any]] = []
    for work, _done in group:
        conn.execute("SAVEPOINT write")
        try:
            result = work(conn)
        except Exception as exc:
            if not conn.in_transaction:
                raise
            conn.execute("ROLLBACK TO write")
            conn.execute("RELEASE write")
            outcomes.append((exc, None))
            continue
        conn.execute("RELEASE write")
        outcomes.append((None, result))
    return outcomes


def _seen(done: asyncio.Future[Any]) -> None:
    if not done.cancelled():
        done.exception()


def _copy(exc: BaseException) -> BaseException:
    """What a caller of a failed group is told: the commit's failure, or that it was cut off."""
    if isinstance(exc, Exception):
        return exc
    return RuntimeError(f"the write was not committed: {exc!r}")
