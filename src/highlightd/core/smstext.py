"""SMS text building: IRC formatting removal, GSM-7/UCS-2 segment arithmetic, fitting."""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

__all__ = [
    "GSM7_BASIC",
    "GSM7_EXTENSION",
    "Encoding",
    "encoding",
    "fit",
    "format_highlight",
    "segments",
    "strip_irc_formatting",
    "units",
]

Encoding = Literal["GSM-7", "UCS-2"]

# 3GPP TS 23.038 default alphabet, in code order 0x00-0x7F, minus 0x1B (ESC, which
# introduces the extension table and is not a character). 0x09 is the capital
# C-cedilla as in the standard; a lower-case "ç" therefore forces UCS-2.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
# Each of these is sent as ESC + code, so it costs two septets.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
_GSM7 = GSM7_BASIC | GSM7_EXTENSION

# Per-segment capacity in units. A message longer than one segment carries a 6-byte
# concatenation header in each part, hence 153 rather than 160 (and 67 rather than 70).
_SINGLE = {"GSM-7": 160, "UCS-2": 70}
_MULTI = {"GSM-7": 153, "UCS-2": 67}

_FORMATTING = re.compile(
    r"\x03(?:[0-9]{1,2}(?:,[0-9]{1,2})?)?"
    r"|\x04(?:[0-9A-Fa-f]{6}(?:,[0-9A-Fa-f]{6})?)?"
    # Every other C0 control except TAB, LF, CR (which become spaces below), and DEL.
    r"|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
)
_LINE_BREAKS = re.compile(r"[\r\n\t]+")

_ZWJ = "\u200d"
# A cut at a word boundary reads better, but not at any price: give up at most this
# many characters of message for it.
_SPACE_LOOKBACK = 15


def strip_irc_formatting(text: str) -> str:
    """Remove IRC formatting and control codes; CR, LF and TAB runs become one space."""
    return _LINE_BREAKS.sub(" ", _FORMATTING.sub("", text))


def encoding(text: str) -> Encoding:
    """Return the encoding an SMS gateway will use for text."""
    return "GSM-7" if _GSM7.issuperset(text) else "UCS-2"


def _cost(char: str, enc: Encoding) -> int:
    if enc == "GSM-7":
        return 2 if char in GSM7_EXTENSION else 1
    return 2 if ord(char) > 0xFFFF else 1


def units(text: str) -> int:
    """Return the length in GSM-7 septets or, for UCS-2, in UTF-16 code units."""
    if encoding(text) == "GSM-7":
        return len(text) + sum(text.count(char) for char in GSM7_EXTENSION)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def segments(text: str) -> int:
    """Return how many SMS segments text is billed as (empty text is one)."""
    enc = encoding(text)
    if units(text) <= _SINGLE[enc]:
        return 1
    # Pack greedily, as phones and Twilio do: an escape pair or a surrogate pair is
    # never split across two parts, so a part may hold one unit less than 153/67.
    per_part = _MULTI[enc]
    count, used = 1, 0
    for char in text:
        cost = _cost(char, enc)
        if used + cost > per_part:
            count += 1
            used = 0
        used += cost
    return count


def _continues_previous(char: str) -> bool:
    # Cutting just before one of these would leave a bare base without its accent or
    # skin tone, or an emoji sequence ending in a joiner.
    return (
        char == _ZWJ
        or "\ufe00" <= char <= "\ufe0f"  # variation selectors (emoji vs text style)
        or "\U0001f3fb" <= char <= "\U0001f3ff"  # skin tone modifiers
        or "\U000e0020" <= char <= "\U000e007f"  # tag characters (subdivision flags)
        or unicodedata.category(char) in ("Mn", "Mc", "Me")
    )


def _is_regional_indicator(char: str) -> bool:
    return "\U0001f1e6" <= char <= "\U0001f1ff"


def _safe_cut(text: str, k: int) -> int:
    """Move cut position k left until it does not split a visible character."""
    while 0 < k < len(text) and (_continues_previous(text[k]) or text[k - 1] == _ZWJ):
        k -= 1
    if 0 < k < len(text) and _is_regional_indicator(text[k]):
        # Flags are pairs of regional indicators: an odd run before k ends in half a flag.
        run = 0
        while run < k and _is_regional_indicator(text[k - 1 - run]):
            run += 1
        if run % 2:
            k -= 1
    return k


def _with_ellipsis(head: str, tail: str, k: int) -> str:
    kept = head + tail[:k].rstrip()
    # "…" is not GSM-7: on a GSM-7 text it would switch the whole SMS to UCS-2 and
    # cut its capacity from 160 to 70, so GSM-7 texts get three dots.
    return kept + ("…" if encoding(kept) == "UCS-2" else "...")


def _fit(head: str, tail: str, max_segments: int) -> str | None:
    """Return head + tail, cut in tail and marked with an ellipsis to fit, or None."""
    whole = head + tail
    if segments(whole) <= max_segments:
        return whole
    if segments(_with_ellipsis(head, tail, 0)) > max_segments:
        return None
    # Longer prefixes never cost fewer segments, so bisect for the longest that fits.
    lo, hi = 0, len(tail) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if segments(_with_ellipsis(head, tail, mid)) <= max_segments:
            lo = mid
        else:
            hi = mid - 1
    best = lo
    space = tail.rfind(" ", max(0, best - _SPACE_LOOKBACK), best + 1)
    k = _safe_cut(tail, space if space > 0 else best)
    candidate = _with_ellipsis(head, tail, k)
    # Shrinking can only keep or lower the cost, but a shorter prefix may turn UCS-2
    # into GSM-7 with a longer ellipsis; check rather than argue.
    if segments(candidate) <= max_segments:
        return candidate
    return _with_ellipsis(head, tail, best)


def fit(text: str, max_segments: int = 1) -> str:
    """Return text unchanged if it fits in max_segments, else cut it and add an ellipsis."""
    if max_segments < 1:
        raise ValueError(f"max_segments must be at least 1, not {max_segments}")
    fitted = _fit("", text, max_segments)
    assert fitted is not None  # an ellipsis alone always fits in one segment
    return fitted


def format_highlight(channel: str, sender: str, text: str, max_segments: int = 1) -> str:
    """Return "[#chan] <sender> text" (or "<sender> text" for channel="") fitted to an SMS.

    Only the message is cut. In the extreme case where even the prefix and an
    ellipsis do not fit (a very long or non-GSM channel name), the channel name is
    cut instead and the message is reduced to the ellipsis; if the sender alone is
    too long, the whole line is cut like any text.
    """
    if max_segments < 1:
        raise ValueError(f"max_segments must be at least 1, not {max_segments}")
    channel = " ".join(strip_irc_formatting(channel).split())
    sender = " ".join(strip_irc_formatting(sender).split())
    body = " ".join(strip_irc_formatting(text).split())
    head = f"[{channel}] <{sender}> " if channel else f"<{sender}> "
    if not body:
        return fit(head.rstrip(), max_segments)
    fitted = _fit(head, body, max_segments)
    if fitted is not None:
        return fitted
    if channel:
        tail = f"] <{sender}> "
        # Longest channel prefix whose header still leaves room for the ellipsis.
        lo, hi = 0, len(channel) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if segments(_with_ellipsis(f"[{channel[:mid]}{tail}", body, 0)) <= max_segments:
                lo = mid
            else:
                hi = mid - 1
        k = _safe_cut(channel, lo)
        candidate = _with_ellipsis(f"[{channel[:k]}{tail}", body, 0)
        if segments(candidate) <= max_segments:
            return candidate
    return fit(head + body, max_segments)
