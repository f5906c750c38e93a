"""Registered users as the IRC side sees them: the index (core.index) kept in step with
the store, and following the NICK changes the networks report."""

from __future__ import annotations

import logging

from highlightd.core.index import NetworkIndex, UserIndex
from highlightd.core.records import User
from highlightd.store import Store

log = logging.getLogger(__name__)


class Directory:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._index = UserIndex()
        self._version: tuple[int, int] = (-1, -1)

    def user(self, user_id: int) -> User | None:
        return self._index.user(user_id)

    def network(self, network: str, casemapping: str) -> NetworkIndex:
        return self._index.network(network, casemapping)

    def match(self, network: str, casemapping: str, text: str) -> set[int]:
        """The ids of the users this line highlights."""
        return {u.id for u in self.network(network, casemapping).match(text)}

    def owner(self, network: str, casemapping: str, nick: str) -> int | None:
        """The registered user who goes by this nick now, if any."""
        return self.network(network, casemapping).owner(nick)

    def current_nick(self, user: User, casemapping: str) -> str:
        """The nick a user goes by now: the followed one while renamed, else their own."""
        return self.network(user.network, casemapping).current_nick(user)

    # Following NICK changes

    def renamed(self, network: str, casemapping: str, old: str, new: str) -> None:
        self.network(network, casemapping).renamed(old, new)

    def left(self, network: str, casemapping: str, nick: str) -> None:
        """The nick quit: offline, a user is matched by the registered nick only."""
        self.network(network, casemapping).left(nick)

    # Keeping in step with the store

    async def refresh(self) -> None:
        """Reload when the database changed (cheap when it did not)."""
        version = (await self._store.data_version(), self._store.changes)
        if version == self._version:
            return
        index = await self._store.user_index()
        # Taken from the index in use now, not before the await: a NICK change
        # followed meanwhile, or another refresh, would otherwise be undone.
        index.carry_over(self._index)
        self._index = index
        if self._version != (-1, -1):
            # Every self-service command changes the store: not worth a line at INFO.
            log.debug("registered users reloaded: %d", len(self._index))
        self._version = version
