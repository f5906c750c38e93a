"""From an IRC line to SMS: who is highlighted, what the policy says, and the sending."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
from collections.abc import Mapping
from zoneinfo import ZoneInfo

from highlightd.config import Settings
from highlightd.core.events import IrcEvent, IrcMessage, NickChange, Quit
from highlightd.core.facts import person_of
from highlightd.core.matcher import words
from highlightd.core.phones import mask_phone
from highlightd.core.policy import (
    Decision,
    Held,
    Line,
    Presence,
    Reason,
    Rules,
    Spend,
    decide,
    digest_text,
    hold_or_send,
    rules_for,
)
from highlightd.core.records import Highlight, User
from highlightd.core.smstext import format_highlight, segments, strip_irc_formatting
from highlightd.infra.metrics import Metrics
from highlightd.irc.directory import Directory
from highlightd.irc.network import Network
from highlightd.sms.budget import spend_of
from highlightd.sms.gateway import SentSms, SmsError, SmsGateway
from highlightd.store import Store

log = logging.getLogger(__name__)

SEND_ATTEMPTS = 5
OPTED_OUT_ERROR = 21610  # Twilio: "Attempt to send to unsubscribed recipient"
DIGEST_CHECK = 60.0  # seconds between looks at held highlights, at the longest
LIMIT_NOTICE = (
    "highlightd: today's SMS limit ({budget} segments) is reached; "
    "what comes next waits for one digest tomorrow."
)


def _said(message: IrcMessage) -> str:
    """What was said: a /me action reads "* bob waves"."""
    return f"* {message.sender} {message.text}" if message.action else message.text


class Notifier:
    """Consumes IRC lines in wire order; each SMS is sent in a task of its own."""

    def __init__(
        self,
        store: Store,
        directory: Directory,
        gateway: SmsGateway,
        networks: Mapping[str, Network],
        metrics: Metrics,
        settings: Settings,
    ) -> None:
        self._store = store
        self._directory = directory
        self._gateway = gateway
        self._networks = networks
        self._metrics = metrics
        self._settings = settings
        self._lines: asyncio.Queue[IrcEvent] = asyncio.Queue()
        self._held_changed = asyncio.Event()
        # Sends decided but not yet recorded: the database does not know of them yet.
        self._last_sent: dict[int, float] = {}
        self._reserved: dict[int, int] = {}
        self._warned: set[tuple[str, str]] = set()

    def submit(self, event: IrcEvent) -> None:
        """Called by the IRC side for every line, in the order the server sent them."""
        self._lines.put_nowait(event)

    def use_settings(self, settings: Settings) -> None:
        """Reloaded settings (SIGHUP): [policy] applies from the next line."""
        self._settings = settings

    def rules(self, network: Network) -> Rules:
        return rules_for(self._settings.policy, network.settings, network.fold)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as sends:
            sends.create_task(self._digests(sends))
            while True:
                event = await self._lines.get()
                network = self._networks.get(event.network)
                if network is None:
                    continue
                if isinstance(event, NickChange):
                    self._directory.renamed(network.name, network.casemapping, event.old, event.new)
                elif isinstance(event, Quit):
                    self._directory.left(network.name, network.casemapping, event.nick)
                else:
                    await self._consider(event, network, sends)

    # Highlights

    async def _consider(
        self, message: IrcMessage, network: Network, sends: asyncio.TaskGroup
    ) -> None:
        if not message.channel:
            return  # private messages to the bot are commands, not conversation
        # Cheap when nothing changed; STOP by SMS or the CLI take effect at once.
        await self._directory.refresh()
        text = strip_irc_formatting(message.text)
        users = [
            user
            for uid in self._directory.match(message.network, network.casemapping, text)
            if (user := self._directory.user(uid)) is not None
        ]
        if not users:
            return
        present = network.present(message.channel)
        named = {network.fold(w) for w in words(text)} & (
            present | {network.fold(u.nick) for u in users}
        )
        rules = self.rules(network)
        muted = await self._store.registrations.muted()
        owner = self._directory.owner(network.name, network.casemapping, message.sender)
        # The same SMS for everyone this line highlights: formatted once.
        body = format_highlight(message.channel, message.sender, _said(message), rules.max_segments)
        for user in users:
            line = Line(
                now=message.at,
                channel=network.fold(message.channel),
                sender=network.fold(message.sender),
                sender_is_user=owner == user.id
                or network.fold(message.sender) == network.fold(user.nick),
                sender_is_bot=network.fold(message.sender) == network.fold(network.own_nick),
                nicks_named=len(named),
                segments=segments(body),
            )
            person = person_of(user, muted.get(user.id, frozenset()))
            spend = await self._spend(user, message.at, rules)
            # Renamed users are followed: alice talking as alice_lunch is alice talking.
            nick_now = self._directory.current_nick(user, network.casemapping)
            spoke = network.spoke_ago(nick_now)
            presence = Presence(
                in_channel=network.fold(nick_now) in present,
                last_spoke=None if spoke is None else message.at - spoke,
            )
            decision = decide(line, person, presence, spend, rules)
            if decision.reason is Reason.ACTIVE:
                # Only now is /away worth a WHO: here and talking, unless away.
                away = await network.away(nick_now)
                if away:
                    presence = Presence(presence.in_channel, presence.last_spoke, away)
                    decision = decide(line, person, presence, spend, rules)
            log.debug("%s/%s: %s, named %d", user.network, user.nick, presence, len(named))
            await self._act(decision, user, message, body, rules, sends)

    async def _act(
        self,
        decision: Decision,
        user: User,
        message: IrcMessage,
        body: str,
        rules: Rules,
        sends: asyncio.TaskGroup,
    ) -> None:
        self._metrics.highlights.labels(user.network, decision.reason.value).inc()
        log.debug(
            "%s/%s highlighted by %s in %s: %s",
            user.network,
            user.nick,
            message.sender,
            message.channel,
            decision,
        )
        if decision.action == "send":
            self._reserve(user, message.at, segments(body))
            # Recorded now, in line order, so replies go to the latest mentioner.
            await self._store.users.set_last_highlight(
                Highlight(user.id, message.channel, message.sender, message.at)
            )
            sends.create_task(self._send(user, body, "highlight"))
        elif decision.action == "hold":
            until = decision.until if decision.until is not None else message.at + DIGEST_CHECK
            await self._store.held.add(
                user.id, message.channel, message.sender, _said(message), message.at, until
            )
            self._held_changed.set()
            await self._over_budget(decision, user, rules, sends)

    # Spending

    async def _spend(self, user: User, now: float, rules: Rules) -> Spend:
        known = await spend_of(self._store, user, now, rules)
        last = max(filter(None, (known.last_sms_at, self._last_sent.get(user.id))), default=None)
        return Spend(
            last_sms_at=last,
            user_segments_today=known.user_segments_today + self._reserved.get(user.id, 0),
            global_segments_today=known.global_segments_today + sum(self._reserved.values()),
        )

    def _reserve(self, user: User, now: float, cost: int) -> None:
        self._last_sent[user.id] = now
        self._reserved[user.id] = self._reserved.get(user.id, 0) + cost

    def _unreserve(self, user: User, cost: int) -> None:
        left = self._reserved.get(user.id, 0) - cost
        if left > 0:
            self._reserved[user.id] = left
        else:
            self._reserved.pop(user.id, None)

    async def _over_budget(
        self, decision: Decision, user: User, rules: Rules, sends: asyncio.TaskGroup
    ) -> None:
        """Say so once a day: to the admin in the log, and to the user by one SMS."""
        if decision.reason not in (Reason.USER_BUDGET, Reason.GLOBAL_BUDGET):
            return
        tz = rules.timezone
        if decision.reason is Reason.USER_BUDGET and user.timezone:
            tz = ZoneInfo(user.timezone)
        day = dt.datetime.fromtimestamp(time.time(), tz).date().isoformat()
        who = user.nick if decision.reason is Reason.USER_BUDGET else "everyone"
        if (who, day) not in self._warned:
            self._warned.add((who, day))
            log.warning(
                "daily SMS budget reached for %s on %s (%s): holding highlights for a digest",
                who,
                user.network,
                decision.detail,
            )
        if await self._store.sent.note_limit(user.id, day):
            budget = rules.user_daily_segments
            if decision.reason is Reason.GLOBAL_BUDGET:
                budget = rules.global_daily_segments
            sends.create_task(self._send(user, LIMIT_NOTICE.format(budget=budget), "limit"))

    # Digests

    async def _digests(self, sends: asyncio.TaskGroup) -> None:
        """Send held highlights, one SMS per user, when what held them has passed."""
        while True:
            self._held_changed.clear()
            holds = await self._store.held.until()
            now = time.time()
            due = [uid for uid, until in holds.items() if until <= now]
            for uid in due:
                await self._release(uid, now, sends)
            if due:
                continue
            wait = min((until - now for until in holds.values()), default=DIGEST_CHECK)
            try:
                await asyncio.wait_for(self._held_changed.wait(), timeout=min(wait, DIGEST_CHECK))
            except TimeoutError:
                pass

    async def _release(self, user_id: int, now: float, sends: asyncio.TaskGroup) -> None:
        user = self._directory.user(user_id)
        held = await self._store.held.of(user_id)
        network = self._networks.get(user.network) if user else None
        if user is None or network is None or not held:
            if held:  # the user or their network is gone from the configuration
                await self._store.held.release([h.id for h in held])
            return
        rules = self.rules(network)
        person = person_of(user)
        ids = [h.id for h in held]
        if person.opted_out or (person.paused_until is not None and now < person.paused_until):
            await self._store.held.release(ids)
            log.info(
                "%s/%s: %d held highlight(s) dropped (opted out or paused)",
                user.network,
                user.nick,
                len(held),
            )
            return
        body = digest_text(
            [Held(h.channel, h.sender, h.text, h.at) for h in held], rules.max_segments
        )
        decision = hold_or_send(
            now, segments(body), person, await self._spend(user, now, rules), rules
        )
        if decision.action != "send":
            until = decision.until if decision.until is not None else now + DIGEST_CHECK
            await self._store.held.postpone(user_id, until)
            log.debug("%s/%s: digest of %d waits: %s", user.network, user.nick, len(held), decision)
            await self._over_budget(decision, user, rules, sends)
            return
        latest = held[-1]
        await self._store.held.release(ids)
        self._reserve(user, now, segments(body))
        await self._store.users.set_last_highlight(
            Highlight(user.id, latest.channel, latest.sender, latest.at)
        )
        self._metrics.highlights.labels(user.network, "digest").inc()
        sends.create_task(self._send(user, body, f"digest of {len(held)}"))

    # Sending

    async def _send(self, user: User, body: str, kind: str) -> None:
        cost = segments(body)
        try:
            sent = await self._send_with_retry(user.phone, body)
        except SmsError as exc:
            if exc.code != OPTED_OUT_ERROR:
                raise
            # The carrier says this number answered STOP: honour it as our own STOP.
            await self._store.users.set_opted_out(user.phone, True)
            await self._directory.refresh()
            log.info(
                "%s opted out (Twilio error %d): no more SMS until START",
                mask_phone(user.phone),
                OPTED_OUT_ERROR,
            )
            sent = None
        finally:
            self._unreserve(user, cost)
        if sent is None:
            return
        self._metrics.sms_sent.labels("sent").inc()
        await self._store.sent.record(sent.sid, user.id, user.phone, sent.status, cost)
        log.info(
            "SMS %s (%s, %d segment(s)) to %s for %s on %s",
            sent.sid,
            kind,
            cost,
            mask_phone(user.phone),
            user.nick,
            user.network,
        )

    async def _send_with_retry(self, phone: str, body: str) -> SentSms | None:
        delay = 1.0
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                return await self._gateway.send(phone, body)
            except SmsError as exc:
                if exc.retryable and attempt < SEND_ATTEMPTS:
                    log.debug(
                        "SMS to %s failed (%s); retry in %.0f s", mask_phone(phone), exc, delay
                    )
                    await asyncio.sleep(delay)
                    delay *= 2
                    continue
                self._metrics.sms_sent.labels("failed").inc()
                if exc.code == OPTED_OUT_ERROR:
                    raise
                log.warning("SMS to %s failed: %s (code %s)", mask_phone(phone), exc, exc.code)
                return None
        return None

    async def bounce(self, phone: str, text: str) -> None:
        """Tell a registered user by SMS why their answer went nowhere (one segment)."""
        try:
            sent = await self._gateway.send(phone, text)
        except SmsError as exc:
            log.warning(
                "could not tell %s about an undeliverable reply: %s", mask_phone(phone), exc
            )
            return
        await self._store.sent.record(sent.sid, None, phone, sent.status, segments(text))
