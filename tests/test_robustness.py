"""The small pieces that keep one fault from stopping the daemon: the unit-of-work
guard, the store's patience with a locked database, the data folder's lock."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from highlightd.core.ircnames import nick_key
from highlightd.infra.guard import guard, guarded
from highlightd.infra.lock import FolderInUse, lock_folder
from highlightd.store import Store

log = logging.getLogger("test.guard")


# The guard


async def _fails(exc: BaseException) -> int:
    raise exc


async def test_guard_logs_a_failure_once_with_context_and_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    results = [
        await guarded(_fails(ValueError("bad answer")), log, "reply %s", "SM1"),
        await guarded(asyncio.sleep(0, result=7), log, "reply %s", "SM2"),
    ]
    assert results == [None, 7]
    [record] = caplog.records
    assert record.levelno == logging.ERROR
    assert record.getMessage() == (
        "reply SM1 failed; going on with the next (ValueError: bad answer)"
    )
    assert record.exc_info is not None and record.exc_info[0] is ValueError


async def test_guard_lets_cancellation_and_the_callers_own_errors_through(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with pytest.raises(asyncio.CancelledError):
        await guarded(_fails(asyncio.CancelledError()), log, "line")
    with pytest.raises(ConnectionError):
        await guarded(_fails(ConnectionError("redis")), log, "reply", passes=(ConnectionError,))
    with pytest.raises(KeyboardInterrupt):
        with guard(log, "command"):
            raise KeyboardInterrupt
    assert caplog.records == []


def test_guard_as_a_plain_with_block_says_whether_it_failed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with guard(log, "command from %s on %s", "bob", "libera") as unit:
        empty: dict[str, int] = {}
        empty["missing"]
    assert unit.failed
    assert caplog.messages == [
        "command from bob on libera failed; going on with the next (KeyError: 'missing')"
    ]


# The store and a locked database


@contextlib.contextmanager
def held_lock(path: Path) -> Iterator[sqlite3.Connection]:
    """Another connection holding the write lock until it commits (no thread)."""
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        yield other
    finally:
        if other.in_transaction:
            other.execute("COMMIT")
        other.close()


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(tmp_path / "highlightd.sqlite3")
    # A short busy timeout, so that the wait past it happens in a second, not in two.
    await store._database.conn.execute("PRAGMA busy_timeout = 100")
    try:
        yield store
    finally:
        await store.close()


async def test_a_write_waits_out_a_lock_longer_than_the_busy_timeout(
    store: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="highlightd.store.database")
    loop = asyncio.get_running_loop()
    with held_lock(tmp_path / "highlightd.sqlite3") as other:
        loop.call_later(1.0, other.execute, "COMMIT")
        # Two writers and a reader at once: the reader goes on meanwhile (WAL).
        writes = asyncio.gather(
            store.users.add("libera", "alice", nick_key("alice"), "+15551230001"),
            store.users.add("libera", "carol", nick_key("carol"), "+15551230003"),
        )
        assert await store.users.all() == []
        assert not writes.done()
        await writes
    assert [u.nick for u in await store.users.all()] == ["alice", "carol"]
    # Once when the wait began, once when it ended.
    assert len(caplog.messages) == 2, caplog.messages
    assert "database is locked" in caplog.messages[0]
    assert "writable again" in caplog.messages[1]


async def test_inside_a_transaction_a_locked_write_is_the_callers_to_roll_back(
    store: Store, tmp_path: Path
) -> None:
    conn = store._database.conn
    with held_lock(tmp_path / "highlightd.sqlite3"):
        await conn.execute("BEGIN")
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            await conn.execute("DELETE FROM users")
        await conn.execute("ROLLBACK")


# The data folder's lock


def test_the_data_folder_lock_names_its_holder_until_released(tmp_path: Path) -> None:
    first = lock_folder(tmp_path / "data", "highlightd-irc")
    assert first.path.read_text() == f"{os.getpid()}\n"
    with pytest.raises(FolderInUse) as refused:
        lock_folder(tmp_path / "data", "highlightd-irc")
    assert str(refused.value) == f"another highlightd (pid {os.getpid()}) uses {tmp_path / 'data'}"
    lock_folder(tmp_path / "data", "highlightd-web").release()  # the other half is free
    first.release()
    lock_folder(tmp_path / "data", "highlightd-irc").release()
