"""The outgoing lines of one network: rate-limited, and done only when the server confirmed them.

A write to a socket proves nothing (a black-holed link swallows it), so a
PRIVMSG or NOTICE stays "in flight" until the server shows it processed it:
its echo where the server offers `echo-message`, else the PONG to a PING we
send after it (servers answer in order). What is in flight when the link
drops is sent again, first, on the next connection; what was confirmed never
is. A refusal (no such nick, cannot send to channel) fails the send's future.

Every line the bot writes after registration comes through here, pydle's own
included (irc/client.py routes its rawmsg here), in the order irc/lanes.py
gives: SMS answers, then the protocol, then command answers fairly by target.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from highlightd.core.ratelimit import TokenBucket
from highlightd.irc.delivery import DeliveryRefused
from highlightd.irc.lanes import Group, Line, Pending, Priority

log = logging.getLogger(__name__)

CONFIRMED = frozenset({"PRIVMSG", "NOTICE"})
# The numerics that answer a PRIVMSG or NOTICE the server will not pass on.
REFUSALS = frozenset({"401", "403", "404", "442"})
BARRIER_PREFIX = "hl"
# In a backlog, a barrier at least every this many lines, so confirmations keep coming.
BARRIER_EVERY = 5
RETRY_PAUSE = 0.1
# The "numeric" of a line that could not even be written (pydle cannot build it).
UNWRITABLE = "local"
# Command answers waiting past this many lines are dropped: a crowd of askers
# (each within its own limit) must not grow the queue without end.
COMMAND_BACKLOG = 200
FULL = "queue"


class Link(Protocol):
    """The connection lines are written to (irc.client.PydleClient)."""

    @property
    def echo(self) -> bool:
        """Whether the server echoes our own messages (echo-message)."""
        ...

    def usable(self) -> bool: ...

    async def write_lines(self, lines: Sequence[tuple[str, tuple[str, ...]]]) -> None:
        """Lines in one write (one send): all built before any is written."""


class SendQueue:
    """One network's outgoing lines; `run` writes them whenever a link is attached."""

    def __init__(self, network: str, bucket: TokenBucket, fold: Callable[[str], str]) -> None:
        self._network = network
        self._bucket = bucket
        self._fold = fold
        self._pending = Pending()
        self._inflight: collections.deque[Line] = collections.deque()
        self._wake = asyncio.Event()
        self._link: Link | None = None
        self._barriers = itertools.count(1)
        self._full = False
        self._closed = False

    def put(
        self,
        command: str,
        params_list: Sequence[tuple[str, ...]],
        priority: Priority = Priority.ANSWER,
        link: object | None = None,
    ) -> asyncio.Future[None]:
        """Queue lines as one unit; the future resolves once all are confirmed.

        A line given a link is written only on that connection (dropped with it).
        """
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        group = Group(done, len(params_list))
        if not params_list:
            done.set_result(None)
            return done
        if priority is Priority.COMMAND and not self._room(len(params_list)):
            target = params_list[0][0] if params_list[0] else ""
            done.set_exception(DeliveryRefused(target, FULL, "too many answers waiting"))
            return done
        for params in params_list:
            key = self._fold(params[0]) if params else ""
            self._pending.push(Line(command, params, group, key, priority, link))
        self._wake.set()
        return done

    @property
    def backlog(self) -> int:
        """Lines waiting to be written."""
        return len(self._pending)

    def _room(self, lines: int) -> bool:
        full = self._pending.commands + lines > COMMAND_BACKLOG
        if full != self._full:
            self._full = full
            if full:
                log.warning(
                    "%s: %d command answers waiting; dropping more", self._network, COMMAND_BACKLOG
                )
            else:
                log.info("%s: command answers flow again", self._network)
        return not full

    def stalled(self, limit: float) -> bool:
        """Whether the oldest line in flight waits for the server longer than limit seconds."""
        return bool(self._inflight) and time.monotonic() - self._inflight[0].written > limit

    def attach(self, link: Link) -> None:
        """A connection is registered: write to it."""
        self._link = link
        self._wake.set()

    def detach(self) -> None:
        """The connection is gone: what it did not confirm goes first on the next one."""
        self._link = None
        again = [line for line in self._inflight if not line.group.over]
        self._inflight.clear()
        for line in again:
            line.barrier = None
        if again:
            log.info(
                "%s: %d line(s) unconfirmed when the link dropped; sending them again",
                self._network,
                len(again),
            )
        self._pending.push_front(again)

    # What the server answered, in wire order

    def pong(self, token: str) -> None:
        """A PONG: every line before the barrier it answers was processed."""
        if not token.startswith(BARRIER_PREFIX) or not token[len(BARRIER_PREFIX) :].isdigit():
            return
        number = int(token[len(BARRIER_PREFIX) :])
        while self._inflight:
            head = self._inflight[0]
            if head.barrier is None or head.barrier > number:
                break
            self._inflight.popleft()
            self._confirm(head)

    def echoed(self, command: str, target: str, text: str) -> None:
        """Our own message came back (echo-message): the server took it."""
        key = self._fold(target)
        candidates = [
            line for line in self._inflight if line.command == command.upper() and line.key == key
        ]
        line = next((c for c in candidates if c.params[-1:] == (text,)), None)
        if line is None and candidates and not text.startswith("\x01"):
            line = candidates[0]  # the server changed the text (colours stripped)
        if line is not None:
            self._inflight.remove(line)
            self._confirm(line)

    def refused(self, numeric: str, target: str, reason: str) -> None:
        """A numeric error naming target: the oldest unconfirmed line to it was refused."""
        if numeric not in REFUSALS:
            return
        key = self._fold(target)
        window = self._head_window()
        line = next((line for line in window if line.key == key), None)
        if line is None:
            return  # an answer to a line of pydle's own (MODE, WHO)
        log.info("%s: %s refused a line: %s (%s)", self._network, target, reason, numeric)
        self._fail(line.group, DeliveryRefused(target, numeric, reason))

    def _fail(self, group: Group, exc: DeliveryRefused) -> None:
        self._inflight = collections.deque(x for x in self._inflight if x.group is not group)
        self._pending.drop(lambda x: x.group is group)
        if not group.over:
            group.done.set_exception(exc)

    def _head_window(self) -> list[Line]:
        # Lines up to the first barrier not yet answered: the server's next replies are theirs.
        if not self._inflight:
            return []
        first = self._inflight[0].barrier
        return list(itertools.takewhile(lambda line: line.barrier == first, self._inflight))

    def _confirm(self, line: Line) -> None:
        group = line.group
        group.left -= 1
        if group.left <= 0 and not group.over:
            group.done.set_result(None)

    # Writing

    def close(self) -> None:
        """Stop `run` at its next turn, even if a cancellation was swallowed.

        Python 3.11's asyncio.wait_for (pydle's write: drain under a timeout) drops
        a cancellation that arrives as the drain completes; run would then wait on.
        """
        self._closed = True
        self._wake.set()

    async def run(self) -> None:
        while not self._closed:
            link = self._link
            nxt = self._next(link)
            barrier = link is not None and self._barrier_due(link, nxt)
            if link is None or not (barrier or nxt):
                self._wake.clear()
                await self._wake.wait()
            elif not link.usable():
                await asyncio.sleep(RETRY_PAUSE)
            elif wait := self._bucket.delay():
                await asyncio.sleep(wait)
            elif barrier:
                await self._write_barrier(link)
            else:
                await self._write_one(link)

    def _next(self, link: Link | None) -> Line | None:
        """The line to write next, past those cancelled, refused, or of a gone connection."""
        if link is None:
            return None
        while (line := self._pending.head()) is not None:
            if not line.group.over and line.link in (None, link):
                return line
            self._pending.pop()
            if not line.group.over:
                line.group.done.set_result(None)  # its connection is gone: moot
        return None

    async def _write_one(self, link: Link) -> None:
        line = self._pending.pop()
        self._bucket.take()
        tracked = line.command in CONFIRMED
        lines = [(line.command, line.params)]
        barrier = None
        if tracked:
            # In flight before the write: a drop during it sends the line again.
            line.written = time.monotonic()
            self._inflight.append(line)
            # The PING due right after it goes in the same write: one send, one read.
            if self._barrier_due(link, self._next(link)) and not self._bucket.delay():
                barrier = self._cover()
                self._bucket.take()
                lines.append(("PING", (f"{BARRIER_PREFIX}{barrier}",)))
        try:
            await link.write_lines(lines)
        except (OSError, AttributeError, TimeoutError) as exc:
            log.debug("%s: write failed (%s); resent after reconnecting", self._network, exc)
            await asyncio.sleep(RETRY_PAUSE)
            return
        except Exception as exc:  # a line pydle cannot build: it fails, not the queue
            log.exception("%s: cannot write %s %s", self._network, line.command, line.params[:1])
            for other in self._inflight:  # nothing was written: no PONG will come
                if barrier is not None and other.barrier == barrier:
                    other.barrier = None
            target = line.params[0] if line.params else ""
            self._fail(line.group, DeliveryRefused(target, UNWRITABLE, str(exc)))
            return
        if not tracked:
            self._confirm(line)  # WHO and the like: nothing to resend later

    def _barrier_due(self, link: Link, nxt: Line | None) -> bool:
        """Whether to PING now: lines wait for it, and what comes next does not."""
        uncovered = [line for line in self._inflight if line.barrier is None]
        if not uncovered or link.echo:
            return False
        last = uncovered[-1]
        if nxt is not None and nxt.group is last.group:
            return False  # never between the lines of one send
        if nxt is None or len(uncovered) >= BARRIER_EVERY:
            return True
        # Two sends to one target in a window could not tell whose refusal is whose.
        return any(line.key == nxt.key for line in uncovered)

    def _cover(self) -> int:
        """A new barrier for every line in flight not under one yet: the PING's token."""
        number = next(self._barriers)
        for line in self._inflight:
            if line.barrier is None:
                line.barrier = number
        return number

    async def _write_barrier(self, link: Link) -> None:
        number = self._cover()
        self._bucket.take()  # servers count a PING against flooding too
        try:
            await link.write_lines([("PING", (f"{BARRIER_PREFIX}{number}",))])
        except Exception as exc:  # the link is going: its lines go again on the next one
            log.debug("%s: PING failed (%s); resent after reconnecting", self._network, exc)
