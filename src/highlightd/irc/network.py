"""IRC: one supervised pydle connection per network, with a rate-limited send queue.

pydle 1.2.0 is used for parsing, registration, CAP/SASL and state, but not for
staying connected: its reconnect gives up after one failed retry, a TCP reset
leaves a zombie client, and a silently dead link goes unnoticed for ten
minutes. `Network.run` supervises instead; see docs/library-notes.md.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from highlightd.config import NetworkSettings
from highlightd.core.events import IrcEvent, IrcMessage
from highlightd.core.ircnames import DEFAULT_CHANTYPES, is_channel
from highlightd.core.matcher import irc_lower
from highlightd.core.ratelimit import TokenBucket
from highlightd.core.wire import clean, split_utf8
from highlightd.infra.retry import Backoff
from highlightd.irc.client import PydleClient

log = logging.getLogger(__name__)

REGISTRATION_TIMEOUT = 60.0
QUIT_MESSAGE = "highlightd shutting down"
WHO_TIMEOUT = 5.0


@dataclass(slots=True)
class _Outgoing:
    command: str
    params: tuple[str, ...]
    done: asyncio.Future[None] = field(repr=False)


class FatalNetworkError(Exception):
    """The server refuses us in a way retrying cannot fix (an erroneous nick)."""


class Network:
    """One IRC network: connection supervisor, outgoing queue, and what it knows."""

    def __init__(self, settings: NetworkSettings, on_event: Callable[[IrcEvent], None]) -> None:
        self.settings = settings
        self.name = settings.name
        self.casemapping = "rfc1459"
        self.chantypes = DEFAULT_CHANTYPES
        self._on_event = on_event
        self._client: PydleClient | None = None
        self._queue: collections.deque[_Outgoing] = collections.deque()
        self._queued = asyncio.Event()
        self._ready = asyncio.Event()
        self._bucket = TokenBucket(settings.send_burst, settings.send_rate)
        self._backoff = Backoff(f"irc network {self.name} ({settings.host}:{settings.port})", log)
        self.state_changed = asyncio.Event()
        self._stopping = False
        self._last_spoke: dict[str, float] = {}
        self._who_waiters: dict[str, asyncio.Future[bool | None]] = {}

    # What the rest of the daemon asks

    @property
    def connected(self) -> bool:
        return self._ready.is_set()

    @property
    def own_nick(self) -> str:
        return self._client.own_nick if self._client else self.settings.nick

    @property
    def settled(self) -> bool:
        """Connected, and who is in each wanted channel is known: an answer can be routed."""
        client = self._client
        return self.connected and client is not None and client.settled_event.is_set()

    async def until_settled(self) -> None:
        """Wait until `settled` (across reconnections)."""
        while not self.settled:
            await self._ready.wait()
            client = self._client
            if client is None:
                continue
            settled = asyncio.ensure_future(client.settled_event.wait())
            closed = asyncio.ensure_future(client.closed_event.wait())
            try:
                done, _ = await asyncio.wait({settled, closed}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                settled.cancel()
                closed.cancel()
            if closed in done:
                await asyncio.sleep(0.05)  # until the supervisor marks the drop; do not spin

    def fold(self, name: str) -> str:
        return irc_lower(name, self.casemapping)

    def set_casemapping(self, casemapping: str) -> None:
        """The server's CASEMAPPING (ISUPPORT), which only arrives once we are connected."""
        self.casemapping = casemapping

    def set_chantypes(self, chantypes: str) -> None:
        """The server's channel prefixes (ISUPPORT CHANTYPES), when it announces them."""
        self.chantypes = chantypes

    def is_channel(self, target: str) -> bool:
        return is_channel(target, self.chantypes)

    def visible(self, nick: str) -> bool:
        """Whether nick is in a channel with us now."""
        client = self._client
        if client is None or not self.connected:
            return False
        key = self.fold(nick)
        return any(
            self.fold(user) == key for chan in client.channels.values() for user in chan["users"]
        )

    # Presence, for the notification policy

    def present(self, channel: str) -> set[str]:
        """The folded nicks in a channel with us."""
        client = self._client
        if client is None or not self.connected:
            return set()
        key = self.fold(channel)
        return {
            self.fold(user)
            for name, chan in client.channels.items()
            if self.fold(name) == key
            for user in chan["users"]
        }

    def spoke_ago(self, nick: str) -> float | None:
        """Seconds since nick last said something where we could hear it."""
        at = self._last_spoke.get(self.fold(nick))
        return None if at is None else time.monotonic() - at

    async def away(self, nick: str) -> bool | None:
        """Whether nick is /away, asked with WHO; None when the server does not say."""
        if not self.connected:
            return None
        key = self.fold(nick)
        # Asked afresh each time: it is asked only when a highlight would be dropped,
        # and a stale "here" would drop the first highlight after someone left.
        waiter = self._who_waiters.get(key)
        if waiter is None:
            waiter = asyncio.get_running_loop().create_future()
            self._who_waiters[key] = waiter
            self._enqueue("WHO", (nick,))
        try:
            async with asyncio.timeout(WHO_TIMEOUT):
                return await asyncio.shield(waiter)
        except TimeoutError:
            self._who_waiters.pop(key, None)
            return None

    def who_reply(self, nick: str, flags: str) -> None:
        """A WHO line (352): H is here, G is gone (away)."""
        key = self.fold(nick)
        away = flags.startswith("G")
        waiter = self._who_waiters.pop(key, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(away)

    def who_end(self, mask: str) -> None:
        """End of WHO (315): a nick without a 352 is not there to be asked."""
        waiter = self._who_waiters.pop(self.fold(mask), None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _enqueue(self, command: str, params: tuple[str, ...]) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append(_Outgoing(command, params, fut))
        self._queued.set()
        return fut

    def send(self, target: str, text: str, command: str = "PRIVMSG") -> asyncio.Future[None]:
        """Queue text for target; the future resolves once every line is on the wire.

        Text from outside is cleaned of CR, LF and NUL and split to fit a line.
        While disconnected, lines wait in the queue.
        """
        target = clean(target).split(" ")[0]
        futures = [self._enqueue(command, (target, chunk)) for chunk in split_utf8(clean(text))]
        return asyncio.ensure_future(_all(futures))

    def received(
        self,
        sender: str,
        target: str,
        text: str,
        account: str | None = None,
        host: str | None = None,
    ) -> None:
        """Called for every PRIVMSG in wire order; hands ours to the daemon."""
        client = self._client
        own = client.own_nick if client else ""
        if own and self.fold(sender) == self.fold(own):
            return  # our own line echoed back (echo-message)
        self._last_spoke[self.fold(sender)] = time.monotonic()
        action = False
        if text.startswith("\x01"):
            body = text.strip("\x01")
            if not body.upper().startswith("ACTION "):
                return  # other CTCP requests are not conversation
            text, action = body[7:], True
        channel = target if self.is_channel(target) else ""
        if account is None:
            account = self.account_of(sender)
        self._on_event(
            IrcMessage(self.name, channel, sender, text, time.time(), action, account, host)
        )

    def emit(self, event: IrcEvent) -> None:
        """Hand a NICK or QUIT to the daemon, in wire order with the messages."""
        self._on_event(event)

    def account_of(self, nick: str) -> str | None:
        """What pydle learnt of nick's services account (see IrcMessage.account)."""
        client = self._client
        if client is None:
            return None
        caps = getattr(client, "_capabilities", {})
        told = caps.get("account-notify") or caps.get("extended-join")
        if not told and "WHOX" not in getattr(client, "_isupport", {}):
            return None
        info = client.users.get(nick) or {}
        return str(info.get("account") or "")

    # Running

    async def run(self) -> None:
        """Stay connected until quit(); send queued lines whenever connected."""
        async with asyncio.TaskGroup() as group:
            writer = group.create_task(self._writer())
            await self._supervise()
            writer.cancel()

    async def _supervise(self) -> None:
        while not self._stopping:
            client = self._make_client()
            self._client = client
            try:
                await self._connect(client)
            except FatalNetworkError as exc:
                log.error("%s: %s; not reconnecting (fix networks.nick)", self.name, exc)
                return
            except (OSError, TimeoutError) as exc:
                await self._drop(client)
                await self._backoff.wait(exc)
                continue
            self._backoff.succeeded()
            log.info(
                "%s: connected as %s, joining %s",
                self.name,
                client.own_nick,
                ", ".join(self.settings.channels) or "no channels",
            )
            self._set_ready(True)
            await client.closed_event.wait()
            self._set_ready(False)
            if self._stopping:
                return
            await self._drop(client)
            await self._backoff.wait("disconnected")

    async def _connect(self, client: PydleClient) -> None:
        s = self.settings
        await client.connect(s.host, s.port, tls=s.tls, tls_verify=s.tls_verify)
        registered = asyncio.ensure_future(client.registered_event.wait())
        closed = asyncio.ensure_future(client.closed_event.wait())
        try:
            done, _ = await asyncio.wait(
                {registered, closed},
                timeout=REGISTRATION_TIMEOUT,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            registered.cancel()
            closed.cancel()
        if client.fatal:
            raise FatalNetworkError(client.fatal)
        if not client.registered_event.is_set():
            raise TimeoutError(
                "registration did not complete" if not done else "closed while registering"
            )

    def _make_client(self) -> PydleClient:
        s = self.settings
        kwargs: dict[str, Any] = {
            "nickname": s.nick,
            "fallback_nicknames": [s.nick + "_", s.nick + "__"],
            "username": "highlightd",
            "realname": "highlightd (SMS highlights)",
        }
        if s.sasl_username and s.sasl_password:
            kwargs.update(
                sasl_username=s.sasl_username,
                sasl_password=s.sasl_password.get_secret_value(),
                sasl_mechanism="PLAIN",
            )
        return PydleClient(self, channels=s.channels, ping_interval=s.ping_interval, **kwargs)

    async def _drop(self, client: PydleClient) -> None:
        try:
            await client.disconnect(expected=True)
        except (OSError, AttributeError):
            pass

    def _set_ready(self, ready: bool) -> None:
        if ready:
            self._ready.set()
        else:
            self._ready.clear()
        self.state_changed.set()

    async def _writer(self) -> None:
        while True:
            while not self._queue:
                self._queued.clear()
                await self._queued.wait()
            item = self._queue[0]
            if item.done.cancelled():
                self._queue.popleft()
                continue
            await self._ready.wait()
            if wait := self._bucket.delay():
                await asyncio.sleep(wait)
                continue
            client = self._client
            if client is None or not client.connected or client.connection.writer.is_closing():
                await asyncio.sleep(0.1)
                continue
            try:
                await client.rawmsg(item.command, *item.params)
            except (OSError, AttributeError, TimeoutError) as exc:
                # The line may not have left: keep it at the head for the next connection.
                log.debug("%s: send failed (%s); will retry after reconnect", self.name, exc)
                await asyncio.sleep(0.1)
                continue
            self._bucket.take()
            self._queue.popleft()
            if not item.done.done():
                item.done.set_result(None)

    async def quit(self, message: str = QUIT_MESSAGE) -> None:
        """Say goodbye to the server and stop reconnecting."""
        self._stopping = True
        client = self._client
        if client is not None and client.connected:
            try:
                await client.quit(message)
            except (OSError, AttributeError, TimeoutError):
                pass


async def _all(futures: list[asyncio.Future[None]]) -> None:
    await asyncio.gather(*futures)
