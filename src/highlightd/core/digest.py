"""One SMS for several held highlights: the digest text. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from highlightd.core.smstext import encoding, fit, format_highlight, segments, strip_irc_formatting


@dataclass(frozen=True, slots=True)
class Held:
    channel: str
    sender: str
    text: str
    at: float


def digest_text(held: Sequence[Held], max_segments: int) -> str:
    """One SMS for several held highlights: the latest in full, then a count.

    `3 highlights: [#b] <carol> text (+2 more in #a, #b)`
    """
    if not held:
        raise ValueError("a digest needs at least one highlight")
    ordered = sorted(held, key=lambda h: h.at)
    latest = ordered[-1]
    if len(ordered) == 1:
        return format_highlight(latest.channel, latest.sender, latest.text, max_segments)
    channel, sender = _flat(latest.channel), _flat(latest.sender)
    head = f"[{channel}] <{sender}> " if channel else f"<{sender}> "
    channels = sorted({h.channel or "private" for h in ordered[:-1]})
    prefix = f"{len(ordered)} highlights: {head}"
    suffix = f" (+{len(ordered) - 1} more in {', '.join(channels)})"
    text = _flat(latest.text)
    whole = prefix + text + suffix
    if segments(whole) <= max_segments:
        return whole
    # Cut the message, never the count.
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if segments(_cut(prefix, text[:mid], suffix)) <= max_segments:
            lo = mid
        else:
            hi = mid - 1
    candidate = _cut(prefix, text[:lo], suffix)
    if segments(candidate) <= max_segments:
        return candidate
    return fit(prefix + suffix.strip(), max_segments)


def _cut(prefix: str, kept: str, suffix: str) -> str:
    # "…" only where what is kept is UCS-2 anyway: it would switch a GSM-7 SMS.
    kept = kept.rstrip()
    ellipsis = "…" if encoding(prefix + kept + suffix) == "UCS-2" else "..."
    return prefix + kept + ellipsis + suffix


def _flat(text: str) -> str:
    return " ".join(strip_irc_formatting(text).split())
