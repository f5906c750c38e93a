"""What a client tells the connection that owns it, and what must reach it in wire order.

pydle handles each line in a task of its own, so its handlers may finish out of
order; `WireOrder.observe` sees each line as it is read, before they run.
"""

from __future__ import annotations

import asyncio
from typing import Any, Protocol

from highlightd.core.events import IrcEvent

# The token of our WHOX question at JOIN (irc.client), and the fields it asks for:
# the reply's params are [us, token, channel, user, host, nick, flags, account].
WHOX_TOKEN = "71"
WHOX_FIELDS = "%tcuhnfa"


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

    def away_changed(self, nick: str, away: bool) -> None: ...

    def whox(self, channel: str, query: str) -> None: ...

    def who_end(self, mask: str) -> None: ...

    def pong(self, token: str) -> None: ...

    def echoed(self, command: str, target: str, text: str) -> None: ...

    def numeric_error(self, numeric: str, subject: str, reason: str) -> None: ...

    def entered(self, channel: str) -> None: ...

    def left(self, channel: str, kicked_by: str | None, reason: str) -> None: ...

    def queue_line(
        self, link: object, command: str, params: tuple[str, ...]
    ) -> asyncio.Future[None]: ...

    def ctcp(self, sender: str, query: str, contents: str | None) -> str | None: ...


class WireOrder:
    """Our own nick as the server has it, and the lines the owner learns of as they are read."""

    def __init__(self, owner: LinkOwner) -> None:
        self._owner = owner
        self.own_nick = ""

    def is_us(self, nick: str) -> bool:
        return bool(self.own_nick) and self._owner.fold(nick) == self._owner.fold(self.own_nick)

    def observe(self, command: str, nick: str, message: Any) -> None:
        """What the owner must learn in wire order, before pydle's handlers run."""
        params = [str(p) for p in message.params]
        own = bool(nick) and self.is_us(nick)
        owner = self._owner
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
        elif command == "JOIN" and nick:
            # With away-notify the server follows the JOIN of an away user with AWAY.
            owner.away_changed(nick, False)
        elif command == "AWAY" and nick and not own:
            owner.away_changed(nick, bool(params and params[0]))
        elif command == "354" and len(params) >= 8 and params[1] == WHOX_TOKEN:
            owner.away_changed(params[5], params[6].startswith("G"))
        elif command == "PART" and own and params:
            for channel in params[0].split(","):
                owner.left(channel, None, params[1] if len(params) > 1 else "")
        elif command == "KICK" and len(params) >= 2:
            reason = params[2] if len(params) > 2 else ""
            for channel in params[0].split(","):
                if any(self.is_us(target) for target in params[1].split(",")):
                    owner.left(channel, nick or "the server", reason)
        elif command[:1] in "45" and command.isdigit() and len(params) >= 3:
            owner.numeric_error(command, params[1], params[-1])
