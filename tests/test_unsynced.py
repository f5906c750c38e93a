"""Commits without an fsync of their own (Database.atomically(..., synced=False)): the
relay's said_sms record. NORMAL for that transaction only, FULL around it, and an fsync
anyway once the last one is `sync_every` old."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from highlightd.store import Store
from highlightd.store.database import Database

NORMAL, FULL = 1, 2


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    db = await Database.open(tmp_path / "db.sqlite3")
    db.sync_every = 3600.0
    try:
        yield db
    finally:
        await db.close()


def _synchronous(conn: sqlite3.Connection) -> int:
    """The connection's setting while the transaction runs."""
    return int(conn.execute("PRAGMA synchronous").fetchone()[0])


async def test_an_unsynced_transaction_commits_with_normal_and_full_is_back_after_it(
    database: Database,
) -> None:
    assert await database.atomically(_synchronous, synced=False) == NORMAL
    assert await database.atomically(_synchronous) == FULL
    assert await database.writer.write(_synchronous) == FULL  # the group writer's commits
    rows = await database.rows("PRAGMA synchronous")
    assert rows[0][0] == FULL


async def test_an_unsynced_transaction_is_fsynced_once_the_last_fsync_is_sync_every_old(
    database: Database,
) -> None:
    database.sync_every = 0.0
    assert await database.atomically(_synchronous, synced=False) == FULL


async def test_a_said_record_is_committed_when_its_await_returns(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite3"
    store = await Store.open(path)
    try:
        await store.relayed.record("SM1", "said")
        # Another connection sees it: the commit is in the WAL (a kill keeps it).
        conn = sqlite3.connect(path)
        try:
            rows = conn.execute("SELECT outcome FROM said_sms WHERE sid = 'SM1'").fetchall()
        finally:
            conn.close()
        assert rows == [("said",)]
    finally:
        await store.close()
