"""REGISTER and VERIFY: a phone is registered once the code texted to it comes back on IRC.

A registered nick moves to another phone only with its owner's consent
(core.identity): then the code goes to the registered phone, not to the new one.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from highlightd.core.codes import DAY, Requester, over_limit
from highlightd.core.identity import account_to_bind, consent_by_account
from highlightd.core.ircnames import nick_key
from highlightd.core.phones import code_refusal, mask_phone
from highlightd.core.records import Pending
from highlightd.core.smstext import fit, segments
from highlightd.selfservice.context import Asker, Context
from highlightd.sms.gateway import SmsError

log = logging.getLogger(__name__)

CODE_TTL = 600.0
MAX_TRIES = 5


@dataclass(frozen=True, slots=True)
class Ask:
    """One code to send: for which phone, to which phone, and its SMS and IRC answer."""

    phone: str  # the phone the registration will text once the code comes back
    to_phone: str  # where the code goes: the same, or the registered phone for consent
    purpose: str  # "" registering; "end " ending (its codes are not VERIFY's)
    sms: str  # the SMS, with {code} where the code goes
    answer: str  # the NOTICE once it was sent


def code_hash(network: str, nick: str, code: str, purpose: str = "") -> str:
    text = f"{network}\0{nick_key(nick)}\0{purpose}{code}"
    return hashlib.sha256(text.encode()).hexdigest()


def _clock_time(moment: float, timezone: str) -> str:
    local = datetime.fromtimestamp(moment, ZoneInfo(timezone))
    return f"{local:%H:%M} {local.tzname()}"


@dataclass(frozen=True, slots=True)
class Words:
    """How the answers name a kind of code: what waits, the command that asks for one,
    and how it is used."""

    what: str = "registration"
    command: str = "REGISTER"
    asking: str = "REGISTER <phone>"
    use: str = "VERIFY"


REGISTERING = Words()


async def _refusal(ctx: Context, ask: Ask, words: Words) -> list[str] | None:
    """Why no code may go for this asker now, else None; checked before any SMS."""
    asker, rules = ctx.irc, ctx.codes
    for phone in dict.fromkeys((ask.phone, ask.to_phone)):
        if refused := code_refusal(phone, rules.regions):
            log.info(
                "%s/%s: no code for %s: %s", asker.network, asker.nick, mask_phone(phone), refused
            )
            return [refused]
    pending = await ctx.store.registrations.pending(asker.network, nick_key(asker.nick))
    if pending is not None and pending.phone == ask.phone and ctx.now < pending.expires:
        # Asking again re-sends nothing: the code on its way is still good.
        sent_at = _clock_time(pending.expires - CODE_TTL, rules.timezone)
        later = _clock_time(pending.expires, rules.timezone)
        return [
            f"a code was sent to {mask_phone(ask.to_phone)} at {sent_at}; "
            f"{words.use} it, or {words.command} again after {later}"
        ]
    who = requester(asker)
    counts = await ctx.store.registrations.code_counts(
        ctx.now - DAY, ask.to_phone, asker.network, nick_key(asker.nick), who.account, who.host
    )
    if over := over_limit(counts, rules.limits, mask_phone(ask.to_phone), who):
        if counts.total >= rules.limits.total > 0:
            log.warning(
                "policy.daily_codes (%d) reached: %s/%s gets no code",
                rules.limits.total,
                asker.network,
                asker.nick,
            )
        return [over]
    return None


def requester(asker: Asker) -> Requester:
    # Accounts compare the network's way; "" (known not logged in) is no account.
    account = asker.fold(asker.account) if asker.account else None
    return Requester(asker.nick, account, asker.host or None)


async def send_code(ctx: Context, ask: Ask, words: Words) -> list[str]:
    """Text a code as ask says, within the codes' budgets, and keep its hash as pending."""
    asker, store = ctx.irc, ctx.store
    if ctx.gateway is None:
        raise RuntimeError("a code needs an SMS gateway")
    if refused := await _refusal(ctx, ask, words):
        return refused
    code = f"{secrets.randbelow(1_000_000):06d}"
    hashed = code_hash(asker.network, asker.nick, code, ask.purpose)
    pending = Pending(
        asker.network,
        asker.nick,
        ask.phone,
        hashed,
        account_to_bind(asker.account),
        ctx.now + CODE_TTL,
        0,
    )
    who = requester(asker)
    # Counted before it is sent: a failed send was still an attempt on someone's phone.
    code_id = await store.registrations.put_pending(
        pending,
        nick_key(asker.nick),
        ctx.now,
        account=who.account,
        host=who.host,
        to_phone=ask.to_phone,
    )
    text = fit(ask.sms.format(code=code))
    try:
        sent = await ctx.gateway.send(ask.to_phone, text)
    except SmsError as exc:
        await store.registrations.drop_pending(asker.network, nick_key(asker.nick))
        log.warning("code SMS to %s failed: %s", mask_phone(ask.to_phone), exc)
        return [f"could not text {mask_phone(ask.to_phone)}: {exc}"]
    # Named as a code first: the highlights' budget must never count it.
    await store.registrations.code_sent(code_id, sent.sid)
    await store.sent.record(sent.sid, None, ask.to_phone, sent.status, segments(text))
    log.info(
        "%s/%s asked for a code%s; sent to %s",
        asker.network,
        asker.nick,
        f" ({ask.purpose.strip()})" if ask.purpose else "",
        mask_phone(ask.to_phone),
    )
    return [ask.answer]


async def request_code(ctx: Context, phone: str) -> list[str]:
    """REGISTER: text a code to phone (to the registered phone when this moves a
    registration without its account's say-so), and remember its hash until VERIFY."""
    asker = ctx.irc
    existing = await ctx.store.users.get(asker.network, nick_key(asker.nick))
    if refused := asker.refused(existing.account if existing else None, registering=True):
        return refused
    minutes = f"{CODE_TTL / 60:.0f} minutes"
    verify = f"/msg {asker.own_nick} VERIFY {{code}}"
    moving = existing is not None and existing.phone != phone
    if moving and existing and not consent_by_account(existing.account, asker.account, asker.fold):
        ask = Ask(
            phone,
            existing.phone,
            "",
            f"highlightd: {asker.nick} on {asker.network} asks to text your highlights to "
            f"the phone ending {phone[-4:]} instead. Only if you agree: {verify}",
            f"{asker.nick} is registered to {mask_phone(existing.phone)}: I texted a code "
            f"to THAT phone. The highlights move to {mask_phone(phone)} when its owner's "
            f"code comes back here (VERIFY <code>) within {minutes}.",
        )
    else:
        ask = Ask(
            phone,
            phone,
            "",
            f"highlightd code for {asker.nick} on {asker.network}: {{code}}. On IRC: {verify}",
            f"I texted a code to {mask_phone(phone)}: answer VERIFY <code> within "
            f"{minutes}. Nothing is active until then.",
        )
    return await send_code(ctx, ask, REGISTERING)


async def check_code(ctx: Context, code: str) -> list[str]:
    """VERIFY: the right code in time makes the waiting registration a user."""
    asker, store = ctx.irc, ctx.store
    network, nick = asker.network, asker.nick
    pending = await take_code(ctx, code, "", REGISTERING)
    if isinstance(pending, list):
        return pending
    if refused := asker.refused(pending.account):
        return refused
    user = await store.users.save(network, nick, nick_key(nick), pending.phone, pending.account)
    log.info("%s/%s registered %s", network, nick, mask_phone(user.phone))
    return [
        f"done: highlights of {nick} on {network} now text {mask_phone(user.phone)}. "
        "HELP shows what else you can set; answering an SMS speaks here."
    ]


async def take_code(ctx: Context, code: str, purpose: str, words: Words) -> Pending | list[str]:
    """The pending code for the asker's nick if code is it (and it is used up now), else
    the answer: none waiting, expired, or wrong (counted; MAX_TRIES drop it)."""
    asker, registrations = ctx.irc, ctx.store.registrations
    network, key = asker.network, nick_key(asker.nick)
    pending = await registrations.pending(network, key)
    if pending is None:
        return [f"no {words.what} is waiting for {asker.nick}; {words.asking} first"]
    if ctx.now >= pending.expires:
        await registrations.drop_pending(network, key)
        return [f"that code has expired; {words.command} again for a new one"]
    if not hmac.compare_digest(pending.code_hash, code_hash(network, asker.nick, code, purpose)):
        tries = pending.tries + 1
        if tries >= MAX_TRIES:
            await registrations.drop_pending(network, key)
            return [f"wrong code {MAX_TRIES} times: the {words.what} is dropped"]
        await registrations.count_try(network, key)
        return [f"wrong code; {MAX_TRIES - tries} tries left"]
    await registrations.drop_pending(network, key)
    return pending
