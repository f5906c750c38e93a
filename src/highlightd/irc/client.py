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

from highlightd import __version__
from highlightd.core.events import IrcEvent, NickChange, Quit

log = logging.getLogger("highlightd.irc.network")

PONG_TIMEOUT = 30.0


class LinkOwner(Protocol):
    """What a client reports to the connection that owns it (irc.network.Network)."""

    @property
    def name(self) -> str: ...

    def fold(self, name: str) -> str: ...

    def set_casemapping(self, casemapping: str) -> None: ...

    def set_chantypes(self, chantypes: str) -> None: ...

    def received(self, sender: str, target: str, text: str, account: str | None) -> None: ...

    def emit(self, event: IrcEvent) -> None: ...

    def who_reply(self, nick: str, flags: str) -> None: ...

    def who_end(self, mask: str) -> None: ...


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
        self.fatal: str | None = None

    async def handle_forever(self) -> None:
        # pydle's loop dies on a reset without telling anyone, and waits 600 s on a
        # dead link: catch OSError, and PING ourselves when the server goes quiet.
        ping_sent = False
        while self.connected:
            interval = self._ping_interval
            timeout = min(PONG_TIMEOUT, interval) if ping_sent else interval
            try:
                data = await self.connection.recv(timeout=timeout)
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
            if not data:
                if self.connected:
                    await self.disconnect(expected=False)
                break
            ping_sent = False
            await self.on_data(data)
        self.closed_event.set()

    async def on_unknown(self, message: Any) -> None:
        # pydle warns about every numeric it has no handler for (379, 671, ...).
        log.debug("%s: unhandled %s %s", self._network.name, message.command, message.params)

    async def on_disconnect(self, expected: bool) -> None:
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
        self.registered_event.set()

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
        # The server may rename us (services, a collision): keep knowing who we are.
        nick, _meta = self._parse_user(message.source)
        if (
            self.own_nick
            and message.params
            and self._network.fold(nick) == self._network.fold(self.own_nick)
        ):
            self.own_nick = message.params[0]
        elif message.params and self.own_nick:
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
            self._network.received(nick, target, text, account)
        await super().on_raw_privmsg(message)

    async def on_ctcp_version(self, by: str, target: str, contents: str) -> None:
        # pydle answers with its own name and version: say who we are instead.
        await self.ctcp_reply(by, "VERSION", f"highlightd {__version__}")

    async def on_raw_quit(self, message: Any) -> None:
        nick, _meta = self._parse_user(message.source)
        self._network.emit(Quit(self._network.name, nick))
        await super().on_raw_quit(message)
