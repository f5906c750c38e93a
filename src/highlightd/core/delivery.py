"""What Twilio says about an SMS after sending: statuses in order, error codes that matter. Pure."""

from __future__ import annotations

from collections.abc import Mapping

# Twilio: "Attempt to send to unsubscribed recipient" (the phone answered STOP).
OPTED_OUT = 21610
# Twilio's "the handset cannot get this SMS" errors; a phone that keeps causing them is paused.
UNDELIVERABLE: Mapping[int, str] = {
    30003: "unreachable handset",
    30005: "unknown or inactive handset",
    30006: "landline or unreachable carrier",
}
PAUSE_AFTER = 3  # undeliverable SMS in a row (a delivered one starts the count again)

# Statuses only move forward: callbacks arrive out of order (a late `sent` after
# `delivered`), and a status that went back would undo what was known.
STATUS_RANK: Mapping[str, int] = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 0,
    "sending": 1,
    "sent": 2,
    "delivered": 3,
    "undelivered": 3,
    "failed": 3,
    "canceled": 3,
    "read": 4,
}
UNKNOWN_RANK = -1  # ours ("printed" by the console) or one Twilio added: any known status follows
FAILED = frozenset({"undelivered", "failed"})


def rank(status: str) -> int:
    """Where a status stands in an SMS's life; a new status is kept only if it ranks higher."""
    return STATUS_RANK.get(status, UNKNOWN_RANK)


def error_code(value: str | None) -> int | None:
    """Twilio's ErrorCode form field as a number (absent, empty or not a number: None)."""
    if value is None or not value.strip().isdigit():
        return None
    return int(value.strip())


def pause_reason(code: int, streak: int) -> str:
    """Why a phone was paused, as `users list` and STATUS show it."""
    what = UNDELIVERABLE.get(code, "undeliverable")
    return f"{streak} SMS in a row undelivered (Twilio error {code}: {what})"


def retry_delay(attempts: int, first: float, cap: float) -> float:
    """Seconds before the next try of an SMS after `attempts` tries: doubling, capped."""
    return float(min(first * 2 ** min(max(attempts - 1, 0), 40), cap))
