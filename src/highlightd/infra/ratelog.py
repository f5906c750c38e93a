"""A log line for things anyone can make happen, at most once an interval, with the count.

Whoever can reach the port can send forged requests by the thousand: one WARNING
each would flood the log (and the disk). The first is logged at once; the rest are
counted, by reason, and summed up in one line when the interval has passed.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable


class ThrottledLog:
    """At most one line per `interval` seconds, saying how many events it stands for."""

    def __init__(
        self,
        logger: logging.Logger,
        what: str,
        interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        level: int = logging.WARNING,
    ) -> None:
        self._log = logger
        self._what = what  # "refused request(s)"
        self._interval = interval
        self._clock = clock
        self._level = level
        self._counts: Counter[str] = Counter()
        self._latest: str | Callable[[], str] = ""
        self._last_line: float | None = None

    def note(self, reason: str, detail: str | Callable[[], str]) -> None:
        """One more event; logged now if no line went out within the interval. `detail`
        may be a function: only the latest one's, and only when a line is written."""
        self._counts[reason] += 1
        self._latest = detail
        self.flush()

    def flush(self, force: bool = False) -> None:
        """Log what was counted, if anything was and the interval has passed (or force)."""
        if not self._counts:
            return
        now = self._clock()
        if not force and self._last_line is not None and now - self._last_line < self._interval:
            return
        total = sum(self._counts.values())
        reasons = ", ".join(f"{reason} {n}" for reason, n in self._counts.most_common())
        if self._last_line is None:
            self._log.log(
                self._level,
                "%d %s (%s); latest: %s; more are summed up here at most every %.0f s",
                total,
                self._what,
                reasons,
                self._detail(),
                self._interval,
            )
        else:
            self._log.log(
                self._level,
                "%d %s in the last %.0f s (%s); latest: %s",
                total,
                self._what,
                now - self._last_line,
                reasons,
                self._detail(),
            )
        self._counts.clear()
        self._last_line = now

    def _detail(self) -> str:
        latest = self._latest
        return latest if isinstance(latest, str) else latest()
