"""SMS from a registered phone that are meant for us: carrier keywords and SMS commands."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from highlightd.core.commands import CommandError
from highlightd.core.phones import mask_phone
from highlightd.core.records import User
from highlightd.core.replies import OPT_IN, OPT_OUT
from highlightd.selfservice.commands import REGISTRY
from highlightd.selfservice.dispatch import Desk, answer_sms
from highlightd.store import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SmsOutcome:
    relay: bool  # put it on the bus as an answer to IRC
    reply: str | None = None  # answered at once, by the webhook's TwiML


def is_answer(body: str, users: list[User]) -> bool:
    """Whether handle_sms would relay this SMS, known without I/O: then it is stored as an
    answer in one write. It mirrors handle_sms's tests in the same order."""
    verdict = plain_answer(body)
    if verdict is None:  # START and the like: a carrier keyword from an opted-out phone
        return not any(u.opted_out for u in users) and _not_a_command(body)
    return verdict


def plain_answer(body: str) -> bool | None:
    """is_answer's verdict when it does not depend on the sender's registrations (most
    SMS: then it is stored in one statement), None when it does."""
    word = body.strip().upper()
    if word in OPT_OUT or word in ("HELP", "INFO"):
        return False
    if word in OPT_IN:
        return None
    return _not_a_command(body)


def _not_a_command(body: str) -> bool:
    try:
        return REGISTRY.read_sms(body) is None
    except CommandError:
        return False  # a command mistyped: answered by SMS, not relayed


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
    # The commands that work by SMS are declared with the others (selfservice.commands).
    answer = await answer_sms(Desk(store, gateway=None), phone, body, now)
    if answer is None:
        return SmsOutcome(relay=True)
    return SmsOutcome(relay=False, reply=answer[0] if answer else None)
