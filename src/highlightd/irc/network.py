"""IRC: one supervised pydle connection per network, its send queue and its channels.

pydle 1.2.0 is used for parsing, registration, CAP/SASL and state, but not for
staying connected: its reconnect gives up after one failed retry, a TCP reset
leaves a zombie client, and a silently dead link goes unnoticed for ten
minutes. `Network.run` supervises instead (irc.supervisor); see docs/library-notes.md.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from highlightd.config import NetworkSettings
from highlightd.core.events import IrcEvent, IrcMessage, NickChange, Quit
from highlightd.core.facts import Seen
from highlightd.core.ircnames import DEFAULT_CHANTYPES, is_channel
from highlightd.core.matcher import irc_lower
from highlightd.core.ratelimit import TokenBucket
from highlightd.core.wire import clean, split_utf8
from highlightd.irc.channels import Channels
from highlightd.irc.ctcp import CtcpDesk
from highlightd.irc.delivery import DeliveryRefused, retrieved
from highlightd.irc.lanes import Priority, priority_of
from highlightd.irc.presence import Presence
from highlightd.irc.sendqueue import SendQueue
from highlightd.irc.supervisor import Supervisor

QUIT_MESSAGE = "highlightd shutting down"


class Network:
    """One IRC network: connection supervisor, outgoing queue, and what it knows."""

    def __init__(
        self, settings: NetworkSettings, on_event: Callable[[IrcEvent], None], index: int = 0
    ) -> None:
        """index: the network's place in the config's [[networks]], for error messages."""
        self.settings = settings
        self.name = settings.name
        self.casemapping = "rfc1459"
        self.chantypes = DEFAULT_CHANTYPES
        self._on_event = on_event
        self._ready = asyncio.Event()
        bucket = TokenBucket(settings.send_burst, settings.send_rate)
        self._queue = SendQueue(self.name, bucket, self.fold)
        self._channels = Channels(self.name, settings.channels, self.fold)
        self.state_changed = asyncio.Event()
        # Per-nick memory is bounded (irc/bounded.py, irc/sightings.py): nick churn
        # must not grow it.
        self._presence = Presence(
            self.fold, lambda nick: self._queue.put("WHO", [(nick,)], Priority.PROTOCOL)
        )
        self._sightings = self._presence.sightings
        self._ctcp = CtcpDesk()
        self._link = Supervisor(self, settings, self._queue, self._channels, self._set_ready, index)

    # What the rest of the daemon asks

    @property
    def connected(self) -> bool:
        return self._ready.is_set()

    @property
    def state(self) -> str:
        """For /healthz: connected, disconnected, sasl_failed or nick_refused."""
        return "connected" if self.connected else (self._link.problem or "disconnected")

    @property
    def own_nick(self) -> str:
        client = self._link.client
        return client.own_nick if client else self.settings.nick

    @property
    def settled(self) -> bool:
        """Connected, and who is in each wanted channel is known: an answer can be routed."""
        client = self._link.client
        return self.connected and client is not None and client.settled_event.is_set()

    async def until_settled(self) -> None:
        """Wait until `settled` (across reconnections)."""
        while not self.settled:
            await self._ready.wait()
            client = self._link.client
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
        client = self._link.client
        if client is None or not self.connected:
            return False
        key = self.fold(nick)
        return any(
            self.fold(user) == key for chan in client.channels.values() for user in chan["users"]
        )

    # Presence, for the notification policy

    def present(self, channel: str) -> set[str]:
        """The folded nicks in a channel with us."""
        client = self._link.client
        if client is None or not self.connected:
            return set()
        key = self.fold(channel)
        return {
            self.fold(user)
            for name, chan in client.channels.items()
            if self.fold(name) == key
            for user in chan["users"]
        }

    def joined(self, channel: str) -> bool:
        """Whether we are in channel now (the server said so), for routing."""
        return self.connected and self._channels.joined(channel)

    def seen(self, nick: str) -> Seen:
        """What we saw of whoever holds nick: when it spoke, and the accounts involved."""
        return self._presence.seen(nick, self.account_of(nick))

    async def away(self, nick: str) -> bool | None:
        """Whether nick is /away; None when the server does not say (irc/presence.py)."""
        client = self._link.client
        if not self.connected or client is None:
            return None
        return await self._presence.away(nick, client.tells_away)

    def away_changed(self, nick: str, away: bool) -> None:
        """AWAY (away-notify), a JOIN with away-notify (here unless an AWAY follows), a WHOX."""
        self._sightings.set_away(nick, away)

    def who_reply(self, nick: str, flags: str) -> None:
        self._presence.who_reply(nick, flags)

    def whox(self, channel: str, query: str) -> None:
        """Ask for a channel's members with WHOX, through the send queue (one line)."""
        self._queue.put("WHO", [(channel, query)], Priority.PROTOCOL)

    def who_end(self, mask: str) -> None:
        self._presence.who_end(mask)

    def send(
        self,
        target: str,
        text: str,
        command: str = "PRIVMSG",
        priority: Priority = Priority.ANSWER,
    ) -> asyncio.Future[None]:
        """Queue text for target; the future resolves once the server confirmed every line.

        Text from outside is cleaned of CR, LF and NUL and split to fit a line.
        While disconnected, lines wait in the queue; lines a dropped link did not
        confirm are sent again. A refusal fails the future with DeliveryRefused.
        SMS answers go first (the default); command answers pass Priority.COMMAND.
        """
        target = clean(target).split(" ")[0]
        if target and not target.startswith(":"):
            lines = [(target, c) for c in split_utf8(clean(text))]
            done = self._queue.put(command, lines, priority)
        else:
            done = asyncio.get_running_loop().create_future()
            done.set_exception(DeliveryRefused(target, "411", "No recipient given"))
        done.add_done_callback(retrieved)  # a caller may not wait (NOTICE answers)
        return done

    def received(
        self,
        sender: str,
        target: str,
        text: str,
        account: str | None = None,
        host: str | None = None,
    ) -> None:
        """Called for every PRIVMSG in wire order; hands ours to the daemon."""
        client = self._link.client
        own = client.own_nick if client else ""
        if own and self.fold(sender) == self.fold(own):
            return  # our own line echoed back (echo-message)
        if account is None:
            account = self.account_of(sender)
        self._sightings.spoke(sender, account)
        action = False
        if text.startswith("\x01"):
            body = text.strip("\x01")
            if not body.upper().startswith("ACTION "):
                return  # other CTCP requests are not conversation
            text, action = body[7:], True
        channel = target if self.is_channel(target) else ""
        self._on_event(
            IrcMessage(self.name, channel, sender, text, time.time(), action, account, host)
        )

    def emit(self, event: IrcEvent) -> None:
        """Hand a NICK or QUIT to the daemon, in wire order with the messages."""
        if isinstance(event, NickChange):
            self._sightings.renamed(event.old, event.new)
        elif isinstance(event, Quit):
            self._sightings.quit(event.nick)
        self._on_event(event)

    def account_of(self, nick: str) -> str | None:
        """What pydle learnt of nick's services account (see IrcMessage.account)."""
        client = self._link.client
        return client.account_of(nick) if client else None

    def remembered(self) -> dict[str, int]:
        """How many nicks each per-nick table holds now (each is bounded)."""
        client = self._link.client
        return {
            "last_spoke": len(self._sightings),
            "ctcp": len(self._ctcp),
            "users": len(client.users) if client else 0,
        }

    @property
    def backlog(self) -> int:
        """Lines waiting in the send queue."""
        return self._queue.backlog

    # What the client writes and is asked (LinkOwner)

    def queue_line(
        self, link: object, command: str, params: tuple[str, ...]
    ) -> asyncio.Future[None]:
        """A line of the client's own (pydle's): written only on that connection."""
        done = self._queue.put(command, [params], priority_of(command), link=link)
        done.add_done_callback(retrieved)
        return done

    def ctcp(self, sender: str, query: str, contents: str | None) -> str | None:
        """The answer to a CTCP query, if it gets one (irc/ctcp.py)."""
        return self._ctcp.answer(self.fold(sender), query, contents)

    # What the client saw on the wire, in order (LinkOwner)

    def pong(self, token: str) -> None:
        self._queue.pong(token)

    def echoed(self, command: str, target: str, text: str) -> None:
        self._queue.echoed(command, target, text)

    def numeric_error(self, numeric: str, subject: str, reason: str) -> None:
        """A 4xx/5xx reply about subject: a refused line, or a channel we cannot join."""
        self._queue.refused(numeric, subject, reason)
        self._channels.refused(numeric, subject, reason)

    def entered(self, channel: str) -> None:
        self._channels.entered(channel)

    def left(self, channel: str, kicked_by: str | None, reason: str) -> None:
        self._channels.left(channel, kicked_by, reason)

    # Running

    async def run(self) -> None:
        """Stay connected until quit(); send queued lines whenever connected."""
        async with asyncio.TaskGroup() as group:
            writer = group.create_task(self._queue.run())
            try:
                await self._link.run()
            finally:
                self._channels.detach()
                self._queue.close()
                writer.cancel()

    def _set_ready(self, ready: bool) -> None:
        self._ready.set() if ready else self._ready.clear()
        if not ready:
            self._sightings.disconnected()
        self.state_changed.set()

    async def quit(self, message: str = QUIT_MESSAGE) -> None:
        """Say goodbye to the server and stop reconnecting."""
        await self._link.quit(message)
