"""pydle's client writing only through our send queue, without WHOIS, with bounded state.

pydle 1.2.0 writes wherever it likes (WHOIS for every nick it has not seen and
after every NICK, MODE on join, PONG, CTCP replies), all around flood control,
and keeps a user entry for every nick that ever sent us anything. Here every
line after registration goes to the owner's send queue (irc/sendqueue.py), no
WHOIS is ever sent, and users who share no channel with us are remembered only
for the STRANGERS most recent. See docs/library-notes.md.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Sequence
from typing import Any

from pydle.features.account import AccountSupport
from pydle.features.ctcp import construct_ctcp
from pydle.features.whox import WHOXSupport

from highlightd.irc.delivery import DeliveryRefused
from highlightd.irc.linkowner import LinkOwner
from highlightd.irc.login import LoginClient

# Nicks outside our channels whose pydle user entry is kept (private message senders).
STRANGERS = 256
# How long a QUIT may wait in the queue before the connection is closed anyway.
QUIT_WAIT = 2.0


class QueuedClient(LoginClient):
    """pydle.Client whose lines go through the owner's queue (irc.client.PydleClient's base)."""

    def __init__(self, owner: LinkOwner, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._network = owner
        self._strangers: collections.OrderedDict[str, None] = collections.OrderedDict()

    # Writing

    async def rawmsg(self, command: str, *args: Any, **kwargs: Any) -> None:
        """Every line pydle or we write: queued once registered, written at once before."""
        if not self.registered or kwargs:
            # CAP, NICK, USER, AUTHENTICATE: the queue writes only to a registered link.
            await super().rawmsg(command, *args, **kwargs)
            return
        params = tuple(str(arg) for arg in args)
        done = self._network.queue_line(self, command.upper(), params)
        if command.upper() == "QUIT":
            # pydle closes the socket right after: let the QUIT out first.
            with contextlib.suppress(TimeoutError, DeliveryRefused):
                await asyncio.wait_for(asyncio.shield(done), QUIT_WAIT)

    async def write_lines(self, lines: Sequence[tuple[str, tuple[str, ...]]]) -> None:
        """Write lines now, in one write: the send queue's own call (irc.sendqueue.Link).

        All are built before any is written. pydle waits for every line's drain under
        asyncio.wait_for, a task per line even when the socket took it all at once;
        that wait is kept only for when the socket did not (a backlog, or a link
        going: the drain raises then).
        """
        messages = [
            str(self._create_message(c, *params)).encode(self.encoding) for c, params in lines
        ]
        if self.logger.isEnabledFor(logging.DEBUG):
            for message in messages:
                self.logger.debug(">> %s", message.decode(self.encoding))
        writer = self.connection.writer
        writer.write(b"".join(messages))
        transport = writer.transport
        if transport.is_closing() or transport.get_write_buffer_size():
            await super().raw(b"")  # pydle's drain, its timeout, its disconnect on one

    # No WHOIS

    async def _create_user(self, nickname: str) -> None:
        # WHOXSupport's version WHOISes every new nick where the server has no WHOX:
        # 102 WHOIS joining a 100-user channel. What it adds to the entry comes from below it.
        super(WHOXSupport, self)._create_user(nickname)

    async def _rename_user(self, user: str, new: str) -> None:
        # AccountSupport WHOISes after every NICK; IRCv3_1Support keeps the account
        # where account-notify will say when it changes. That, without the WHOIS.
        notify = bool(self._capabilities.get("account-notify"))
        known = self.users.get(user) or {}
        account, identified = known.get("account"), known.get("identified", False)
        await super(AccountSupport, self)._rename_user(user, new)
        if not notify:
            account, identified = None, False
        await self._sync_user(new, {"account": account, "identified": identified})

    # Bounded memory

    async def _sync_user(self, nick: str, metadata: dict[str, Any]) -> None:
        await super()._sync_user(nick, metadata)
        if nick and nick in self.users and not self._shares_channel(nick):
            # A JOIN or NAMES entry lands here before its channel lists it: it is
            # only evicted if still outside every channel when its turn comes.
            self._strangers[nick] = None
            self._strangers.move_to_end(nick)
            while len(self._strangers) > STRANGERS:
                old, _ = self._strangers.popitem(last=False)
                if not self._shares_channel(old) and not self.is_same_nick(old, self.nickname):
                    self.users.pop(old, None)

    def _shares_channel(self, nick: str) -> bool:
        return any(nick in channel["users"] for channel in self.channels.values())

    # CTCP

    async def on_ctcp_version(self, by: str, target: str, contents: str | None) -> None:
        """pydle answers every VERSION itself: answered (or not) in on_ctcp instead."""

    async def on_ctcp(self, by: str, target: str, what: str, contents: str | None) -> None:
        reply = self._network.ctcp(by, what, contents)
        if reply is not None and by:
            parts = (what.upper(), reply) if reply else (what.upper(),)
            await self.rawmsg("NOTICE", by, construct_ctcp(*parts))
