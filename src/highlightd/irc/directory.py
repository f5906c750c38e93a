"""Registered users as the IRC side sees them: the index (core.index) kept in step with
the store, and following the NICK changes the networks report."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from highlightd.core.events import NickChange, Quit
from highlightd.core.index import NetworkIndex, UserIndex
from highlightd.core.records import User
from highlightd.infra.guard import guard
from highlightd.store import Store

log = logging.getLogger(__name__)

# How often another process's writes (a `users add`, a STOP taken by `--role web`) are
# looked for: one read of the point of the store's change log (schema 8: triggers log
# every change to users, keywords and mutes) and of PRAGMA data_version.
POLL_INTERVAL = 0.5
PRUNE_EVERY = 1000  # changes applied between two deletions of the change log


class Directory:
    """The users index, kept in step with the store: the users anyone changed are read
    again and patched in (all of them at start); this process's writes count before
    the next line (Store.changes, no I/O otherwise), another's within POLL_INTERVAL.
    `also` is read again after each catch-up, and whenever another process committed
    anything (the spend book: it may have sent, or forgotten)."""

    def __init__(self, store: Store, also: Callable[[], Awaitable[None]] | None = None) -> None:
        self._store = store
        self._also = also
        self._data = -1  # PRAGMA data_version as last polled
        self._index = UserIndex()
        self._changes = -1  # Store.changes when the index was read
        self._version = -1  # the point of the store's change log the index holds
        self._outside = False  # the watcher saw a change the index does not hold
        self._stale = False  # reload at the next catch_up, whatever the versions say
        self._lock = asyncio.Lock()
        self._pruned = 0  # the change log is deleted up to here

    @property
    def index(self) -> UserIndex:
        """Every network's users as loaded last."""
        return self._index

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
                if self._version - self._pruned >= PRUNE_EVERY:
                    # Here, not on a line's way: it writes, and may wait for the lock.
                    await self._store.registry.applied(self._version)
                    self._pruned = self._version

    async def refresh(self) -> None:
        """Ask the database whether anyone changed who is registered; catch up if so."""
        registry, data = await self._store.registry.versions()
        if registry != self._version:
            self._outside = True
        elif data != self._data and self._data != -1 and self._also is not None:
            await self._also()  # another process committed, not to the users
        self._data = data
        await self.catch_up()

    def stale(self) -> None:
        """Reload before the next line (SIGHUP: users added a moment ago count at once)."""
        self._stale = True

    def _behind(self) -> bool:
        return self._store.changes != self._changes or self._outside or self._stale

    async def catch_up(self) -> None:
        """Read again the users changed since the last look, if this process wrote or the
        watcher saw a change (no I/O if not); all of them at start, on SIGHUP, or when
        many changed. One at a time: a reload must not undo a later patch."""
        if not self._behind():
            return
        async with self._lock:
            if not self._behind():
                return  # another caller did it meanwhile
            changes = self._store.changes
            whole = self._stale or self._changes == -1
            self._outside = self._stale = False
            changed = None if whole else await self._store.registry.since(self._version)
            if changed is None:
                # Folded as the servers said at once: folding again would double the work.
                index, version = await self._store.registry.load(self._index.casemappings())
                # Taken from the index in use now, after the await: a NICK change
                # followed meanwhile would otherwise be undone.
                index.carry_over(self._index)
                self._index = index
                log.debug("registered users read again: %d", len(index))
            else:
                self._index.patch(changed.user_ids, changed.users, changed.words, changed.muted)
                version = changed.version
            self._changes, self._version = changes, version
            if self._also is not None:
                await self._also()
