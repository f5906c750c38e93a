"""Registered users as lines are matched against them, one index per network. Pure.

The daemon keeps an index in step with the store; `highlightd explain` builds the
same one from the store, offline. Each network's is a core.netindex.NetworkIndex.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from highlightd.core.netindex import RFC1459, NetworkIndex, Why, Word
from highlightd.core.people import Row, user_row
from highlightd.core.records import Keyword, User

__all__ = ["RFC1459", "NetworkIndex", "UserIndex", "Why", "Word"]


class UserIndex:
    """Every network's index, built from the users and keywords the store holds."""

    def __init__(self) -> None:
        self._nets: dict[str, NetworkIndex] = {}

    @classmethod
    def build(
        cls,
        users: Iterable[User],
        keywords: Iterable[Keyword],
        muted: Mapping[int, frozenset[str]] | None = None,
    ) -> UserIndex:
        index = cls()
        for user in users:
            index._network(user.network).add_user(user)
        for keyword in keywords:
            owner = index.user(keyword.user_id)
            if owner is not None:
                index._nets[owner.network].add_keyword(keyword)
        for uid, channels in (muted or {}).items():
            owner = index.user(uid)
            if owner is not None:
                index._nets[owner.network].mute(uid, channels)
        return index

    def _network(self, name: str) -> NetworkIndex:
        net = self._nets.get(name)
        if net is None:
            net = self._nets[name] = NetworkIndex(network=name)
        return net

    @classmethod
    def from_rows(
        cls,
        networks: Mapping[str, tuple[Sequence[Row], Sequence[Word], Sequence[Word]]],
        muted: Iterable[tuple[int, str]] = (),
        casemappings: Mapping[str, str] | None = None,
    ) -> UserIndex:
        """The index straight from the store's rows, with no record per user or keyword:
        per network, its users (people.user_row's columns), keywords and exception words
        as (user id, word); mutes as (user id, folded channel). Folded at once under
        each network's casemapping when known (a reload: its server announced it)."""
        index = cls()
        for name, (users, keywords, exceptions) in networks.items():
            net = index._nets[name] = NetworkIndex((casemappings or {}).get(name, RFC1459), name)
            net.add_rows(users)
            for exception, words in ((False, keywords), (True, exceptions)):
                if words:
                    ids, spellings = zip(*words, strict=True)
                    net.add_words(spellings, ids, exception)
        index._mute_all(muted)
        return index

    def patch(
        self,
        user_ids: Iterable[int],
        users: Iterable[Sequence[Any]],
        words: Iterable[tuple[int, str, int]],
        muted: Iterable[tuple[int, str]],
    ) -> None:
        """These users again, as the store has them now: users as (network, then
        people.user_row's columns); words as (user id, word, exception); mutes as
        (user id, folded channel). A user without a row is gone, and unfollowed."""
        for uid in user_ids:
            for net in self._nets.values():
                net.drop(uid)
        for row in users:
            self._network(row[0]).add_user(user_row(row[0], row[1:]))
        for uid, word, exception in words:
            owner = self.user(uid)
            if owner is not None:
                self._nets[owner.network].add_word(uid, word, bool(exception))
        self._mute_all(muted)
        for net in self._nets.values():
            for nick, uid in net.follows().items():
                if net.user(uid) is None:
                    net.left(nick)

    def _mute_all(self, muted: Iterable[tuple[int, str]]) -> None:
        """Each user's muted channels, as the store lists them: (user id, folded channel)."""
        channels: dict[int, set[str]] = {}
        for uid, channel in muted:
            channels.setdefault(uid, set()).add(channel)
        for uid, folded in channels.items():
            owner = self.user(uid)
            if owner is not None:
                self._nets[owner.network].mute(uid, frozenset(folded))

    def casemappings(self) -> dict[str, str]:
        """Each network's casemapping, as its server announced it."""
        return {name: net.casemapping for name, net in self._nets.items()}

    def carry_over(self, previous: UserIndex) -> None:
        """Take from the index this one replaces each network's casemapping, who is
        followed (those still registered) and which nicks strangers hold: a reload must
        not forget a NICK change."""
        for name, net in self._nets.items():
            old = previous._nets.get(name)
            if old is None:
                continue
            net.set_casemapping(old.casemapping)
            for nick, uid in old.follows().items():
                if net.user(uid) is not None:
                    net._follow(nick, uid)
            net._strangers = old.strangers()

    def __len__(self) -> int:
        return sum(len(net._users) for net in self._nets.values())

    def user(self, user_id: int) -> User | None:
        for net in self._nets.values():
            user = net.user(user_id)
            if user is not None:
                return user
        return None

    def network(self, name: str, casemapping: str) -> NetworkIndex:
        """One network's index, folding names under the casemapping its server announced."""
        net = self._nets.get(name)
        if net is None:
            net = self._nets[name] = NetworkIndex(casemapping, name)
        elif net.casemapping != casemapping:
            net.set_casemapping(casemapping)
        return net
