"""One network's registered users as lines are matched against them. Pure.

A user is highlighted by their registered nick, by the nick they go by now (NICK
changes are followed while they are online, as core.identity allows), and by
their keywords unless the line holds one of their exception words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from highlightd.core.identity import is_registration, may_follow
from highlightd.core.ircnames import nick_key
from highlightd.core.matcher import Matcher, fold_words, irc_lower
from highlightd.core.people import People, Row
from highlightd.core.records import Keyword, User


@dataclass(frozen=True, slots=True)
class Why:
    """The words of a line that concern one user, as written: why it highlights them."""

    nicks: tuple[str, ...] = ()
    followed: tuple[str, ...] = ()  # the nick they go by now, when renamed
    keywords: tuple[str, ...] = ()
    exceptions: tuple[str, ...] = ()

    @property
    def highlights(self) -> bool:
        return bool(self.nicks or self.followed or (self.keywords and not self.exceptions))


RFC1459 = "rfc1459"  # IRC's default casemapping, and the one nick_key folds by
Word = tuple[int, str]  # a keyword or exception word as stored: (user id, word)


class NetworkIndex:
    """The registered users of one network, their keywords, and the nicks they go by now."""

    def __init__(self, casemapping: str = "rfc1459", network: str = "") -> None:
        self.casemapping = casemapping
        self._users = People(network)
        # nick_key(registered nick) -> user id: only made under another casemapping
        # than rfc1459, since under it the nicks' matcher holds the same keys.
        self._by_key: dict[str, int] | None = None
        self._nicks: Matcher[int] = Matcher(casemapping)
        self._keywords: Matcher[int] = Matcher(casemapping)
        self._exceptions: Matcher[int] = Matcher(casemapping)
        self._followed: Matcher[int] = Matcher(casemapping)
        # The nicks users go by now: folded -> (as written, user id).
        self._following: dict[str, tuple[str, int]] = {}
        # Registered nicks (folded) held by a client known not to be their registration:
        # it renamed into them from another registration's nick.
        self._strangers: set[str] = set()
        self._muted: dict[int, frozenset[str]] = {}  # user id -> folded channel names
        # Every folded nick and keyword, made at the first line: most lines hold none,
        # and one look tells so (exception words need not be in it).
        self._heard: set[str] | None = None

    def fold(self, name: str) -> str:
        return irc_lower(name, self.casemapping)

    def set_casemapping(self, casemapping: str) -> None:
        """Re-fold everything: the server announces its CASEMAPPING only after we connect."""
        if casemapping == self.casemapping:
            return
        for matcher in (self._nicks, self._keywords, self._exceptions, self._followed):
            matcher.set_casemapping(casemapping)
        self._heard = None
        self.casemapping = casemapping
        self._following = {self.fold(nick): (nick, uid) for nick, uid in self._following.values()}
        self._strangers = {irc_lower(nick, casemapping) for nick in self._strangers}

    def add_user(self, user: User) -> None:
        self._users.put(user)
        if self._by_key is not None:
            self._by_key[nick_key(user.nick)] = user.id
        self._nicks.add(user.nick, user.id)
        if self._heard is not None:
            self._heard.add(self.fold(user.nick))

    def add_rows(self, rows: Sequence[Row]) -> None:
        """add_user for each user as the store's row (people.user_row), nicks folded in
        one call and no User made until one is asked for (start-up)."""
        ids = [row[0] for row in rows]
        nicks = [row[1] for row in rows]
        self._users.put_rows(ids, rows)
        self._by_key = self._heard = None  # made again when needed
        self._nicks.add_all(nicks, ids)

    def add_words(self, words: Sequence[str], user_ids: Sequence[int], exception: bool) -> None:
        """add_word for each (of users of this network), folded in one call (start-up)."""
        (self._exceptions if exception else self._keywords).add_all(words, user_ids)
        self._heard = None

    def add_keyword(self, keyword: Keyword) -> None:
        self.add_word(keyword.user_id, keyword.word, keyword.exception)

    def add_word(self, user_id: int, word: str, exception: bool) -> None:
        """A keyword (or exception word) of a user of this network."""
        if user_id in self._users:
            (self._exceptions if exception else self._keywords).add(word, user_id)
            if self._heard is not None and not exception:
                self._heard.add(self.fold(word))

    def drop(self, user_id: int) -> None:
        """Forget a user's nick, words and mutes (to add them again as they are now);
        a pass over every word, so for a few users at a time. Following is kept."""
        if user_id not in self._users:
            return
        if self._by_key is not None:
            self._by_key.pop(nick_key(self._users.nick(user_id)), None)
        self._users.remove(user_id)
        for matcher in (self._nicks, self._keywords, self._exceptions):
            matcher.drop(user_id)
        self._muted.pop(user_id, None)  # _heard keeps the words: it may say yes wrongly

    def mute(self, user_id: int, channels: frozenset[str]) -> None:
        if user_id in self._users:
            self._muted[user_id] = channels

    def muted(self, user_id: int) -> frozenset[str]:
        """The channels (folded names) where a user asked not to be texted."""
        return self._muted.get(user_id, frozenset())

    def user(self, user_id: int) -> User | None:
        return self._users.get(user_id)

    def registered(self, nick: str) -> User | None:
        """The user registered under this nick (not one they go by now)."""
        uid = self._registered_id(nick)
        return None if uid is None else self._users.get(uid)

    # Matching

    def match(self, text: str) -> list[User]:
        """The users a line (IRC formatting stripped) highlights, in registration order."""
        found = (self._users.get(uid) for uid in sorted(self.match_ids(text)))
        return [user for user in found if user is not None]

    def match_ids(self, text: str) -> set[int]:
        """The ids of the users a line highlights: one tokenizing and folding per line."""
        folded = fold_words(text, self.casemapping)
        if not folded:
            return set()
        heard = self._heard
        if heard is None:
            heard = self._heard = self._nicks.words() | self._keywords.words()
        if heard.isdisjoint(folded) and not self._following:
            return set()
        ids = self._nicks.owners(folded)
        if self._following:
            ids |= self._followed.owners(folded)
        by_keyword = self._keywords.owners(folded)
        if by_keyword:
            ids |= by_keyword - self._exceptions.owners(folded)
        return ids

    def why(self, text: str, user: User) -> Why:
        """Which words of the line concern user; `why(...).highlights` agrees with match."""
        return Why(
            nicks=tuple(self._nicks.found(text, user.id)),
            followed=tuple(self._followed.found(text, user.id)),
            keywords=tuple(self._keywords.found(text, user.id)),
            exceptions=tuple(self._exceptions.found(text, user.id)),
        )

    def owner(self, nick: str) -> int | None:
        """The registration whose client holds this nick now, by the nick rules alone: the
        user followed to it, else the one registered under it unless its holder is known
        to be someone else."""
        followed = self._following.get(self.fold(nick))
        if followed is not None:
            return followed[1]
        if self._strangers and self.fold(nick) in self._strangers:
            return None
        return self._registered_id(nick)

    def held_by_other(self, nick: str) -> bool:
        """Whether this registered nick's holder is known not to be its registration."""
        return self.fold(nick) in self._strangers

    def is_user(self, user: User, nick: str, account: str | None) -> bool:
        """Whether the client holding nick (logged in to account, as the network says)
        is user's registration: core.identity's rule, with this index's follows."""
        by_nick = self.owner(nick) == user.id
        return is_registration(user.account, account, by_nick=by_nick, fold=self.fold)

    def _registered_id(self, nick: str) -> int | None:
        key = nick_key(nick)
        if self.casemapping == RFC1459:
            return self._nicks.owner_of(key)  # nick_key folds as rfc1459 does
        if self._by_key is None:
            ids = list(self._users)
            joined = nick_key("\n".join(self._users.nick(uid) for uid in ids))
            keys = joined.split("\n") if ids else []
            self._by_key = dict(zip(keys, ids, strict=True))
        return self._by_key.get(key)

    def current_nick(self, user: User) -> str:
        """The nick a user goes by now: the followed one while renamed, else their own."""
        for nick, uid in self._following.values():
            if uid == user.id:
                return nick
        return user.nick

    # Following NICK changes

    def renamed(self, old: str, new: str, account: str | None = None) -> None:
        """old is now new (its client logged in to account, as the network says): its
        registration is followed to new only as core.identity.may_follow allows."""
        uid = self.owner(old)
        self.left(old)
        key = self.fold(new)
        alias = self._following.get(key)
        registered = self._registered_id(new)
        # Nicks are unique: whatever the index held for new is stale now.
        self.left(new)
        user = None if uid is None else self._users.get(uid)
        if user is None:
            return  # a client we know nothing of: like a fresh connection under new
        if not is_registration(user.account, account, by_nick=True, fold=self.fold):
            return  # the nick was not its registration's (another account)
        if registered == uid:
            return  # back to the registered nick: nothing to follow
        if registered is not None:
            self._strangers.add(key)  # another registration's client holds it now
            return
        taken = alias is not None and alias[1] != uid
        if may_follow(
            user.account, account, was_registration=True, new_taken=taken, fold=self.fold
        ):
            self._follow(new, user.id)

    def left(self, nick: str) -> None:
        """The nick quit or changed: offline, a user is matched by the registered nick only."""
        self._unfollow(nick)
        if self._strangers:
            self._strangers.discard(self.fold(nick))

    def follows(self) -> dict[str, int]:
        """The nicks followed now, as written, and whose they are."""
        return dict(self._following.values())

    def strangers(self) -> set[str]:
        """The registered nicks (folded) held by someone other than their registration."""
        return set(self._strangers)

    def _follow(self, nick: str, uid: int) -> None:
        self._following[self.fold(nick)] = (nick, uid)
        self._followed.add(nick, uid)

    def _unfollow(self, nick: str) -> None:
        followed = self._following.pop(self.fold(nick), None)
        if followed is not None:
            self._followed.remove(*followed)
