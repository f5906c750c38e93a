"""pydle's client, with the fixes that Network's supervision relies on.

The client tells its owner what happened through the `LinkOwner` protocol and
knows nothing else of it; why each override exists is in docs/library-notes.md.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any, Protocol

import pydle
from pydle.features.ircv3.tags import TaggedMessage

from highlightd import __version__
from highlightd.config import NetworkSettings
from highlightd.core.events import IrcEvent, NickChange, Quit
from highlightd.irc.linebuffer import LineBuffer, LineOverflow

log = logging.getLogger("highlightd.irc.network")

PONG_TIMEOUT = 30.0
# A server that never ends NAMES for a channel: go on with what is known after this.
SETTLE_TIMEOUT = 10.0
# Why a JOIN did not happen: no such channel, too many, full, invite-only, banned, keyed...
JOIN_REFUSED = frozenset({"403", "405", "471", "473", "474", "475", "476", "477"})
READ_SIZE = 65536


class LinkOwner(Protocol):
    """What a client reports to the connection that owns it (irc.network.Network)."""

    @property
    def name(self) -> str: ...

    def fold(self, name: str) -> str: ...

    def set_casemapping(self, casemapping: str) -> None: ...

    def set_chantypes(self, chantypes: str) -> None: ...

    def received(
        self, sender: str, target: str, text: str, account: str | None, host: str | None
    ) -> None: ...

    def emit(self, event: IrcEvent) -> None: ...

    def who_reply(self, nick: str, flags: str) -> None: ...

    def who_end(self, mask: str) -> None: ...

    def pong(self, token: str) -> None: ...

    def echoed(self, command: str, target: str, text: str) -> None: ...

    def numeric_error(self, numeric: str, subject: str, reason: str) -> None: ...

    def entered(self, channel: str) -> None: ...

    def left(self, channel: str, kicked_by: str | None, reason: str) -> None: ...


class PydleClient(pydle.Client):  # type: ignore[misc]
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
        super().__init__(**kwargs)
        self._network = owner
        self._channels = tuple(channels)
        self._ping_interval = ping_interval
        self._wanted_nick = str(kwargs.get("nickname", ""))
        self.own_nick = ""
        self.registered_event = asyncio.Event()
        self.closed_event = asyncio.Event()
        # Set once who is in each wanted channel is known (or its JOIN was refused).
        self.settled_event = asyncio.Event()
        self._names_ended: set[str] = set()
        self._membership_busy = 0
        self._settle_timer: asyncio.TimerHandle | None = None
        self.fatal: str | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    @classmethod
    def for_network(cls, owner: LinkOwner, s: NetworkSettings) -> PydleClient:
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
        return cls(owner, channels=s.channels, ping_interval=s.ping_interval, **kwargs)

    # The link the send queue writes to (irc.sendqueue.Link)

    @property
    def echo(self) -> bool:
        return bool(self._capabilities.get("echo-message"))

    def usable(self) -> bool:
        return bool(self.connected and not self.connection.writer.is_closing())

    async def write(self, command: str, *params: str) -> None:
        await self.rawmsg(command, *params)

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
                        self._dispatch(line)
                        # pydle's handlers race each other (a WHOIS future answered by
                        # one line, awaited by another): give them the loop turns its
                        # own readline loop gave between two lines.
                        await asyncio.sleep(0)
                        await asyncio.sleep(0)
                    continue
                except LineOverflow as exc:
                    log.warning("%s: not IRC (%s); reconnecting", self._network.name, exc)
            if self.connected:
                await self.disconnect(expected=False)
            break
        self.closed_event.set()

    def _dispatch(self, line: bytes) -> None:
        try:
            message = TaggedMessage.parse(line, encoding=self.encoding)
            command = message.command
            if isinstance(command, int):
                command = str(command).zfill(3)
        except Exception as exc:  # the parser raises ValueError, IndexError, ProtocolViolation
            log.debug("%s: skipped an unparsable line %r: %s", self._network.name, line[:200], exc)
            return
        try:
            self._observe(str(command).upper(), message)
        except Exception:
            log.exception("%s: failed to handle %r", self._network.name, line[:200])
        # pydle handles each line in a task of its own, as its own on_data does.
        task = asyncio.create_task(self.on_raw(message))
        self._handlers.add(task)
        task.add_done_callback(self._handlers.discard)

    def _observe(self, command: str, message: Any) -> None:
        """What the owner must learn in wire order, before pydle's handlers run."""
        params = [str(p) for p in message.params]
        nick, _meta = self._parse_user(message.source)
        own = bool(nick) and self._is_us(nick)
        owner = self._network
        if command == "001" and params:
            self.own_nick = params[0]  # before the lines that follow it are observed
        elif command == "NICK" and own and params:
            # The server may rename us (services, a collision): keep knowing who we are.
            self.own_nick = params[0]
            message.renamed_us = True
        elif command == "PONG" and params:
            owner.pong(params[-1])
        elif command in ("PRIVMSG", "NOTICE") and own and len(params) >= 2:
            owner.echoed(command, params[0], params[1])
        elif command == "JOIN" and own and params:
            for channel in params[0].split(","):
                owner.entered(channel)
        elif command == "PART" and own and params:
            for channel in params[0].split(","):
                owner.left(channel, None, params[1] if len(params) > 1 else "")
        elif command == "KICK" and len(params) >= 2:
            reason = params[2] if len(params) > 2 else ""
            for channel in params[0].split(","):
                if any(self._is_us(target) for target in params[1].split(",")):
                    owner.left(channel, nick or "the server", reason)
        elif command[:1] in "45" and command.isdigit() and len(params) >= 3:
            owner.numeric_error(command, params[1], params[-1])

    def _is_us(self, nick: str) -> bool:
        return bool(self.own_nick) and self._network.fold(nick) == self._network.fold(self.own_nick)

    async def on_raw_error(self, message: Any) -> None:
        # The server's ERROR closes the link (it is also its answer to our QUIT);
        # pydle logs it as a socket error with a traceback. It is news, not a bug.
        reason = " ".join(str(p) for p in message.params)
        log.info("%s: the server closed the link: %s", self._network.name, reason)
        await self.disconnect(expected=False)

    async def on_unknown(self, message: Any) -> None:
        if message.command in JOIN_REFUSED and len(message.params) >= 2:
            self._membership_known(message.params[1])
        # pydle warns about every numeric it has no handler for (379, 671, ...).
        log.debug("%s: unhandled %s %s", self._network.name, message.command, message.params)

    async def on_disconnect(self, expected: bool) -> None:
        if self._settle_timer is not None:
            self._settle_timer.cancel()
        self.closed_event.set()

    async def on_raw_001(self, message: Any) -> None:
        # self.nickname is "<unregistered>" until pydle's WHOIS; 001 says who we are.
        self.own_nick = message.params[0]
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
        self._check_settled()
        self._settle_timer = asyncio.get_running_loop().call_later(
            SETTLE_TIMEOUT, self.settled_event.set
        )
        self.registered_event.set()

    # Membership: pydle handles each line in a task of its own, and fills a channel's
    # users from NAMES only after a WHOIS of each nick it did not know; the end of
    # NAMES (366) is handled long before. Settled waits for both.

    async def on_raw_join(self, message: Any) -> None:
        self._membership_busy += 1
        try:
            await super().on_raw_join(message)
        finally:
            self._membership_busy -= 1
            self._check_settled()

    async def on_raw_353(self, message: Any) -> None:
        self._membership_busy += 1
        try:
            await super().on_raw_353(message)
        finally:
            self._membership_busy -= 1
            self._check_settled()

    async def on_raw_366(self, message: Any) -> None:
        if len(message.params) >= 2:
            self._membership_known(message.params[1])

    def _membership_known(self, channel: str) -> None:
        self._names_ended.add(self._network.fold(channel))
        self._check_settled()

    def _check_settled(self) -> None:
        wanted = {self._network.fold(c) for c in self._channels}
        if not self._membership_busy and wanted <= self._names_ended:
            self.settled_event.set()

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
        # Our own renames were followed in _observe, in wire order; others go to the daemon.
        nick, _meta = self._parse_user(message.source)
        if message.params and self.own_nick and not getattr(message, "renamed_us", False):
            self._network.emit(NickChange(self._network.name, nick, message.params[0]))
        await super().on_raw_nick(message)

    async def on_raw_privmsg(self, message: Any) -> None:
        # Captured before pydle's handler awaits anything: lines are handled as
        # separate tasks, and "who mentioned me last" depends on their order.
        if len(message.params) >= 2:
            nick, _meta = self._parse_user(message.source)
            target, text = message.params[0], message.params[1]
            tags = getattr(message, "tags", None) or {}
            account = tags.get("account") if isinstance(tags, dict) else None
            self._network.received(nick, target, text, account, _meta.get("hostname"))
        await super().on_raw_privmsg(message)

    async def on_ctcp_version(self, by: str, target: str, contents: str) -> None:
        # pydle answers with its own name and version: say who we are instead.
        await self.ctcp_reply(by, "VERSION", f"highlightd {__version__}")

    async def on_raw_quit(self, message: Any) -> None:
        nick, _meta = self._parse_user(message.source)
        self._network.emit(Quit(self._network.name, nick))
        await super().on_raw_quit(message)
