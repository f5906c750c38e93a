"""What became of a line the IRC side was asked to say."""

from __future__ import annotations

import asyncio


class DeliveryRefused(Exception):
    """The server refused the line: no such nick or channel, not on it, banned."""

    def __init__(self, target: str, numeric: str, reason: str) -> None:
        super().__init__(f"{target}: {reason} ({numeric})")
        self.target = target
        self.numeric = numeric
        self.reason = reason


def retrieved(done: asyncio.Future[None]) -> None:
    """A done-callback for a send nobody may wait for: its exception counts as seen."""
    if not done.cancelled():
        done.exception()
