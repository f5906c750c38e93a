"""The lines waiting to be written, in the order they go: by priority, command answers fairly.

Flood control lets a few lines a second through; what waits is sorted here.
SMS answers go first (someone is waiting on a phone), then the protocol (JOIN,
PING, PONG, MODE, WHO: the link and our state depend on them), then answers to
commands and CTCP, taken round-robin by target so that one nick's backlog never
holds up another's. Within a priority, and within one target, order is kept.
"""

from __future__ import annotations

import asyncio
import collections
import enum
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field


class Priority(enum.IntEnum):
    QUIT = 0  # the last line of a connection, written before anything else waiting
    ANSWER = 1  # SMS answers said on IRC
    PROTOCOL = 2  # JOIN, PING, PONG, MODE, NICK, WHO...
    COMMAND = 3  # NOTICE answers to commands, CTCP replies, pointers in channels


def priority_of(command: str) -> Priority:
    """The priority of a line pydle writes itself (its PRIVMSG and NOTICE are CTCP)."""
    command = command.upper()
    if command == "QUIT":
        return Priority.QUIT
    return Priority.COMMAND if command in ("PRIVMSG", "NOTICE") else Priority.PROTOCOL


@dataclass(eq=False, slots=True)
class Group:
    """The lines of one send(): one future, done when every line is confirmed."""

    done: asyncio.Future[None]
    left: int

    @property
    def over(self) -> bool:
        return self.done.done()


@dataclass(eq=False, slots=True)
class Line:
    command: str
    params: tuple[str, ...]
    group: Group = field(repr=False)
    key: str = ""  # the folded target
    priority: Priority = Priority.ANSWER
    # The connection the line belongs to (a PONG, pydle's MODE): None goes on any.
    link: object | None = field(default=None, repr=False)
    barrier: int | None = None  # the PING written after it (PING mode)
    written: float = 0.0  # when it was written (monotonic clock)


class Pending:
    """Waiting lines: one FIFO per priority, and per target for command answers."""

    def __init__(self) -> None:
        self._lanes: dict[Priority, collections.deque[Line]] = {
            p: collections.deque() for p in Priority if p is not Priority.COMMAND
        }
        self._targets: collections.OrderedDict[str, collections.deque[Line]] = (
            collections.OrderedDict()
        )
        self.commands = 0  # command lines waiting

    def __len__(self) -> int:
        return self.commands + sum(len(lane) for lane in self._lanes.values())

    def __iter__(self) -> Iterator[Line]:
        for lane in self._lanes.values():
            yield from lane
        for lines in self._targets.values():
            yield from lines

    def push(self, line: Line) -> None:
        if line.priority is Priority.COMMAND:
            self._targets.setdefault(line.key, collections.deque()).append(line)
            self.commands += 1
        else:
            self._lanes[line.priority].append(line)

    def push_front(self, lines: Iterable[Line]) -> None:
        """Lines to go again first (unconfirmed when a link dropped), in their order."""
        for line in reversed(list(lines)):
            if line.priority is Priority.COMMAND:
                self._targets.setdefault(line.key, collections.deque()).appendleft(line)
                self._targets.move_to_end(line.key, last=False)
                self.commands += 1
            else:
                self._lanes[line.priority].appendleft(line)

    def head(self) -> Line | None:
        """The line to write next, left in place."""
        for lane in self._lanes.values():
            if lane:
                return lane[0]
        for lines in self._targets.values():
            return lines[0]
        return None

    def pop(self) -> Line:
        """Take the head; a target whose send is complete goes to the back of the round."""
        for lane in self._lanes.values():
            if lane:
                return lane.popleft()
        key, lines = next(iter(self._targets.items()))
        line = lines.popleft()
        self.commands -= 1
        if not lines:
            del self._targets[key]
        elif lines[0].group is not line.group:
            self._targets.move_to_end(key)
        return line

    def drop(self, unwanted: Callable[[Line], bool]) -> None:
        for priority, lane in self._lanes.items():
            self._lanes[priority] = collections.deque(x for x in lane if not unwanted(x))
        for key in list(self._targets):
            kept = collections.deque(x for x in self._targets[key] if not unwanted(x))
            self.commands -= len(self._targets[key]) - len(kept)
            if kept:
                self._targets[key] = kept
            else:
                del self._targets[key]
