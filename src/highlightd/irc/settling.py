"""When who is in each wanted channel is known, so that an answer can be routed.

pydle handles each line in a task of its own, so a channel's users from NAMES
(353) may be filled after the end of NAMES (366) was handled (no WHOIS is sent
any more: irc/queuedclient.py). Settled waits for both.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator, Sequence

# A server that never ends NAMES for a channel: go on with what is known after this.
SETTLE_TIMEOUT = 10.0


class Settling:
    """Sets `event` once every wanted channel's NAMES ended (or its JOIN was refused)."""

    def __init__(self, channels: Sequence[str], fold: Callable[[str], str]) -> None:
        self.event = asyncio.Event()
        self._channels = tuple(channels)
        self._fold = fold
        self._names_ended: set[str] = set()
        self._busy = 0
        self._timer: asyncio.TimerHandle | None = None

    @contextlib.contextmanager
    def handling(self) -> Iterator[None]:
        """Around pydle's handler of a JOIN or NAMES line: not settled while it runs."""
        self._busy += 1
        try:
            yield
        finally:
            self._busy -= 1
            self.check()

    def known(self, channel: str) -> None:
        """The server ended channel's NAMES, or refused to let us in."""
        self._names_ended.add(self._fold(channel))
        self.check()

    def check(self) -> None:
        wanted = {self._fold(c) for c in self._channels}
        if not self._busy and wanted <= self._names_ended:
            self.event.set()

    def start(self) -> None:
        """Registered, JOINs sent: settled when all is known, or SETTLE_TIMEOUT from now."""
        self.check()
        self._timer = asyncio.get_running_loop().call_later(SETTLE_TIMEOUT, self.event.set)

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
