"""The group commit (store/writer.py): shared transactions, failures kept to their own write."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path
from typing import ClassVar

import pytest

from highlightd.store import writer
from highlightd.store.database import Database


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    db = await Database.open(tmp_path / "db.sqlite3")
    await db.conn.execute("CREATE TABLE t (k TEXT PRIMARY KEY)")
    try:
        yield db
    finally:
        await db.close()


def _keys(path: Path) -> set[str]:
    """What another connection sees: committed rows only."""
    conn = sqlite3.connect(path)
    try:
        return {str(row[0]) for row in conn.execute("SELECT k FROM t")}
    finally:
        conn.close()


async def test_a_write_is_committed_when_its_await_returns(
    database: Database, tmp_path: Path
) -> None:
    assert await database.writer.execute("INSERT INTO t (k) VALUES (?)", ("a",)) == 1
    assert _keys(tmp_path / "db.sqlite3") == {"a"}


async def test_writes_arriving_during_a_commit_share_the_next_one(database: Database) -> None:
    await asyncio.gather(
        *(database.writer.execute("INSERT INTO t VALUES (?)", (str(n),)) for n in range(50))
    )
    assert database.writer.writes == 50
    assert database.writer.groups < 50


async def test_a_failing_write_is_undone_alone_and_its_caller_told(
    database: Database, tmp_path: Path
) -> None:
    def half_then_fails(conn: sqlite3.Connection) -> None:
        conn.execute("INSERT INTO t (k) VALUES ('half')")
        raise ValueError("no")

    results = await asyncio.gather(
        database.writer.execute("INSERT INTO t VALUES ('before')"),
        database.writer.write(half_then_fails),
        database.writer.execute("INSERT INTO t VALUES ('before')"),  # a constraint fails
        database.writer.execute("INSERT INTO t VALUES ('after')"),
        return_exceptions=True,
    )
    assert results[0] == 1 and results[3] == 1
    assert isinstance(results[1], ValueError)
    assert isinstance(results[2], sqlite3.IntegrityError)
    assert _keys(tmp_path / "db.sqlite3") == {"before", "after"}


async def test_a_caller_that_stops_waiting_leaves_its_write_and_the_group_whole(
    database: Database, tmp_path: Path
) -> None:
    first = asyncio.create_task(database.writer.execute("INSERT INTO t VALUES ('first')"))
    gone = asyncio.create_task(database.writer.execute("INSERT INTO t VALUES ('gone')"))
    await asyncio.sleep(0)  # both queued, the first group on its way
    gone.cancel()
    after = await database.writer.execute("INSERT INTO t VALUES ('after')")
    assert await first == 1 and after == 1
    assert gone.cancelled()
    await database.writer.idle()
    assert _keys(tmp_path / "db.sqlite3") == {"first", "gone", "after"}


async def test_a_read_queued_behind_many_writes_goes_between_their_groups(
    database: Database,
) -> None:
    # The connection's thread runs groups back to back while writes wait, but lets a
    # job queued meanwhile (a read) go between two groups, not after the last.
    total = 20 * writer.MAX_GROUP
    writes = [
        asyncio.create_task(database.writer.execute("INSERT INTO t VALUES (?)", (str(n),)))
        for n in range(total)
    ]
    await asyncio.sleep(0)  # every write queued, the first groups on their way
    rows = await database.rows("SELECT count(*) FROM t")
    await asyncio.gather(*writes)
    assert rows[0][0] < total
    assert database.writer.writes == total


class _Row:
    """A write that may run with the others of its kind at once (writer's `together`)."""

    batches: ClassVar[list[int]] = []

    def __init__(self, key: str) -> None:
        self.key = key

    def __call__(self, conn: sqlite3.Connection) -> int:
        return conn.execute("INSERT INTO t VALUES (?)", (self.key,)).rowcount

    @staticmethod
    def together(conn: sqlite3.Connection, rows: list[_Row]) -> list[int]:
        _Row.batches.append(len(rows))
        conn.executemany("INSERT INTO t VALUES (?)", [(row.key,) for row in rows])
        return [1] * len(rows)


async def test_writes_of_one_kind_in_a_group_run_together_and_each_gets_its_result(
    database: Database, tmp_path: Path
) -> None:
    _Row.batches = []
    gate = threading.Event()
    held = asyncio.create_task(database.writer.write(lambda _conn: gate.wait()))
    writes = asyncio.gather(
        *(database.writer.write(_Row(str(n))) for n in range(10)),
        database.writer.execute("INSERT INTO t VALUES ('plain')"),
        database.writer.write(_Row("last")),
    )
    await asyncio.sleep(0)  # every write queued (the held one may be running already)
    gate.set()
    assert await held and await writes == [1] * 12
    assert _Row.batches == [10]  # the ten next to each other; "last" alone, as it came
    assert _keys(tmp_path / "db.sqlite3") == {"plain", "last"} | {str(n) for n in range(10)}


async def test_when_writes_run_together_fail_each_runs_alone_and_only_the_bad_one_fails(
    database: Database, tmp_path: Path
) -> None:
    _Row.batches = []
    await database.writer.execute("INSERT INTO t VALUES ('taken')")
    gate = threading.Event()
    held = asyncio.create_task(database.writer.write(lambda _conn: gate.wait()))
    writes = asyncio.gather(
        *(database.writer.write(_Row(key)) for key in ("a", "taken", "b")),
        return_exceptions=True,
    )
    await asyncio.sleep(0)
    gate.set()
    assert await held
    results = await writes
    assert results[0] == 1 and results[2] == 1
    assert isinstance(results[1], sqlite3.IntegrityError)
    assert _Row.batches == [3]  # tried together, then each alone
    assert _keys(tmp_path / "db.sqlite3") == {"taken", "a", "b"}
