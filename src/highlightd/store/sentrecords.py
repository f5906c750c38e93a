"""Recording SMS that Twilio accepted: into store.sent and off the outbox."""

from __future__ import annotations

import sqlite3

from highlightd.core.records import OutgoingSms
from highlightd.store.smslog import rank_sql

Accepted = tuple[OutgoingSms, str, str, float]  # the SMS, its sid, its status, when


def record(conn: sqlite3.Connection, accepted: Accepted) -> None:
    """One SMS accepted, as a write: the group writer undoes it alone if it fails (its
    user removed meanwhile: no such user for store.sent)."""
    sms, sid, status, at = accepted
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
