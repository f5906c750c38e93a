"""What became of a line the IRC side was asked to say."""

from __future__ import annotations


class DeliveryRefused(Exception):
    """The server refused the line: no such nick or channel, not on it, banned."""

    def __init__(self, target: str, numeric: str, reason: str) -> None:
        super().__init__(f"{target}: {reason} ({numeric})")
        self.target = target
        self.numeric = numeric
        self.reason = reason
