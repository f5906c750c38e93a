"""Asking the server whether a nick is /away, one WHO at a time per nick."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

WHO_TIMEOUT = 5.0


class WhoAsker:
    """WHO questions in flight, answered by the client's 352 and 315 lines."""

    def __init__(self, fold: Callable[[str], str], ask: Callable[[str], object]) -> None:
        self._fold = fold
        self._ask = ask
        self._waiters: dict[str, asyncio.Future[bool | None]] = {}

    async def away(self, nick: str) -> bool | None:
        """True when nick is away, False when here, None when the server does not say."""
        key = self._fold(nick)
        # Asked afresh each time: it is asked only when a highlight would be dropped,
        # and a stale "here" would drop the first highlight after someone left.
        waiter = self._waiters.get(key)
        if waiter is None:
            waiter = asyncio.get_running_loop().create_future()
            self._waiters[key] = waiter
            self._ask(nick)
        try:
            async with asyncio.timeout(WHO_TIMEOUT):
                return await asyncio.shield(waiter)
        except TimeoutError:
            self._waiters.pop(key, None)
            return None

    def reply(self, nick: str, flags: str) -> None:
        """A WHO line (352): H is here, G is gone (away)."""
        self._settle(nick, flags.startswith("G"))

    def end(self, mask: str) -> None:
        """End of WHO (315): a nick without a 352 is not there to be asked."""
        self._settle(mask, None)

    def _settle(self, nick: str, away: bool | None) -> None:
        waiter = self._waiters.pop(self._fold(nick), None)
        if waiter is not None and not waiter.done():
            waiter.set_result(away)
