"""Registered users as the IRC side sees them: matchers per network, kept in step with the store.

A user is highlighted by their registered nick, by the nick they use now (NICK
changes are followed while they are online), and by their keywords unless the
line holds one of their exception words.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from highlightd.core.ircnames import nick_key
from highlightd.core.matcher import Matcher, irc_lower
from highlightd.core.records import User
from highlightd.store import Store

log = logging.getLogger(__name__)


@dataclass
class _Net:
    casemapping: str = "rfc1459"
    nicks: Matcher[int] = field(default_factory=Matcher)
    keywords: Matcher[int] = field(default_factory=Matcher)
    exceptions: Matcher[int] = field(default_factory=Matcher)
    # Nicks registered users go by now, folded -> user id.
    aliases: dict[str, int] = field(default_factory=dict)
    alias_matcher: Matcher[int] = field(default_factory=Matcher)

    def matchers(self) -> tuple[Matcher[int], ...]:
        return (self.nicks, self.keywords, self.exceptions, self.alias_matcher)


class Directory:
    def __init__(self, store: Store) -> None:
        self._store = store
        self._users: dict[int, User] = {}
        self._by_nick: dict[tuple[str, str], int] = {}
        self._nets: dict[str, _Net] = {}
        self._version: tuple[int, int] = (-1, -1)

    def user(self, user_id: int) -> User | None:
        return self._users.get(user_id)

    def _net(self, network: str, casemapping: str) -> _Net:
        net = self._nets.setdefault(network, _Net())
        if net.casemapping != casemapping:
            # The server announces its CASEMAPPING only after we connect.
            for matcher in net.matchers():
                matcher.set_casemapping(casemapping)
            net.aliases = {irc_lower(k, casemapping): v for k, v in net.aliases.items()}
            net.casemapping = casemapping
        return net

    def match(self, network: str, casemapping: str, text: str) -> set[int]:
        """The users this line highlights."""
        net = self._net(network, casemapping)
        by_keyword = net.keywords.match(text) - net.exceptions.match(text)
        return net.nicks.match(text) | net.alias_matcher.match(text) | by_keyword

    def owner(self, network: str, casemapping: str, nick: str) -> int | None:
        """The registered user who goes by this nick now, if any."""
        net = self._net(network, casemapping)
        folded = irc_lower(nick, casemapping)
        if folded in net.aliases:
            return net.aliases[folded]
        uid = self._by_nick.get((network, nick_key(nick)))
        return uid

    def current_nick(self, user: User, casemapping: str) -> str:
        """The nick a user goes by now: an alias while they are renamed, else their own."""
        net = self._net(user.network, casemapping)
        for alias, uid in net.aliases.items():
            if uid == user.id:
                return alias
        return user.nick

    # Following NICK changes

    def renamed(self, network: str, casemapping: str, old: str, new: str) -> None:
        net = self._net(network, casemapping)
        uid = self.owner(network, casemapping, old)
        self._drop_alias(net, old)
        if uid is None:
            return
        user = self._users.get(uid)
        if user is not None and irc_lower(new, casemapping) == irc_lower(user.nick, casemapping):
            return  # back to the registered nick: no alias needed
        folded = irc_lower(new, casemapping)
        net.aliases[folded] = uid
        net.alias_matcher.add(new, uid)

    def left(self, network: str, casemapping: str, nick: str) -> None:
        """The nick quit: offline, a user is matched by the registered nick only."""
        self._drop_alias(self._net(network, casemapping), nick)

    def _drop_alias(self, net: _Net, nick: str) -> None:
        uid = net.aliases.pop(irc_lower(nick, net.casemapping), None)
        if uid is not None:
            net.alias_matcher.remove(nick, uid)

    # Keeping in step with the store

    async def refresh(self) -> None:
        """Reload when the database changed (cheap when it did not)."""
        version = (await self._store.data_version(), self._store.changes)
        if version == self._version:
            return
        users = await self._store.users.all()
        keywords = await self._store.registrations.keywords()
        old = self._nets
        nets: dict[str, _Net] = {}
        for user in users:
            net = nets.setdefault(user.network, _Net())
            net.nicks.add(user.nick, user.id)
        for kw in keywords:
            owner = next((u for u in users if u.id == kw.user_id), None)
            if owner is not None:
                net = nets.setdefault(owner.network, _Net())
                (net.exceptions if kw.exception else net.keywords).add(kw.word, kw.user_id)
        ids = {u.id for u in users}
        for name, net in nets.items():
            previous = old.get(name)
            if previous is None:
                continue
            for matcher in net.matchers():
                matcher.set_casemapping(previous.casemapping)
            net.casemapping = previous.casemapping
            for alias, uid in previous.aliases.items():
                if uid in ids:  # still registered: keep following them
                    net.aliases[alias] = uid
                    net.alias_matcher.add(alias, uid)
        self._users = {u.id: u for u in users}
        self._by_nick = {(u.network, nick_key(u.nick)): u.id for u in users}
        self._nets = nets
        if self._version != (-1, -1):
            log.info("registered users reloaded: %d, with %d keyword(s)", len(users), len(keywords))
        self._version = version
