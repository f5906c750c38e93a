"""From an IRC line to SMS: who is highlighted, whether to text them now, and the sending."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping

from highlightd.directory import Directory
from highlightd.irc import IrcMessage, Network
from highlightd.metrics import Metrics
from highlightd.sms import SmsError, SmsGateway, mask_phone
from highlightd.smstext import format_highlight, strip_irc_formatting
from highlightd.store import Highlight, Store, User

log = logging.getLogger(__name__)

SEND_ATTEMPTS = 5


class Notifier:
    """Consumes IRC lines in wire order; each SMS is sent in a task of its own."""

    def __init__(
        self,
        store: Store,
        directory: Directory,
        gateway: SmsGateway,
        networks: Mapping[str, Network],
        metrics: Metrics,
        cooldown: float,
    ) -> None:
        self._store = store
        self._directory = directory
        self._gateway = gateway
        self._networks = networks
        self._metrics = metrics
        self._cooldown = cooldown
        self._lines: asyncio.Queue[IrcMessage] = asyncio.Queue()
        self._last_sent: dict[int, float] = {}

    def submit(self, message: IrcMessage) -> None:
        """Called by the IRC side for every line, in the order the server sent them."""
        self._lines.put_nowait(message)

    async def run(self) -> None:
        async with asyncio.TaskGroup() as sends:
            while True:
                message = await self._lines.get()
                for user in await self._highlighted(message):
                    if await self._cooling_down(user, message.at):
                        self._metrics.highlights.labels(message.network, "cooldown").inc()
                        log.debug("%s/%s: in cooldown, no SMS", message.network, user.nick)
                        continue
                    self._metrics.highlights.labels(message.network, "sent").inc()
                    self._last_sent[user.id] = message.at
                    # Recorded now, in line order, so replies go to the latest mentioner.
                    await self._store.set_last_highlight(
                        Highlight(user.id, message.channel, message.sender, message.at)
                    )
                    sends.create_task(self._send(user, message))

    async def _highlighted(self, message: IrcMessage) -> list[User]:
        if not message.channel:
            return []  # private messages to the bot are commands, not conversation
        network = self._networks.get(message.network)
        if network is None:
            return []
        if network.fold(message.sender) == network.fold(network.own_nick):
            return []
        users = []
        sender = network.fold(message.sender)
        # Colour codes would glue onto the nick ("\x0304al" reads as the word "04al").
        text = strip_irc_formatting(message.text)
        for user_id in self._directory.match(message.network, network.casemapping, text):
            user = self._directory.user(user_id)
            # Never for the user's own lines.
            if user is not None and network.fold(user.nick) != sender:
                users.append(user)
        return users

    async def _cooling_down(self, user: User, now: float) -> bool:
        last = self._last_sent.get(user.id)
        if last is None:
            last = await self._store.last_sent_at(user.id)
            if last is not None:
                self._last_sent[user.id] = last
        return last is not None and now - last < self._cooldown

    async def _send(self, user: User, message: IrcMessage) -> None:
        text = f"* {message.sender} {message.text}" if message.action else message.text
        body = format_highlight(message.channel, message.sender, text)
        delay = 1.0
        for attempt in range(1, SEND_ATTEMPTS + 1):
            try:
                sent = await self._gateway.send(user.phone, body)
            except SmsError as exc:
                if exc.retryable and attempt < SEND_ATTEMPTS:
                    log.debug(
                        "SMS to %s failed (%s); retry in %.0f s", mask_phone(user.phone), exc, delay
                    )
                    await asyncio.sleep(delay)
                    delay *= 2
                    continue
                self._metrics.sms_sent.labels("failed").inc()
                log.warning(
                    "SMS to %s for %s on %s failed: %s (code %s)",
                    mask_phone(user.phone),
                    user.nick,
                    user.network,
                    exc,
                    exc.code,
                )
                return
            break
        self._metrics.sms_sent.labels("sent").inc()
        await self._store.record_sent(sent.sid, user.id, user.phone, sent.status)
        log.info(
            "SMS %s to %s for %s on %s (%s by %s, %.1f s after the line)",
            sent.sid,
            mask_phone(user.phone),
            user.nick,
            user.network,
            message.channel,
            message.sender,
            time.time() - message.at,
        )

    async def bounce(self, phone: str, text: str) -> None:
        """Tell a registered user by SMS why their answer went nowhere (one segment)."""
        try:
            sent = await self._gateway.send(phone, text)
        except SmsError as exc:
            log.warning(
                "could not tell %s about an undeliverable reply: %s", mask_phone(phone), exc
            )
            return
        await self._store.record_sent(sent.sid, None, phone, sent.status)
