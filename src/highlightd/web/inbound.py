"""SMS from a registered phone that are meant for us: carrier keywords and SMS commands."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from highlightd.core import commands as c
from highlightd.core.phones import mask_phone
from highlightd.core.replies import OPT_IN, OPT_OUT
from highlightd.core.smstext import fit
from highlightd.core.status import PAUSED_UNTIL_RESUME, state_of
from highlightd.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SmsOutcome:
    relay: bool  # put it on the bus as an answer to IRC
    reply: str | None = None  # answered at once, by the webhook's TwiML


async def handle_sms(store: Store, phone: str, body: str, now: float) -> SmsOutcome:
    """Carrier keywords and SMS commands from a registered phone; else a reply to relay."""
    word = body.strip().upper()
    users = await store.users.by_phone(phone)
    if word in OPT_OUT:
        await store.users.set_opted_out(phone, True)
        log.info("%s opted out (%s)", mask_phone(phone), word)
        return SmsOutcome(relay=False)  # Twilio confirms the opt-out itself
    if word in OPT_IN and any(u.opted_out for u in users):
        await store.users.set_opted_out(phone, False)
        log.info("%s opted back in (%s)", mask_phone(phone), word)
        return SmsOutcome(relay=False)
    if word in ("HELP", "INFO"):
        return SmsOutcome(relay=False)  # Twilio answers these
    try:
        command = c.parse_sms(body)
    except c.CommandError as exc:
        return SmsOutcome(relay=False, reply=fit(f"highlightd: {exc}"))
    if command is None:
        return SmsOutcome(relay=True)
    for user in users:
        match command:
            case c.Pause(seconds=seconds):
                until = PAUSED_UNTIL_RESUME if seconds is None else now + seconds
                await store.users.update(user.id, paused_until=until)
            case c.Resume():
                await store.users.update(user.id, paused_until=None)
    fresh = await store.users.by_phone(phone)
    if not fresh:
        return SmsOutcome(relay=False)
    names = ", ".join(f"{u.nick} on {u.network}" for u in fresh)
    # No masked phone here: its dots are not GSM-7, and would halve what fits.
    return SmsOutcome(relay=False, reply=fit(f"highlightd: {state_of(fresh[0], now)} ({names})"))
