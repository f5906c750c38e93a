"""Registered users, as the IRC side sees them: matchers per network, refreshed from the store."""

from __future__ import annotations

import asyncio
import logging

from highlightd.matcher import Matcher, irc_lower
from highlightd.store import Store, User

log = logging.getLogger(__name__)

# How often to look for users added or removed by another process (the CLI).
REFRESH_INTERVAL = 2.0


def nick_key(nick: str) -> str:
    """The stored identity of a nick: rfc1459 folding, the widest IRC casemapping."""
    return irc_lower(nick, "rfc1459")


class Directory:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._users: dict[int, User] = {}
        self._matchers: dict[str, Matcher[int]] = {}
        self._casemappings: dict[str, str] = {}
        self._version = -1

    def user(self, user_id: int) -> User | None:
        return self._users.get(user_id)

    def match(self, network: str, casemapping: str, text: str) -> set[int]:
        matcher = self._matchers.get(network)
        if matcher is None:
            return set()
        if self._casemappings.get(network, "rfc1459") != casemapping:
            # The server announces its CASEMAPPING only after we connect.
            matcher.set_casemapping(casemapping)
            self._casemappings[network] = casemapping
        return matcher.match(text)

    async def refresh(self) -> None:
        """Reload when the database changed (cheap when it did not)."""
        version = await self._store.data_version()
        if version == self._version:
            return
        users = await self._store.users()
        matchers: dict[str, Matcher[int]] = {}
        for user in users:
            matchers.setdefault(user.network, Matcher()).add(user.nick, user.id)
        self._users = {u.id: u for u in users}
        self._matchers = matchers
        self._casemappings = {}
        if self._version != -1:
            log.info("registered users reloaded: %d", len(users))
        self._version = version

    async def run(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_INTERVAL)
            await self.refresh()
