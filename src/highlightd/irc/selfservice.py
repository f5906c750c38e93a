"""Users register, verify and tune their highlights themselves, from IRC and by SMS."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
from collections.abc import Callable, Mapping

from highlightd.config import Settings
from highlightd.core import commands as c
from highlightd.core.events import IrcMessage
from highlightd.core.identity import account_to_bind, refusal
from highlightd.core.ircnames import nick_key
from highlightd.core.phones import mask_phone
from highlightd.core.records import Pending, User
from highlightd.core.smstext import fit, strip_irc_formatting
from highlightd.core.status import PAUSED_UNTIL_RESUME, describe, when
from highlightd.irc.directory import Directory
from highlightd.irc.network import Network
from highlightd.sms.gateway import SmsError, SmsGateway
from highlightd.store import Store

log = logging.getLogger(__name__)

CODE_TTL = 600.0
MAX_TRIES = 5
CODES_PER_DAY = 3
MAX_KEYWORDS = 30
DAY = 86400.0


def _code_hash(network: str, nick: str, code: str) -> str:
    return hashlib.sha256(f"{network}\0{nick_key(nick)}\0{code}".encode()).hexdigest()


class SelfService:
    """Answers private messages to the bot, one at a time, by NOTICE."""

    def __init__(
        self,
        store: Store,
        directory: Directory,
        gateway: SmsGateway,
        networks: Mapping[str, Network],
        settings: Settings,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._directory = directory
        self._gateway = gateway
        self._networks = networks
        self._settings = settings
        self._clock = clock
        self._queue: asyncio.Queue[IrcMessage] = asyncio.Queue()

    def submit(self, message: IrcMessage) -> None:
        self._queue.put_nowait(message)

    def use_settings(self, settings: Settings) -> None:
        """Reloaded settings (SIGHUP): [defaults] apply from the next command."""
        self._settings = settings

    async def run(self) -> None:
        while True:
            message = await self._queue.get()
            network = self._networks.get(message.network)
            if network is None:
                continue
            for line in await self.handle(network, message):
                network.send(message.sender, line, command="NOTICE")

    async def handle(self, network: Network, message: IrcMessage) -> list[str]:
        """The answer to one private message, as NOTICE lines."""
        try:
            # Some clients send bold or colour; commands are plain words.
            text = strip_irc_formatting(message.text)
            command = c.parse_irc(text, self._settings.defaults.region)
        except c.CommandError as exc:
            return [str(exc)]
        if isinstance(command, c.Help):
            try:
                return c.help_lines(command.topic)
            except c.CommandError as exc:
                return [str(exc)]
        if isinstance(command, c.Register):
            return await self._register(network, message, command.phone)
        if isinstance(command, c.Verify):
            return await self._verify(network, message, command.code)
        user = await self._user(network, message.sender)
        if user is None:
            return [f"{message.sender} is not registered here; REGISTER <phone> first (HELP)"]
        if refused := self._refused(network, message, user.account):
            return refused
        answer = await self._setting(network, user, command)
        await self._directory.refresh()
        return answer

    def _refused(
        self,
        network: Network,
        message: IrcMessage,
        bound_to: str | None,
        registering: bool = False,
    ) -> list[str] | None:
        """The answer when the sender may not act for this registration (identity.py)."""
        reason = refusal(
            registering=registering,
            bound_to=bound_to,
            current=message.account,
            require_account=network.settings.require_account,
            fold=network.fold,
        )
        return [f"refused: {reason}"] if reason else None

    async def _user(self, network: Network, nick: str) -> User | None:
        uid = self._directory.owner(network.name, network.casemapping, nick)
        if uid is not None and (user := self._directory.user(uid)) is not None:
            return user
        return await self._store.users.get(network.name, nick_key(nick))

    # Registration

    async def _register(self, network: Network, message: IrcMessage, phone: str) -> list[str]:
        nick, now = message.sender, self._clock()
        existing = await self._store.users.get(network.name, nick_key(nick))
        if refused := self._refused(
            network, message, existing.account if existing else None, registering=True
        ):
            return refused
        # Each code costs an SMS and lands on someone's phone: a few a day, no more.
        if await self._store.registrations.codes_since(now - DAY, phone=phone) >= CODES_PER_DAY:
            return [f"{mask_phone(phone)} had {CODES_PER_DAY} codes today; try tomorrow"]
        sent_for_nick = await self._store.registrations.codes_since(
            now - DAY, network=network.name, nick_key=nick_key(nick)
        )
        if sent_for_nick >= CODES_PER_DAY:
            return [f"{nick} asked for {CODES_PER_DAY} codes today; try tomorrow"]
        code = f"{secrets.randbelow(1_000_000):06d}"
        pending = Pending(
            network.name,
            nick,
            phone,
            _code_hash(network.name, nick, code),
            account_to_bind(message.account),
            now + CODE_TTL,
            0,
        )
        await self._store.registrations.put_pending(pending, nick_key(nick), now)
        text = fit(
            f"highlightd code for {nick} on {network.name}: {code}. "
            f"On IRC: /msg {network.own_nick} VERIFY {code}"
        )
        try:
            sent = await self._gateway.send(phone, text)
        except SmsError as exc:
            await self._store.registrations.drop_pending(network.name, nick_key(nick))
            log.warning("verification SMS to %s failed: %s", mask_phone(phone), exc)
            return [f"could not text {mask_phone(phone)}: {exc}"]
        await self._store.sent.record(sent.sid, None, phone, sent.status)
        log.info("%s/%s asked to register %s; code sent", network.name, nick, mask_phone(phone))
        return [
            f"I texted a code to {mask_phone(phone)}: answer VERIFY <code> within "
            f"{CODE_TTL / 60:.0f} minutes. Nothing is active until then."
        ]

    async def _verify(self, network: Network, message: IrcMessage, code: str) -> list[str]:
        nick, now = message.sender, self._clock()
        key = nick_key(nick)
        pending = await self._store.registrations.pending(network.name, key)
        if pending is None:
            return [f"no registration is waiting for {nick}; REGISTER <phone> first"]
        if now >= pending.expires:
            await self._store.registrations.drop_pending(network.name, key)
            return ["that code has expired; REGISTER again for a new one"]
        if refused := self._refused(network, message, pending.account):
            return refused
        if not hmac.compare_digest(pending.code_hash, _code_hash(network.name, nick, code)):
            tries = pending.tries + 1
            if tries >= MAX_TRIES:
                await self._store.registrations.drop_pending(network.name, key)
                return [f"wrong code {MAX_TRIES} times: the registration is dropped"]
            await self._store.registrations.count_try(network.name, key)
            return [f"wrong code; {MAX_TRIES - tries} tries left"]
        await self._store.registrations.drop_pending(network.name, key)
        user = await self._store.users.save(network.name, nick, key, pending.phone, pending.account)
        await self._directory.refresh()
        log.info("%s/%s registered %s", network.name, nick, mask_phone(user.phone))
        return [
            f"done: highlights of {nick} on {network.name} now text {mask_phone(user.phone)}. "
            "HELP shows what else you can set; answering an SMS speaks here."
        ]

    # Settings

    async def _setting(self, network: Network, user: User, command: c.Command) -> list[str]:
        now = self._clock()
        match command:
            case c.Unregister():
                await self._store.privacy.unregister(user.network, nick_key(user.nick))
                return [f"{user.nick} is unregistered; no more SMS"]
            case c.Status():
                return [await self._status(user, now)]
            case c.KeywordsList():
                return [await self._status(user, now)]
            case c.KeywordsAdd(word=word, exception=exception):
                if len(await self._store.registrations.keywords(user.id)) >= MAX_KEYWORDS:
                    return [f"you have {MAX_KEYWORDS} keywords already; DEL one first"]
                added = await self._store.registrations.add_keyword(
                    user.id, word, nick_key(word), exception
                )
                kind = "exception" if exception else "keyword"
                return [f"{kind} {word} {'added' if added else 'was there already'}"]
            case c.KeywordsDel(word=word, exception=exception):
                removed = await self._store.registrations.remove_keyword(
                    user.id, nick_key(word), exception
                )
                return [f"{word} {'removed' if removed else 'was not there'}"]
            case c.Mute(channel=channel):
                await self._store.registrations.mute(user.id, network.fold(channel), True)
                return [f"no SMS for highlights in {channel}"]
            case c.Unmute(channel=channel):
                done = await self._store.registrations.mute(user.id, network.fold(channel), False)
                return [f"{channel} {'unmuted' if done else 'was not muted'}"]
            case c.Pause() | c.Resume() | c.Quiet() | c.QuietOff():
                return [await self._schedule(user, command, now)]
        return ["that command is not for here; HELP"]

    async def _schedule(self, user: User, command: c.Command, now: float) -> str:
        match command:
            case c.Pause(seconds=None):
                await self._store.users.update(user.id, paused_until=PAUSED_UNTIL_RESUME)
                return "paused until you say RESUME"
            case c.Pause(seconds=float() as seconds):
                await self._store.users.update(user.id, paused_until=now + seconds)
                return f"paused until {when(now + seconds, user.timezone)}"
            case c.Resume():
                await self._store.users.update(user.id, paused_until=None)
                return "resumed: highlights text you again"
            case c.Quiet(hours=hours, timezone=tz):
                text = f"{hours.start:%H:%M}-{hours.end:%H:%M}"
                await self._store.users.update(user.id, quiet=text, timezone=tz or user.timezone)
                return f"quiet hours {text} {tz or user.timezone or 'UTC'}: kept for a digest"
            case c.QuietOff():
                await self._store.users.update(user.id, quiet=None)
                return "quiet hours off"
        return "?"

    async def _status(self, user: User, now: float) -> str:
        keywords = await self._store.registrations.keywords(user.id)
        muted = sorted((await self._store.registrations.muted()).get(user.id, frozenset()))
        return describe(
            user,
            [k.word for k in keywords if not k.exception],
            [k.word for k in keywords if k.exception],
            muted,
            now,
        )
