"""The channels of one network: which we are in, and getting back into them.

Kicked, or refused at the door for a reason that may pass (invite-only, full,
bad key), the bot tries again with a doubling delay; banned (474), it stops
and says so once. What `joined` answers follows the server's JOIN, PART and
KICK lines, so routing never counts on a channel the bot is not in.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence

from highlightd.infra.retry import Backoff

log = logging.getLogger(__name__)

BANNED = "474"
# Refusals no retry fixes until an operator acts: banned, no such or a bad channel name.
PERMANENT = frozenset({BANNED, "403", "476", "479"})
# Refusals that may pass: full, invite-only, bad key, too many channels, need a
# registered nick, temporarily unavailable.
PASSING = frozenset({"471", "473", "475", "405", "477", "437"})
REJOIN_INITIAL = 1.0
REJOIN_CAP = 300.0

Join = Callable[[str], Awaitable[None]]


class Channels:
    """Wanted channels, joined channels, and the rejoins between the two."""

    def __init__(self, network: str, wanted: Sequence[str], fold: Callable[[str], str]) -> None:
        self._network = network
        self._wanted = tuple(wanted)
        self._fold = fold
        self._joined: set[str] = set()
        self._joining: set[str] = set()
        self._given_up: set[str] = set()
        self._backoffs: dict[str, Backoff] = {}
        self._rejoins: dict[str, asyncio.Task[None]] = {}
        self._join: Join | None = None

    def joined(self, channel: str) -> bool:
        return self._fold(channel) in self._joined

    def wanted(self, channel: str) -> bool:
        key = self._fold(channel)
        return any(self._fold(c) == key for c in self._wanted)

    def attach(self, join: Join) -> None:
        """Connected: the client joins every wanted channel itself; rejoins go through join."""
        self._join = join
        self._joining = {self._fold(c) for c in self._wanted}

    def detach(self) -> None:
        """Disconnected: in no channel, and no rejoin until the next connection."""
        self._join = None
        self._joined.clear()
        self._joining.clear()
        for task in self._rejoins.values():
            task.cancel()
        self._rejoins.clear()

    # What the server said, in wire order

    def entered(self, channel: str) -> None:
        key = self._fold(channel)
        self._joined.add(key)
        self._joining.discard(key)
        if key in self._given_up:
            self._given_up.discard(key)
            log.info("%s: in %s again", self._network, channel)
        if key in self._backoffs:
            self._backoffs[key].succeeded()

    def left(self, channel: str, kicked_by: str | None, reason: str) -> None:
        """We parted, or were kicked: a kick from a wanted channel is answered with a rejoin."""
        key = self._fold(channel)
        self._joined.discard(key)
        if kicked_by is not None and self.wanted(channel):
            self._retry(channel, f"kicked by {kicked_by}: {reason}")

    def refused(self, numeric: str, channel: str, reason: str) -> None:
        """A numeric error about a channel: it matters only for one we are joining."""
        key = self._fold(channel)
        if key not in self._joining or not (numeric in PERMANENT or numeric in PASSING):
            return
        self._joining.discard(key)
        if numeric in PASSING:
            self._retry(channel, f"{reason} ({numeric})")
            return
        if key not in self._given_up:
            self._given_up.add(key)
            log.error(
                "%s: cannot join %s: %s (%s); not retrying until the next connection",
                self._network,
                channel,
                reason,
                numeric,
            )

    # Rejoining

    def _retry(self, channel: str, why: str) -> None:
        key = self._fold(channel)
        if self._join is None or key in self._rejoins:
            return
        backoff = self._backoffs.get(key)
        if backoff is None:
            what = f"irc network {self._network} channel {channel}"
            backoff = Backoff(what, log, initial=REJOIN_INITIAL, cap=REJOIN_CAP)
            self._backoffs[key] = backoff
        delay = backoff.failed(why)
        task = asyncio.create_task(self._rejoin(channel, delay), name=f"rejoin {channel}")
        self._rejoins[key] = task

    async def _rejoin(self, channel: str, delay: float) -> None:
        key = self._fold(channel)
        try:
            await asyncio.sleep(delay)
            join = self._join
            if join is None or key in self._joined:
                return
            self._joining.add(key)
            await join(channel)
        except (OSError, AttributeError, TimeoutError) as exc:
            # The link is going down; the next connection joins every wanted channel.
            log.debug("%s: rejoining %s failed: %s", self._network, channel, exc)
        except Exception:
            log.exception("%s: rejoining %s failed", self._network, channel)
        finally:
            if self._rejoins.get(key) is asyncio.current_task():
                del self._rejoins[key]
