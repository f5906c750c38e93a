"""What one network knows of each nick for the notification policy: when it last spoke
and as which account (irc/sightings.py), and whether it is /away, from away-notify
and WHOX where the server offers them, else from a WHO asked then (irc/who.py)."""

from __future__ import annotations

import time
from collections.abc import Callable

from highlightd.core.facts import Seen
from highlightd.irc.sightings import Sightings
from highlightd.irc.who import WhoAsker


class Presence:
    def __init__(self, fold: Callable[[str], str], ask_who: Callable[[str], object]) -> None:
        self.sightings = Sightings(fold)
        self._who = WhoAsker(fold, ask_who)

    def seen(self, nick: str, account: str | None) -> Seen:
        """What we saw of whoever holds nick (logged in to account): when it spoke, and
        the account it spoke as."""
        spoke = self.sightings.last_spoke(nick)
        return Seen(
            spoke_ago=None if spoke is None else time.monotonic() - spoke.at,
            account=account,
            spoke_account=None if spoke is None else spoke.account,
        )

    async def away(self, nick: str, told: bool) -> bool | None:
        """Whether nick is /away; None when the server does not say. told: the server
        tells every change (away-notify), and WHOX at our JOIN told the state before,
        so no WHO is sent for a nick whose state is known."""
        known = self.sightings.away(nick)
        if known is not None and told:
            return known
        return await self._who.away(nick)

    def who_reply(self, nick: str, flags: str) -> None:
        self.sightings.set_away(nick, flags.startswith("G"))
        self._who.reply(nick, flags)

    def who_end(self, mask: str) -> None:
        self._who.end(mask)
