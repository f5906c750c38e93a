"""pydle's client, with the fixes that Network's supervision relies on.

The client tells its owner what happened through the `LinkOwner` protocol and
knows nothing else of it; why each override exists is in docs/library-notes.md.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from pydle.features.ircv3.tags import TaggedMessage
from pydle.features.whox import WHOXSupport

from highlightd.config import NetworkSettings
from highlightd.core.events import NickChange, Quit
from highlightd.irc.linebuffer import LineBuffer, LineOverflow
from highlightd.irc.linkowner import WHOX_FIELDS, WHOX_TOKEN, LinkOwner, WireOrder
from highlightd.irc.queuedclient import QueuedClient
from highlightd.irc.settling import Settling

log = logging.getLogger("highlightd.irc.network")

PONG_TIMEOUT = 30.0
# Why a JOIN did not happen: no such channel, too many, full, invite-only, banned, keyed...
JOIN_REFUSED = frozenset({"403", "405", "471", "473", "474", "475", "476", "477"})
READ_SIZE = 65536


class PydleClient(QueuedClient):
    """pydle's client with the fixes our supervisor relies on."""

    RECONNECT_ON_ERROR = False

    def __init__(
        self,
        owner: LinkOwner,
        *,
        channels: Sequence[str],
        ping_interval: float,
        **kwargs: Any,
    ) -> None:
        super().__init__(owner, **kwargs)
        self._channels = tuple(channels)
        self._ping_interval = ping_interval
        self._wanted_nick = str(kwargs.get("nickname", ""))
        self._wire = WireOrder(owner)
        self.registered_event = asyncio.Event()
        self.closed_event = asyncio.Event()
        self._settling = Settling(self._channels, owner.fold)
        self._handlers: set[asyncio.Task[None]] = set()

    @classmethod
    def for_network(cls, owner: LinkOwner, s: NetworkSettings) -> PydleClient:
        kwargs: dict[str, Any] = {
            "nickname": s.nick,
            "fallback_nicknames": [s.nick + "_", s.nick + "__"],
            "username": "highlightd",
            "realname": "highlightd (SMS highlights)",
            "login": s,
            **cls.login_kwargs(s),
        }
        return cls(owner, channels=s.channels, ping_interval=s.ping_interval, **kwargs)

    @property
    def own_nick(self) -> str:
        """Our nick as the server has it, followed in wire order ("" until 001)."""
        return self._wire.own_nick

    @property
    def settled_event(self) -> asyncio.Event:
        """Set once who is in each wanted channel is known (or its JOIN was refused)."""
        return self._settling.event

    # The link the send queue writes to (irc.sendqueue.Link)

    @property
    def echo(self) -> bool:
        return bool(self._capabilities.get("echo-message"))

    def usable(self) -> bool:
        return bool(self.connected and not self.connection.writer.is_closing())

    @property
    def tells_away(self) -> bool:
        """Whether the server tells every /away change (away-notify)."""
        return bool(getattr(self, "_capabilities", {}).get("away-notify"))

    def account_of(self, nick: str) -> str | None:
        """What pydle learnt of nick's services account (see IrcMessage.account)."""
        caps = getattr(self, "_capabilities", {})
        told = caps.get("account-notify") or caps.get("extended-join")
        if not told and "WHOX" not in getattr(self, "_isupport", {}):
            return None
        info = self.users.get(nick) or {}
        return str(info.get("account") or "")

    # Reading

    async def handle_forever(self) -> None:
        # pydle's loop dies on a reset without telling anyone, waits 600 s on a dead
        # link, and dies on a line it cannot parse or one past 64 KiB: read and cut
        # lines ourselves, and PING when the server goes quiet.
        lines = LineBuffer()
        ping_sent = False
        while self.connected:
            timeout = min(PONG_TIMEOUT, self._ping_interval) if ping_sent else self._ping_interval
            try:
                data = await asyncio.wait_for(self.connection.reader.read(READ_SIZE), timeout)
            except TimeoutError:
                if ping_sent:
                    log.warning("%s: no answer to PING in %.0f s", self._network.name, timeout)
                    data = b""
                else:
                    ping_sent = True
                    try:
                        await self.rawmsg("PING", "highlightd")
                    except (OSError, TimeoutError):
                        data = b""
                    else:
                        continue
            except (OSError, AttributeError) as exc:
                log.warning("%s: connection lost: %s", self._network.name, exc)
                data = b""
            if data:
                ping_sent = False
                try:
                    for line in lines.feed(data):
                        if self._dispatch(line):
                            # pydle's handler tasks race each other: give them the
                            # loop turns its own readline loop gave between lines.
                            await asyncio.sleep(0)
                            await asyncio.sleep(0)
                    continue
                except LineOverflow as exc:
                    log.warning("%s: not IRC (%s); reconnecting", self._network.name, exc)
            if self.connected:
                await self.disconnect(expected=False)
            break
        self.closed_event.set()

    def _dispatch(self, line: bytes) -> bool:
        """Handle one line; whether it went to a pydle handler task."""
        try:
            message = TaggedMessage.parse(line, encoding=self.encoding)
            command = message.command
            if isinstance(command, int):
                command = str(command).zfill(3)
        except Exception as exc:  # the parser raises ValueError, IndexError, ProtocolViolation
            log.debug("%s: skipped an unparsable line %r: %s", self._network.name, line[:200], exc)
            return False
        try:
            nick, meta = self._parse_user(message.source)
            if command == "PRIVMSG" and self._chatter(message, nick, meta):
                return False
            self._wire.observe(str(command).upper(), nick, message)
            if command == "PONG":
                return False  # all of it is in observe (pydle's handler only logs it)
        except Exception:
            log.exception("%s: failed to handle %r", self._network.name, line[:200])
        # pydle handles each line in a task of its own, as its own on_data does.
        task = asyncio.create_task(self.on_raw(message))
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)
        return True

    def _chatter(self, message: Any, nick: str, meta: dict[str, str]) -> bool:
        """A channel line from someone else, handled without pydle's task and handlers
        (most lines, and they cost more than our work on them), keeping what they
        kept: user, host, tagged account. False leaves the line to pydle."""
        params = message.params
        if len(params) != 2 or not self.is_channel(params[0]) or params[1].startswith("\x01"):
            return False  # commands, CTCP, and anything odd
        if not nick or self._wire.is_us(nick):
            return False  # our own, echoed: the wire order's business
        if self.sasl_failed or self.fatal:
            return True  # dropped, as LoginClient.on_raw drops them
        known = self.users.get(nick)
        tags = message.tags
        if known is not None:
            known.update(meta)
            if "account" in tags:
                known.update(identified=True, account=tags["account"])
        self._heard(nick, meta, params[0], params[1], tags)
        return True

    async def on_raw_error(self, message: Any) -> None:
        # The server's ERROR closes the link (it is also its answer to our QUIT);
        # pydle logs it as a socket error with a traceback. It is news, not a bug.
        reason = " ".join(str(p) for p in message.params)
        log.info("%s: the server closed the link: %s", self._network.name, reason)
        await self.disconnect(expected=False)

    async def on_unknown(self, message: Any) -> None:
        if message.command in JOIN_REFUSED and len(message.params) >= 2:
            self._settling.known(message.params[1])
        # pydle warns about every numeric it has no handler for (379, 671, ...).
        log.debug("%s: unhandled %s %s", self._network.name, message.command, message.params)

    async def on_disconnect(self, expected: bool) -> None:
        self._settling.stop()
        self.closed_event.set()

    async def on_raw_001(self, message: Any) -> None:
        # self.nickname is "<unregistered>" until pydle renames it at 001; 001 says who we are.
        self._wire.own_nick = message.params[0]
        await super().on_raw_001(message)

    async def on_isupport_casemapping(self, value: str) -> None:
        await super().on_isupport_casemapping(value)
        self._network.set_casemapping(value)

    async def on_isupport_chantypes(self, value: str | None) -> None:
        # pydle passes None for a bare "CHANTYPES": like "CHANTYPES=", no channels at all.
        await super().on_isupport_chantypes(value)
        self._network.set_chantypes(value or "")

    async def on_connect(self) -> None:
        await super().on_connect()
        for channel in self._channels:
            await self.join(channel)
        self._settling.start()
        self.registered_event.set()

    # Membership: settled once pydle has handled every JOIN and NAMES line (see Settling).

    async def on_raw_join(self, message: Any) -> None:
        with self._settling.handling():
            # pydle's WHOXSupport writes its own WHO past our send queue and without
            # the away flag: skip it, and ask ours through the queue.
            await super(WHOXSupport, self).on_raw_join(message)
        nick, _meta = self._parse_user(message.source)
        if message.params and self._wire.is_us(nick) and self._isupport.get("WHOX"):
            for channel in str(message.params[0]).split(","):
                self._network.whox(channel, f"{WHOX_FIELDS},{WHOX_TOKEN}")

    async def on_raw_354(self, message: Any) -> None:
        params = [str(p) for p in message.params]
        if len(params) < 8 or params[1] != WHOX_TOKEN:
            await super().on_raw_354(message)
            return
        nick, account = params[5], params[7]
        if nick in self.users:
            known = account != "0"  # WHOX's "no account"
            await self._sync_user(
                nick, {"account": account if known else None, "identified": known}
            )

    async def on_raw_353(self, message: Any) -> None:
        with self._settling.handling():
            await super().on_raw_353(message)

    async def on_raw_366(self, message: Any) -> None:
        if len(message.params) >= 2:
            self._settling.known(message.params[1])

    async def on_raw_432(self, message: Any) -> None:
        if not self.registered_event.is_set():
            reason = message.params[-1] if message.params else "erroneous nickname"
            self.fatal = f"the server refuses nick {self._wanted_nick!r}: {reason}"
            await self.disconnect(expected=True)

    async def on_raw_352(self, message: Any) -> None:
        if len(message.params) >= 7:
            self._network.who_reply(message.params[5], message.params[6])

    async def on_raw_315(self, message: Any) -> None:
        if len(message.params) >= 2:
            self._network.who_end(message.params[1])
        await super().on_raw_315(message)

    async def on_raw_nick(self, message: Any) -> None:
        # Our own renames were followed by WireOrder, in wire order; others go to the daemon.
        nick, _meta = self._parse_user(message.source)
        if message.params and self.own_nick and not getattr(message, "renamed_us", False):
            account = self.account_of(nick)  # before pydle's rename forgets it
            self._network.emit(NickChange(self._network.name, nick, message.params[0], account))
        await super().on_raw_nick(message)

    async def on_raw_privmsg(self, message: Any) -> None:
        # Captured before pydle's handler awaits anything: lines are handled as
        # separate tasks, and "who mentioned me last" depends on their order.
        if len(message.params) >= 2:
            nick, meta = self._parse_user(message.source)
            tags = getattr(message, "tags", None) or {}
            self._heard(nick, meta, message.params[0], message.params[1], tags)
        await super().on_raw_privmsg(message)

    def _heard(self, nick: str, meta: dict[str, str], target: str, text: str, tags: Any) -> None:
        account = tags.get("account") if isinstance(tags, dict) else None
        if account is None and self._capabilities.get("account-tag"):
            account = ""  # account-tag on: a line without the tag is from the logged out
        self._network.received(nick, target, text, account, meta.get("hostname"))

    async def on_raw_quit(self, message: Any) -> None:
        nick, _meta = self._parse_user(message.source)
        self._network.emit(Quit(self._network.name, nick))
        await super().on_raw_quit(message)
