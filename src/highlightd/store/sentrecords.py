"""Recording SMS that Twilio accepted: into store.sent and off the outbox, many in one write."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from highlightd.core.records import OutgoingSms
from highlightd.store.smslog import rank_sql

Accepted = tuple[OutgoingSms, str, str, float]  # the SMS, its sid, its status, when


def record_all(conn: sqlite3.Connection, done: Sequence[Accepted]) -> list[Exception | None]:
    """Each in a savepoint of its own when there are several: one that fails (its user
    removed meanwhile: no such user for store.sent) is undone alone. Its failure, or None."""
    if len(done) == 1:
        _record(conn, *done[0])  # a failure fails the write: no savepoint needed
        return [None]
    outcomes: list[Exception | None] = []
    for each in done:
        conn.execute("SAVEPOINT accepted")
        try:
            _record(conn, *each)
        except sqlite3.Error as exc:
            if not conn.in_transaction:
                raise  # SQLite ended the whole transaction: the write fails
            conn.execute("ROLLBACK TO accepted")
            outcomes.append(exc)
        else:
            outcomes.append(None)
        conn.execute("RELEASE accepted")
    return outcomes


def _record(conn: sqlite3.Connection, sms: OutgoingSms, sid: str, status: str, at: float) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO sent_sms (sid, user_id, to_phone, status, created_at,"
        " updated_at, segments) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (sid, sms.user_id, sms.phone, status, at, at, sms.segments),
    )
    conn.execute("DELETE FROM outgoing WHERE id = ?", (sms.id,))
    # A status callback may have come first (smslog.SentLog.advance).
    conn.execute(
        "UPDATE sent_sms SET status = e.status,"
        " error_code = coalesce(e.error_code, sent_sms.error_code)"
        " FROM early_status e WHERE e.sid = sent_sms.sid AND sent_sms.sid = ?"
        f" AND {rank_sql('e.status')} > {rank_sql('sent_sms.status')}",
        (sid,),
    )
    conn.execute("DELETE FROM early_status WHERE sid = ?", (sid,))
