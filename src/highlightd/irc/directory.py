"""Registered users as the IRC side sees them: the index (core.index) kept in step with
the store, and following the NICK changes the networks report."""

from __future__ import annotations

import asyncio
import logging

from highlightd.core.events import NickChange, Quit
from highlightd.core.index import NetworkIndex, UserIndex
from highlightd.core.records import User
from highlightd.infra.guard import guard
from highlightd.store import Store

log = logging.getLogger(__name__)

# How often another process's writes (a `users add`, a STOP taken by `--role web`) are
# looked for: PRAGMA data_version is one round trip to the database thread.
POLL_INTERVAL = 0.5


class Directory:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._index = UserIndex()
        self._version: tuple[int, int] = (-1, -1)
        self._polled = -1  # PRAGMA data_version as last read
        self._stale = False  # reload at the next catch_up, whatever the versions say

    def user(self, user_id: int) -> User | None:
        return self._index.user(user_id)

    def network(self, network: str, casemapping: str) -> NetworkIndex:
        return self._index.network(network, casemapping)

    def match(self, network: str, casemapping: str, text: str) -> set[int]:
        """The ids of the users this line highlights."""
        return self.network(network, casemapping).match_ids(text)

    def owner(self, network: str, casemapping: str, nick: str) -> int | None:
        """The registered user whose client holds this nick now by the nick rules, if any."""
        return self.network(network, casemapping).owner(nick)

    def current_nick(self, user: User, casemapping: str) -> str:
        """The nick a user goes by now: the followed one while renamed, else their own."""
        return self.network(user.network, casemapping).current_nick(user)

    # Following NICK changes

    def moved(self, event: NickChange | Quit, casemapping: str) -> None:
        """A NICK (followed as core.identity allows) or a QUIT (offline, a user is
        matched by the registered nick only), applied in wire order."""
        index = self.network(event.network, casemapping)
        if isinstance(event, NickChange):
            index.renamed(event.old, event.new, event.account)
        else:
            index.left(event.nick)

    # Keeping in step with the store

    async def watch(self) -> None:
        """See another process's commit (the CLI, `--role web`) within POLL_INTERVAL.

        This process's own writes count in Store.changes and show at the next
        `catch_up`; no line waits on the database to learn nothing changed.
        """
        while True:
            await asyncio.sleep(POLL_INTERVAL)
            with guard(log, "registered users: reloading"):
                await self.refresh()

    async def refresh(self) -> None:
        """Ask the database whether another connection committed; reload if anything did."""
        self._polled = await self._store.data_version()
        await self.catch_up()

    def stale(self) -> None:
        """Reload before the next line (SIGHUP: users added a moment ago count at once)."""
        self._stale = True

    async def catch_up(self) -> None:
        """Reload if this process wrote, or the watcher saw another's commit (no I/O if not)."""
        version = (self._polled, self._store.changes)
        if version == self._version and not self._stale:
            return
        if self._stale:
            self._stale = False
            version = (await self._store.data_version(), self._store.changes)
            self._polled = version[0]
        index = await self._store.user_index()
        # Taken from the index in use now, not before the await: a NICK change
        # followed meanwhile, or another refresh, would otherwise be undone.
        index.carry_over(self._index)
        self._index = index
        if self._version != (-1, -1):
            # Every self-service command changes the store: not worth a line at INFO.
            log.debug("registered users reloaded: %d", len(self._index))
        self._version = version
