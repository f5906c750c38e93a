"""IRC names: what a nick is, what a channel is, and how names compare. Pure.

What a channel is depends on the server: its ISUPPORT CHANTYPES lists the
prefixes it knows. A server that does not say is taken to know "#&" (RFC 1459);
the configuration, read before any server is asked, accepts every prefix of
RFC 2811 ("#&+!"). Functions that read a channel take the prefixes as a value.
"""

from __future__ import annotations

import functools
import re

from highlightd.core.matcher import irc_lower

DEFAULT_CHANTYPES = "#&"  # when the server's ISUPPORT does not say
RFC_CHANTYPES = "#&+!"  # every prefix RFC 2811 defines: for config, which cannot ask
MAX_NICK = 30  # what ngircd and most networks allow; RFC 2812 said 9
MAX_CHANNEL = 50  # RFC 2812, prefix included

# RFC 2812: a letter or special first, then letters, digits, specials and "-".
NICK = rf"[A-Za-z\[\]\\`_^{{|}}][A-Za-z0-9\[\]\\`_^{{|}}-]{{0,{MAX_NICK - 1}}}"
# After the prefix: anything but blanks, the comma (a list separator) and BEL, NUL.
_CHANNEL_BODY = rf"[^\s,\x07\x00]{{1,{MAX_CHANNEL - 1}}}"


def nick_key(nick: str) -> str:
    """The stored identity of a nick: rfc1459 folding, the widest IRC casemapping."""
    return irc_lower(nick, "rfc1459")


def check_nick(value: str) -> str:
    """value if it is an IRC nick (RFC 2812 characters, at most 30), else ValueError."""
    if len(value) > MAX_NICK:
        raise ValueError(f"nick is longer than {MAX_NICK} characters: {value!r}")
    if not re.fullmatch(NICK, value):
        raise ValueError(f"not a valid IRC nick: {value!r}")
    return value


def is_channel(target: str, chantypes: str = DEFAULT_CHANTYPES) -> bool:
    """Whether a message target is a channel: it starts with one of the server's prefixes."""
    return bool(target) and target[0] in chantypes


@functools.cache
def channel_pattern(chantypes: str = DEFAULT_CHANTYPES) -> str:
    """A regular expression for one whole channel name with these prefixes."""
    if not chantypes:
        return r"(?!)"  # a server without channels
    return f"[{re.escape(chantypes)}]{_CHANNEL_BODY}"


def is_channel_name(name: str, chantypes: str = DEFAULT_CHANTYPES) -> bool:
    """Whether name is a well-formed channel name: a prefix, at most 50 characters in all."""
    return re.fullmatch(channel_pattern(chantypes), name) is not None


def prefixes_text(chantypes: str = DEFAULT_CHANTYPES) -> str:
    """The prefixes in words, for a hint: '# or &', '#, & or +'."""
    if len(chantypes) < 2:
        return chantypes or "nothing (this server has no channels)"
    return ", ".join(chantypes[:-1]) + " or " + chantypes[-1]


def check_channel(value: str, chantypes: str = RFC_CHANTYPES) -> str:
    """value if it is a channel name, else ValueError (for the configuration)."""
    if not is_channel_name(value, chantypes):
        raise ValueError(
            f"not an IRC channel name (like #example, at most {MAX_CHANNEL} characters): {value!r}"
        )
    return value
