"""IRC names: what a nick is, what a channel is, and how names compare. Pure."""

from __future__ import annotations

from highlightd.core.matcher import irc_lower


def nick_key(nick: str) -> str:
    """The stored identity of a nick: rfc1459 folding, the widest IRC casemapping."""
    return irc_lower(nick, "rfc1459")
