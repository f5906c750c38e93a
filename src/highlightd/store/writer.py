"""Group commit: the writes of many tasks in one transaction, one fsync for all of them.

Each write is a function of the sqlite3 connection (one statement or several, kept
whole). A caller's `await` returns only once the transaction holding its write is
committed, so nothing is answered or acknowledged before it is on disk. While one
group commits, the next one gathers: no timer, so a lone write waits for no one,
and under load a group holds up to MAX_GROUP writes (one commit, one fsync).

The connection's thread takes the next group itself as soon as a commit is done
(`_pump`, one job on aiosqlite's queue running groups back to back), and hands each
group's results to the loop in one call. Going back through the loop for every
group (a job per group) left the disk idle until the loop, busy with requests,
came round to queue the next one: about half of each commit cycle under load. The
pump stops when no write waits, and after any group when another job (a read)
is queued on the connection, so reads never wait for a stream of writes to end.

A write that fails is undone alone and its caller gets the exception; the others
of the group still commit (the group runs again, each write in a SAVEPOINT). A write
may therefore run twice, as a whole group may when another process held the lock:
writes are SQL only, no other side effects.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from highlightd.store.database import Database

T = TypeVar("T")
Work = Callable[[sqlite3.Connection], Any]
Group = list[tuple[Work, "asyncio.Future[Any]"]]
Outcomes = list[tuple[Exception | None, Any]]
MAX_GROUP = 64


class RunAlone(Exception):
    """Raised by a `together` function (see _run_all): undo the group, each write alone."""


class GroupWriter:
    """Queues writes and commits them in groups on the database's one connection."""

    def __init__(self, database: Database) -> None:
        self._database = database
        # Appended to by the loop, taken from by the connection's thread: both under _lock,
        # with _pumping (a pump job queued or running), so that a write never finds a
        # pump about to stop without it.
        self._queue: deque[tuple[Work, asyncio.Future[Any]]] = deque()
        self._lock = threading.Lock()
        self._pumping = False
        self._drainer: asyncio.Task[None] | None = None
        self.groups = 0  # transactions committed (for benchmarks: writes per commit)
        self.writes = 0

    async def write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """Run work(connection) in the next group; its result once that group is committed."""
        [done] = self._enqueue([work])
        # A caller that stops waiting (cancelled) cancels only `done`: its write stays in
        # the group, which may already be on its way to the disk. (No asyncio.shield: it
        # costs a future and two callbacks per write, and guards nothing more here.)
        return cast("T", await done)

    async def write_each(
        self, works: Sequence[Callable[[sqlite3.Connection], T]]
    ) -> list[T | Exception]:
        """Each work a write of its own, queued at once, so in one group (up to MAX_GROUP);
        each one's result once committed, or the exception that undid it alone."""
        results = await asyncio.gather(*self._enqueue(works), return_exceptions=True)
        return [cast("T | Exception", r) for r in results]

    def _enqueue(self, works: Sequence[Work]) -> list[asyncio.Future[Any]]:
        loop = asyncio.get_running_loop()
        queued = [(work, loop.create_future()) for work in works]
        with self._lock:
            self._queue.extend(queued)
            start, self._pumping = not self._pumping, True
        if start:
            # The pump is queued here, not by the task: the disk starts on these writes
            # while the loop goes on with the other requests that came with them.
            try:
                first = self._database.start(partial(self._pump, loop))
            except BaseException:
                with self._lock:
                    for each in queued:
                        self._queue.remove(each)
                    self._pumping = False
                raise
            self._drainer = loop.create_task(self._drain(loop, first))
        return [done for _work, done in queued]

    async def execute(self, sql: str, parameters: tuple[Any, ...] = ()) -> int:
        """One statement in the next group; how many rows it changed."""
        return await self.write(lambda conn: conn.execute(sql, parameters).rowcount)

    async def idle(self) -> None:
        """Wait until every write queued so far is committed (or failed): before closing."""
        while self._drainer is not None and not self._drainer.done():
            await asyncio.wait({self._drainer})

    async def _drain(self, loop: asyncio.AbstractEventLoop, first: asyncio.Future[bool]) -> None:
        """Wait for the pump; queue it again while it stops for other jobs, not done.

        Locked by another process, the pump puts its group back: Database.read waits
        the lock out and runs the pump again. Cancelled (the loop stopping), the writes
        still queued fail; the group in hand is committed, and close() queues behind it.
        """
        pump = partial(self._pump, loop)
        while True:
            try:
                try:
                    more = await first
                except sqlite3.OperationalError as exc:
                    if not _locked(exc):
                        raise
                    more = await self._database.read(pump)
                if not more:
                    return
                first = self._database.start(pump)
            except BaseException as exc:
                with self._lock:
                    failed, self._pumping = list(self._queue), False
                    self._queue.clear()
                _fail(failed, exc)
                if isinstance(exc, Exception):
                    return
                raise

    def _pump(self, loop: asyncio.AbstractEventLoop, conn: sqlite3.Connection) -> bool:
        """On the connection's thread: groups back to back while writes wait. False once
        none is left; True when it stops for another job queued on the connection."""
        while True:
            with self._lock:
                if not self._queue:
                    self._pumping = False
                    return False
                count = min(MAX_GROUP, len(self._queue))
                group = [self._queue.popleft() for _ in range(count)]
            try:
                outcomes = _commit(conn, group)
            except sqlite3.OperationalError as exc:
                if _locked(exc) and not conn.in_transaction:
                    with self._lock:  # waited out by Database.read, then tried again
                        self._queue.extendleft(reversed(group))
                    raise
                loop.call_soon_threadsafe(_fail, group, exc)
            except BaseException as exc:
                loop.call_soon_threadsafe(_fail, group, exc)
                if not isinstance(exc, Exception):
                    raise
            else:
                self._database.synced_at = time.monotonic()
                self.groups += 1
                self.writes += len(group)
                loop.call_soon_threadsafe(_settle, group, outcomes)
            if self._database.others_queued():
                return True


def _locked(exc: sqlite3.OperationalError) -> bool:
    """SQLITE_BUSY: another connection holds the write lock (busy_timeout ran out)."""
    return exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY


def _commit(conn: sqlite3.Connection, group: Group) -> Outcomes:
    """The group as one transaction (FULL: its COMMIT fsyncs), rolled back if it fails whole."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        outcomes = _run_group(conn, group)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # SQLite ends it itself after some errors
            conn.execute("ROLLBACK")
        raise
    return outcomes


def _run_all(conn: sqlite3.Connection, group: Group) -> Outcomes:
    """Every write; writes next to each other with the same `together` function (an
    attribute of theirs: store/taking.py's Take) run through it at once, in fewer
    statements, which returns each one's result."""
    outcomes: Outcomes = []
    start = 0
    while start < len(group):
        together = getattr(group[start][0], "together", None)
        end = start + 1
        while (
            together and end < len(group) and getattr(group[end][0], "together", None) == together
        ):
            end += 1
        if together is not None and end - start > 1:
            outcomes += [(None, r) for r in together(conn, [w for w, _ in group[start:end]])]
        else:
            outcomes.append((None, group[start][0](conn)))
        start = end
    return outcomes


def _run_group(conn: sqlite3.Connection, group: Group) -> Outcomes:
    """Every write, in the one transaction; when one fails, the group again, each write
    alone in a savepoint of its own (two statements more per write, so only then)."""
    try:
        return _run_all(conn, group)
    except Exception:
        if not conn.in_transaction:
            raise  # SQLite ended the whole transaction (a full disk, say): the group fails
    conn.execute("ROLLBACK")
    conn.execute("BEGIN IMMEDIATE")
    outcomes: Outcomes = []
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


def _settle(group: Group, outcomes: Outcomes) -> None:
    """On the loop: each caller of a committed group gets its result or its write's error."""
    for (_work, done), (failure, result) in zip(group, outcomes, strict=True):
        if done.done():
            continue
        if failure is None:
            done.set_result(result)
        else:
            _set_exception(done, failure)


def _fail(group: Group, exc: BaseException) -> None:
    for _work, done in group:
        if not done.done():
            _set_exception(done, _copy(exc))


def _set_exception(done: asyncio.Future[Any], exc: BaseException) -> None:
    done.set_exception(exc)
    # Marked as heard: a caller cancelled meanwhile (a stop) need not hear. (Here, not
    # a done-callback on every future: that is one more callback per write.)
    done.exception()


def _copy(exc: BaseException) -> BaseException:
    """What a caller of a failed group is told: the commit's failure, or that it was cut off."""
    if isinstance(exc, Exception):
        return exc
    return RuntimeError(f"the write was not committed: {exc!r}")
