"""CTCP queries (VERSION, PING, TIME, CLIENTINFO): answered once a minute per sender at most.

A CTCP reply costs a line of flood control, and anyone can ask 500 times: one
answer per sender per minute, and at most GLOBAL_PER_MINUTE in all, so a crowd
of nicks cannot fill the queue either. Other queries get no answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable

from highlightd import __version__
from highlightd.irc.bounded import Verdict, Windows

PER_SENDER_PER_MINUTE = 1
GLOBAL_PER_MINUTE = 20
ANSWERED = ("CLIENTINFO", "PING", "TIME", "VERSION")
# A PING's argument comes back as it came, up to this many characters.
PING_ECHO = 64


class CtcpDesk:
    """Which CTCP queries get an answer, and what it says."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._senders = Windows(PER_SENDER_PER_MINUTE, clock=clock)
        self._all = Windows(GLOBAL_PER_MINUTE, clock=clock)

    def __len__(self) -> int:
        """The senders remembered (bounded)."""
        return len(self._senders)

    def answer(self, sender: Hashable, query: str, contents: str | None) -> str | None:
        """The reply's contents, or None: not a query we answer, or asked too often."""
        query = query.upper()
        if query not in ANSWERED:
            return None
        if self._senders.take(sender) is not Verdict.ALLOWED:
            return None
        if self._all.take("") is not Verdict.ALLOWED:
            return None
        if query == "VERSION":
            return f"highlightd {__version__}"
        if query == "PING":
            return (contents or "")[:PING_ECHO]
        if query == "TIME":
            return time.strftime("%a %b %d %H:%M:%S %Y UTC", time.gmtime())
        return " ".join(ANSWERED)
