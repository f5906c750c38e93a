"""What one connection saw of each nick: when it last spoke (and under which account), and
whether it is /away as the server told us, followed across NICK and forgotten at QUIT.

Both tables are bounded (irc/bounded.py's CAPACITY, least recently touched out first):
nick churn, 20,000 one-off senders, must not grow them.

Everything here is fed in wire order (irc.linkowner.WireOrder): an AWAY or a NICK
must be known before the lines after it are decided on.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from highlightd.irc.bounded import CAPACITY, Lru


@dataclass(frozen=True, slots=True)
class Spoke:
    at: float  # time.monotonic()
    account: str | None  # the speaker's account then (see IrcMessage.account)


class Sightings:
    """Per folded nick: the last line heard, and the away state the server reported."""

    def __init__(self, fold: Callable[[str], str], capacity: int = CAPACITY) -> None:
        self._fold = fold
        self._spoke: Lru[str, Spoke] = Lru(capacity)
        # True away, False here: from away-notify's AWAY (and the JOIN it follows),
        # the flags of a WHOX or WHO reply. Absent: not known (or forgotten).
        self._away: Lru[str, bool] = Lru(capacity)

    def __len__(self) -> int:
        """Nicks remembered (the larger table)."""
        return max(len(self._spoke), len(self._away))

    def spoke(self, nick: str, account: str | None) -> None:
        self._spoke.put(self._fold(nick), Spoke(time.monotonic(), account))

    def last_spoke(self, nick: str) -> Spoke | None:
        return self._spoke.get(self._fold(nick))

    def away(self, nick: str) -> bool | None:
        return self._away.get(self._fold(nick))

    def set_away(self, nick: str, away: bool) -> None:
        self._away.put(self._fold(nick), away)

    def renamed(self, old: str, new: str) -> None:
        """The same client under a new nick: what it said and its away state go with it."""
        old_key, new_key = self._fold(old), self._fold(new)
        spoke, away = self._spoke.pop(old_key), self._away.pop(old_key)
        self._spoke.pop(new_key)
        self._away.pop(new_key)
        if spoke is not None:
            self._spoke.put(new_key, spoke)
        if away is not None:
            self._away.put(new_key, away)

    def quit(self, nick: str) -> None:
        """Gone: whoever takes the nick next has said nothing yet."""
        self._spoke.pop(self._fold(nick))
        self._away.pop(self._fold(nick))

    def disconnected(self) -> None:
        """Our link dropped: away states may change unseen (what was said stays true)."""
        self._away.clear()
