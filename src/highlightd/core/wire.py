"""Making outside text (an SMS reply) safe and sized for the IRC wire."""

from __future__ import annotations

import re

__all__ = ["clean", "split_utf8"]

_LINE_BREAKS = re.compile(r"[\r\n\t]+")
# C0 controls and DEL, except TAB/LF/CR (made spaces first) and the IRC formatting
# codes \x02 \x03 \x04 \x0f \x11 \x16 \x1d \x1e \x1f, which a user may mean to send.
# \x01 goes too: it would let an SMS smuggle in a CTCP request.
_CONTROLS = re.compile(r"[\x00\x01\x05-\x08\x0b\x0c\x0e\x10\x12-\x15\x17-\x1c\x7f]")
# str.strip() would also eat \x1c-\x1f, which are formatting codes (italic,
# strikethrough, underline) on IRC, so trim only real spaces.
_SPACES = (
    " \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
    "\u2028\u2029\u202f\u205f\u3000"
)

# The longest UTF-8 sequence; a smaller limit could not always make progress.
_MIN_LIMIT = 4


def clean(text: str) -> str:
    """Return text with no CR, LF, NUL or CTCP marker, line breaks made spaces, trimmed."""
    return _CONTROLS.sub("", _LINE_BREAKS.sub(" ", text)).strip(_SPACES)


def split_utf8(text: str, limit: int = 400) -> list[str]:
    """Split text into chunks of at most limit UTF-8 bytes, preferring to break at spaces.

    A break at a space drops that run of spaces; a word longer than a chunk is cut
    at a character boundary. No chunk is empty.
    """
    if limit < _MIN_LIMIT:
        raise ValueError(f"limit must be at least {_MIN_LIMIT} bytes, not {limit}")
    data = text.encode("utf-8", "surrogatepass")
    chunks: list[str] = []
    pos, size = 0, len(data)
    while pos < size:
        if size - pos <= limit:
            chunks.append(data[pos:].decode("utf-8", "surrogatepass"))
            break
        end = pos + limit
        # Back off to the start of a character: continuation bytes are 0b10xxxxxx.
        while data[end] & 0xC0 == 0x80:
            end -= 1
        # A space right after the chunk (at end) is as good a break as one inside it.
        space = data.rfind(b" ", pos + (end - pos) // 2, end + 1)
        if space > pos:
            # Drop the whole run of spaces at the break, so that no line starts or ends
            # with spaces, or is nothing but spaces.
            chunk = data[pos:space].rstrip(b" ")
            if chunk:
                chunks.append(chunk.decode("utf-8", "surrogatepass"))
            pos = space + 1
            while pos < size and data[pos] == 0x20:
                pos += 1
        else:
            chunks.append(data[pos:end].decode("utf-8", "surrogatepass"))
            pos = end
    return chunks
