"""REGISTER and VERIFY: a phone is registered once the code texted to it comes back on IRC."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from datetime import datetime
from zoneinfo import ZoneInfo

from highlightd.core.codes import DAY, Requester, over_limit
from highlightd.core.identity import account_to_bind
from highlightd.core.ircnames import nick_key
from highlightd.core.phones import code_refusal, mask_phone
from highlightd.core.records import Pending
from highlightd.core.smstext import fit, segments
from highlightd.selfservice.context import Asker, Context
from highlightd.sms.gateway import SmsError

log = logging.getLogger(__name__)

CODE_TTL = 600.0
MAX_TRIES = 5


def _code_hash(network: str, nick: str, code: str) -> str:
    return hashlib.sha256(f"{network}\0{nick_key(nick)}\0{code}".encode()).hexdigest()


def _clock_time(moment: float, timezone: str) -> str:
    local = datetime.fromtimestamp(moment, ZoneInfo(timezone))
    return f"{local:%H:%M} {local.tzname()}"


async def _refusal(ctx: Context, phone: str) -> list[str] | None:
    """Why no code may go to phone for this asker now, else None; checked before any SMS."""
    asker, rules = ctx.irc, ctx.codes
    if refused := code_refusal(phone, rules.regions):
        log.info("%s/%s: no code to %s: %s", asker.network, asker.nick, mask_phone(phone), refused)
        return [refused]
    pending = await ctx.store.registrations.pending(asker.network, nick_key(asker.nick))
    if pending is not None and pending.phone == phone and ctx.now < pending.expires:
        # Asking again re-sends nothing: the code on its way is still good.
        sent_at = _clock_time(pending.expires - CODE_TTL, rules.timezone)
        again = _clock_time(pending.expires, rules.timezone)
        return [
            f"a code was sent to {mask_phone(phone)} at {sent_at}; "
            f"VERIFY it, or REGISTER again after {again}"
        ]
    who = _requester(asker)
    counts = await ctx.store.registrations.code_counts(
        ctx.now - DAY, phone, asker.network, nick_key(asker.nick), who.account, who.host
    )
    if over := over_limit(counts, rules.limits, mask_phone(phone), who):
        if counts.total >= rules.limits.total > 0:
            log.warning(
                "policy.daily_codes (%d) reached: %s/%s gets no code",
                rules.limits.total,
                asker.network,
                asker.nick,
            )
        return [over]
    return None


def _requester(asker: Asker) -> Requester:
    # Accounts compare the network's way; "" (known not logged in) is no account.
    account = asker.fold(asker.account) if asker.account else None
    return Requester(asker.nick, account, asker.host or None)


async def request_code(ctx: Context, phone: str) -> list[str]:
    """REGISTER: text a code to phone, and remember its hash until VERIFY."""
    asker, store = ctx.irc, ctx.store
    if ctx.gateway is None:
        raise RuntimeError("REGISTER needs an SMS gateway")
    existing = await store.users.get(asker.network, nick_key(asker.nick))
    if refused := asker.refused(existing.account if existing else None, registering=True):
        return refused
    if refused := await _refusal(ctx, phone):
        return refused
    code = f"{secrets.randbelow(1_000_000):06d}"
    code_hash = _code_hash(asker.network, asker.nick, code)
    expires = ctx.now + CODE_TTL
    pending = Pending(
        asker.network, asker.nick, phone, code_hash, account_to_bind(asker.account), expires, 0
    )
    who = _requester(asker)
    # Counted before it is sent: a failed send was still an attempt on someone's phone.
    code_id = await store.registrations.put_pending(
        pending, nick_key(asker.nick), ctx.now, account=who.account, host=who.host
    )
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
    # Named as a code first: the highlights' budget must never count it.
    await store.registrations.code_sent(code_id, sent.sid)
    await store.sent.record(sent.sid, None, phone, sent.status, segments(text))
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
