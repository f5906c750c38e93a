"""Per-nick memory that cannot grow with the number of nicks an attacker makes up.

Anything keyed by a nick is kept for a bounded number of recent nicks: nick
churn (20,000 one-off senders) evicts the oldest, never the process's memory.
"""

from __future__ import annotations

import collections
import enum
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

# How many nicks each table remembers at most.
CAPACITY = 2048

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Lru(Generic[K, V]):
    """A mapping that keeps only its CAPACITY most recently written keys."""

    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._items: collections.OrderedDict[K, V] = collections.OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self._capacity:
            self._items.popitem(last=False)

    def get(self, key: K) -> V | None:
        return self._items.get(key)

    def pop(self, key: K) -> V | None:
        return self._items.pop(key, None)

    def clear(self) -> None:
        self._items.clear()


class Verdict(enum.Enum):
    ALLOWED = "allowed"
    REFUSED_FIRST = "refused, say so"  # the first refusal in this window: tell them once
    REFUSED = "refused"


class Windows:
    """At most `limit` actions per key in a window of `window` seconds (fixed windows)."""

    def __init__(
        self,
        limit: int,
        window: float = 60.0,
        capacity: int = CAPACITY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window = window
        self._capacity = capacity
        self._clock = clock
        # key -> [window start, actions in it, refusals in it], least recently used first
        self._keys: collections.OrderedDict[Hashable, list[float]] = collections.OrderedDict()

    def __len__(self) -> int:
        return len(self._keys)

    def take(self, key: Hashable) -> Verdict:
        now = self._clock()
        # Least recently used first: expired windows are at the front.
        while self._keys and now - next(iter(self._keys.values()))[0] >= self.window:
            self._keys.popitem(last=False)
        entry = self._keys.get(key)
        if entry is None or now - entry[0] >= self.window:
            entry = self._keys[key] = [now, 0, 0]
            while len(self._keys) > self._capacity:
                self._keys.popitem(last=False)
        self._keys.move_to_end(key)
        if entry[1] < self.limit:
            entry[1] += 1
            return Verdict.ALLOWED
        entry[2] += 1
        return Verdict.REFUSED_FIRST if entry[2] == 1 else Verdict.REFUSED
