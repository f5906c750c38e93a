"""REGISTER and VERIFY: a phone is registered once the code texted to it comes back on IRC."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets

from highlightd.core.identity import account_to_bind
from highlightd.core.ircnames import nick_key
from highlightd.core.phones import mask_phone
from highlightd.core.records import Pending
from highlightd.core.smstext import fit
from highlightd.selfservice.context import Context
from highlightd.sms.gateway import SmsError

log = logging.getLogger(__name__)

CODE_TTL = 600.0
MAX_TRIES = 5
CODES_PER_DAY = 3
DAY = 86400.0


def _code_hash(network: str, nick: str, code: str) -> str:
    return hashlib.sha256(f"{network}\0{nick_key(nick)}\0{code}".encode()).hexdigest()


async def _over_quota(ctx: Context, phone: str) -> list[str] | None:
    """Each code costs an SMS and lands on someone's phone: a few a day, no more."""
    asker, since = ctx.irc, ctx.now - DAY
    if await ctx.store.registrations.codes_since(since, phone=phone) >= CODES_PER_DAY:
        return [f"{mask_phone(phone)} had {CODES_PER_DAY} codes today; try tomorrow"]
    for_nick = await ctx.store.registrations.codes_since(
        since, network=asker.network, nick_key=nick_key(asker.nick)
    )
    if for_nick >= CODES_PER_DAY:
        return [f"{asker.nick} asked for {CODES_PER_DAY} codes today; try tomorrow"]
    return None


async def request_code(ctx: Context, phone: str) -> list[str]:
    """REGISTER: text a code to phone, and remember its hash until VERIFY."""
    asker, store = ctx.irc, ctx.store
    if ctx.gateway is None:
        raise RuntimeError("REGISTER needs an SMS gateway")
    existing = await store.users.get(asker.network, nick_key(asker.nick))
    if refused := asker.refused(existing.account if existing else None, registering=True):
        return refused
    if over := await _over_quota(ctx, phone):
        return over
    code = f"{secrets.randbelow(1_000_000):06d}"
    code_hash = _code_hash(asker.network, asker.nick, code)
    expires = ctx.now + CODE_TTL
    pending = Pending(
        asker.network, asker.nick, phone, code_hash, account_to_bind(asker.account), expires, 0
    )
    await store.registrations.put_pending(pending, nick_key(asker.nick), ctx.now)
    text = fit(
        f"highlightd code for {asker.nick} on {asker.network}: {code}. "
        f"On IRC: /msg {asker.own_nick} VERIFY {code}"
    )
    try:
        sent = await ctx.gateway.send(phone, text)
    except SmsError as exc:
        await store.registrations.drop_pending(asker.network, nick_key(asker.nick))
        log.warning("verification SMS to %s failed: %s", mask_phone(phone), exc)
        return [f"could not text {mask_phone(phone)}: {exc}"]
    await store.sent.record(sent.sid, None, phone, sent.status)
    log.info("%s/%s asked to register %s; code sent", asker.network, asker.nick, mask_phone(phone))
    return [
        f"I texted a code to {mask_phone(phone)}: answer VERIFY <code> within "
        f"{CODE_TTL / 60:.0f} minutes. Nothing is active until then."
    ]


async def check_code(ctx: Context, code: str) -> list[str]:
    """VERIFY: the right code in time makes the waiting registration a user."""
    asker, store = ctx.irc, ctx.store
    network, nick, key = asker.network, asker.nick, nick_key(asker.nick)
    pending = await store.registrations.pending(network, key)
    if pending is None:
        return [f"no registration is waiting for {nick}; REGISTER <phone> first"]
    if ctx.now >= pending.expires:
        await store.registrations.drop_pending(network, key)
        return ["that code has expired; REGISTER again for a new one"]
    if refused := asker.refused(pending.account):
        return refused
    if not hmac.compare_digest(pending.code_hash, _code_hash(network, nick, code)):
        tries = pending.tries + 1
        if tries >= MAX_TRIES:
            await store.registrations.drop_pending(network, key)
            return [f"wrong code {MAX_TRIES} times: the registration is dropped"]
        await store.registrations.count_try(network, key)
        return [f"wrong code; {MAX_TRIES - tries} tries left"]
    await store.registrations.drop_pending(network, key)
    user = await store.users.save(network, nick, key, pending.phone, pending.account)
    log.info("%s/%s registered %s", network, nick, mask_phone(user.phone))
    return [
        f"done: highlights of {nick} on {network} now text {mask_phone(user.phone)}. "
        "HELP shows what else you can set; answering an SMS speaks here."
    ]
