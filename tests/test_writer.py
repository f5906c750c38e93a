"""The group commit (store/writer.py): shared transactions, failures kept to their own write."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

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
