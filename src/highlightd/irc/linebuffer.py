"""Cutting what the server sends into lines, so that no line can stop the reader.

pydle reads with StreamReader.readline, which raises past asyncio's 64 KiB
limit and leaves its read loop dead with the socket open. Here a line too long
for IRC is dropped, and only a stream that never ends a line is an error.
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

# IRCv3 allows 8191 bytes of message tags before the classic 512-byte line.
MAX_LINE = 8191 + 512
# Bytes without a line end after which the server is not speaking IRC.
BUFFER_LIMIT = 64 * 1024


class LineOverflow(Exception):
    """More than BUFFER_LIMIT bytes arrived without a line end."""


class LineBuffer:
    """Accumulates received bytes; hands back complete lines without their line end."""

    def __init__(self, max_line: int = MAX_LINE, limit: int = BUFFER_LIMIT) -> None:
        self._max_line = max_line
        self._limit = limit
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        """The complete lines now available; raises LineOverflow on a runaway line.

        A line longer than the limit is a runaway whether or not its end arrived in
        the same read, so the outcome does not depend on how TCP cut the stream.
        """
        self._buffer += data
        *lines, rest = self._buffer.split(b"\n")
        self._buffer = bytearray(rest)
        longest = max(len(line) for line in (*lines, rest))
        if longest > self._limit:
            self._buffer.clear()
            raise LineOverflow(f"{longest} bytes without a line end")
        kept = []
        for line in lines:
            line = line.removesuffix(b"\r")
            if len(line) > self._max_line:
                log.debug("dropped a line of %d bytes (limit %d)", len(line), self._max_line)
            elif line.strip():
                kept.append(bytes(line))
        return kept
