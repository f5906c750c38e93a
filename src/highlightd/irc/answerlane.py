"""One network's SMS answers, in order, each with what routing read for it.

The relay reads an answer's registrations and last highlight when it takes the
answer from the bus, and routes it with that when its turn comes, if that is soon
(FRESH). An answer that waited longer, behind a backlog, has it read again, with
up to REFRESH of those behind it: one trip to the store for all of them.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from highlightd.infra.bus import Reply
from highlightd.store.relayed import Lookup

# What routing read serves this long; older, it is read again before the answer is said.
FRESH = 1.0
REFRESH = 100

LookUp = Callable[[list[Reply]], Awaitable[list[Lookup]]]


@dataclass(frozen=True, slots=True)
class Taken:
    reply: Reply
    lookup: Lookup
    at: float  # time.monotonic() of the lookup

    def fresh(self) -> bool:
        return time.monotonic() - self.at <= FRESH


class AnswerLane:
    """A FIFO of taken answers; `next` hands out the oldest with a fresh lookup."""

    def __init__(self, look_up: LookUp) -> None:
        self._look_up = look_up
        self._waiting: collections.deque[Taken] = collections.deque()
        self._ready = asyncio.Event()

    @property
    def waiting(self) -> int:
        """Answers in the lane, not handed out yet."""
        return len(self._waiting)

    def put(self, taken: Taken) -> None:
        self._waiting.append(taken)
        self._ready.set()

    async def next(self) -> Taken:
        while not self._waiting:
            self._ready.clear()
            await self._ready.wait()
        if not self._waiting[0].fresh():
            stale = list(itertools.islice(self._waiting, REFRESH))
            # When this fails, each answer reads for itself, inside its own guard.
            with contextlib.suppress(Exception):
                lookups = await self._look_up([t.reply for t in stale])
                now = time.monotonic()
                # Only this task takes from the left: the first len(stale) are still these.
                for i, (taken, lookup) in enumerate(zip(stale, lookups, strict=True)):
                    self._waiting[i] = Taken(taken.reply, lookup, now)
        return self._waiting.popleft()
