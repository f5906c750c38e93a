"""What Twilio tells after sending: status callbacks, opt-outs, phones that cannot get SMS."""

from __future__ import annotations

import logging

from highlightd.core.delivery import (
    FAILED,
    OPTED_OUT,
    PAUSE_AFTER,
    UNDELIVERABLE,
    error_code,
    pause_reason,
)
from highlightd.core.phones import mask_phone
from highlightd.core.status import PAUSED_UNTIL_RESUME
from highlightd.store import Store

log = logging.getLogger(__name__)


async def opt_out(store: Store, phone: str, why: str) -> None:
    """The carrier says this phone answered STOP: honour it exactly as our own STOP.

    The IRC side sees it at its next look at the store (before the next line).
    """
    users = await store.users.by_phone(phone)
    if not users or all(u.opted_out for u in users):
        return
    await store.users.set_opted_out(phone, True)
    log.info("%s opted out (%s): no more SMS until START", mask_phone(phone), why)


async def on_status(
    store: Store, sid: str, status: str, error: str | None, to: str | None, now: float
) -> None:
    """A status callback: the status moves forward only; opt-outs and dead phones are acted on.

    `to` (the callback's To) counts only for an SMS not recorded yet.
    """
    code = error_code(error)
    phone, moved = await store.sent.advance(sid, status, code, to, now)
    if phone is None:
        log.debug("status %s for unknown SMS %s", status, sid)
        return
    if code is not None:
        log.warning("SMS %s to %s: %s, error %d", sid, mask_phone(phone), status, code)
    if code == OPTED_OUT:
        await opt_out(store, phone, f"Twilio error {OPTED_OUT} on SMS {sid}")
    if not moved:
        return  # a late or repeated callback: counted the first time
    if status == "delivered":
        await store.sent.clear_undelivered(phone)
    elif status in FAILED and code is not None and code in UNDELIVERABLE:
        await _undeliverable(store, phone, code, now)


async def _undeliverable(store: Store, phone: str, code: int, now: float) -> None:
    streak = await store.sent.undelivered(phone, code, now)
    if streak < PAUSE_AFTER:
        return
    # Paused, not opted out: the phone may come back (switched off, out of coverage),
    # and its owner lifts the pause with RESUME, as any other.
    reason = pause_reason(code, streak)
    paused = await store.users.pause_phone(phone, PAUSED_UNTIL_RESUME, reason)
    await store.sent.clear_undelivered(phone)
    if paused:
        log.warning(
            "%s paused (%d registration(s)) until RESUME: %s", mask_phone(phone), paused, reason
        )
