"""Where an SMS answer goes: parsing its first word (pure)."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Literal

from highlightd.core.ircnames import DEFAULT_CHANTYPES, NICK, channel_pattern

# Carrier keywords Twilio acts on itself (opt-out, opt-in, help).
OPT_OUT = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN = frozenset({"START", "YES", "UNSTOP"})

_AT_NICK_RE = re.compile(rf"@({NICK})[:,]?\s+(\S.*)", re.DOTALL)
_NICK_COLON_RE = re.compile(rf"({NICK})[:,]\s+(\S.*)", re.DOTALL)


@functools.cache
def _channel_re(chantypes: str) -> re.Pattern[str]:
    return re.compile(rf"({channel_pattern(chantypes)})\s+(\S.*)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Route:
    """kind "last": to whoever mentioned the user last; "channel"/"nick": to target.

    `addressed` marks the "nick: text" form, which is only taken as an address
    when that nick is around ("Note: buy milk" is a plain reply).
    """

    kind: Literal["last", "channel", "nick"]
    target: str
    text: str
    addressed: bool = False


def parse_reply(body: str, chantypes: str = DEFAULT_CHANTYPES) -> Route:
    """Read the target off an SMS answer: `#chan text`, `@nick text`, `nick: text`, or text.

    chantypes are the channel prefixes of the network it goes to (its ISUPPORT CHANTYPES).
    """
    text = body.strip()
    if m := _channel_re(chantypes).fullmatch(text):
        return Route("channel", m[1], m[2].strip())
    if m := _AT_NICK_RE.fullmatch(text):
        return Route("nick", m[1], m[2].strip())
    if m := _NICK_COLON_RE.fullmatch(text):
        return Route("nick", m[1], m[2].strip(), addressed=True)
    return Route("last", "", text)
