"""Timestamps of SMS answers at each hop of the daemon, in this process (benchmarks only).

The daemon's methods are wrapped where an answer passes: the webhook's commit, the
XADD, the relay's read and turn, the PRIVMSG written, the PONG, the said_sms record.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import itertools
import resource
import time
from collections.abc import Callable
from typing import Any

from common import percentile, row
from highlightd.infra.bus import Bus
from highlightd.irc import client as irc_client
from highlightd.irc.network import Network
from highlightd.irc.relay import Relay
from highlightd.irc.sendqueue import SendQueue
from highlightd.store.relayed import Relayed
from highlightd.store.smslog import ReceivedLog

PREFIX = "alice (SMS): "


class Pauses:
    """The garbage collector's pauses in this process, by generation: (count, total, longest)."""

    def __init__(self) -> None:
        self.by_gen: dict[int, list[float]] = {}
        self._start = 0.0
        gc.callbacks.append(self._note)

    def _note(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.by_gen.setdefault(info["generation"], []).append(time.perf_counter() - self._start)

    def show(self) -> None:
        for gen, pauses in sorted(self.by_gen.items()):
            row(f"  GC pauses, generation {gen}", f"{len(pauses)}, longest "
                f"{max(pauses) * 1e3:.2f} ms", f"total {sum(pauses) * 1e3:.1f} ms")  # fmt: skip
        self.by_gen.clear()


async def lag(stalls: list[float]) -> None:
    """How late the event loop runs a 1 ms timer: what any hop waits behind."""
    while True:
        start = time.perf_counter()
        await asyncio.sleep(0.001)
        stalls.append(time.perf_counter() - start - 0.001)


def preempted() -> int:
    """Times this process was switched out while it could have run (the machine's load)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_nivcsw


class Stamps:
    """When each answer (by body) passed each hop; the first time counts."""

    def __init__(self) -> None:
        self.at: dict[str, dict[str, float]] = {}
        self.bodies: dict[str, str] = {}  # MessageSid -> body
        self.writing = ""  # the answer whose PRIVMSG is in flight
        self.fed = 0.0  # when the client's line buffer last got data
        self.dispatch: list[float] = []  # data read -> PONG handed to the send queue
        self.gate = asyncio.Event()  # cleared: the relay takes nothing from the bus
        self.gate.set()

    def note(self, hop: str, body: str, when: float | None = None) -> None:
        self.at.setdefault(hop, {}).setdefault(body, when or time.perf_counter())

    def span(self, first: str, then: str, bodies: list[str]) -> list[float]:
        a, b = self.at.get(first, {}), self.at.get(then, {})
        return [b[x] - a[x] for x in bodies if x in a and x in b]


def wrap(cls: type, name: str, before: Callable[..., None] | None = None,
         after: Callable[..., None] | None = None) -> None:  # fmt: skip
    original = getattr(cls, name)
    if asyncio.iscoroutinefunction(original):

        @functools.wraps(original)
        async def coroutine(*args: Any, **kwargs: Any) -> Any:
            if before:
                before(*args, **kwargs)
            result = await original(*args, **kwargs)
            if after:
                after(*args, **kwargs)
            return result

        setattr(cls, name, coroutine)
    else:

        @functools.wraps(original)
        def plain(*args: Any, **kwargs: Any) -> Any:
            if before:
                before(*args, **kwargs)
            return original(*args, **kwargs)

        setattr(cls, name, plain)


def instrument(st: Stamps) -> None:
    def body_of(line: str) -> str:
        return line.removeprefix(PREFIX)

    def privmsg(queue: Any, link: Any) -> None:
        line = queue._pending.head()
        if line is not None and line.command == "PRIVMSG":
            st.writing = body_of(line.params[-1])
            st.note("written", st.writing)

    def pong(network: Any, token: str) -> None:
        now = time.perf_counter()
        st.dispatch.append(now - st.fed)
        st.note("pong", st.writing, now)

    def feed(buffer: Any, data: bytes) -> None:
        st.fed = time.perf_counter()

    def take(relay: Any, batch: Any, lanes: Any) -> None:
        for reply in batch:
            st.bodies[reply.sid] = reply.body
            st.note("read", reply.body)

    wrap(
        ReceivedLog, "take_if_answer", after=lambda _s, sms, *a, **k: st.note("committed", sms.body)
    )
    wrap(Bus, "publish_many", after=lambda _b, batch: [st.note("xadd", s.body) for s in batch])
    wrap(Relay, "_take_all", before=take)
    taking = Relay._take_all

    async def gated(relay: Relay, batch: Any, lanes: Any) -> None:
        await st.gate.wait()
        await taking(relay, batch, lanes)

    Relay._take_all = gated  # type: ignore[method-assign]
    wrap(Relay, "_handle", before=lambda _r, t: st.note("turn", t.reply.body),
         after=lambda _r, t: st.note("sent", t.reply.body))  # fmt: skip
    wrap(SendQueue, "_write_one", before=privmsg)
    wrap(Network, "pong", before=pong)
    wrap(irc_client.LineBuffer, "feed", before=feed)
    wrap(Relayed, "record", before=lambda _r, sid, o: st.note("record", st.bodies[sid]),
         after=lambda _r, sid, o: st.note("recorded", st.bodies[sid]))  # fmt: skip


def show(st: Stamps, hops: list[str], bodies: list[str]) -> None:
    for first, then in itertools.pairwise(hops):
        spans = st.span(first, then, bodies)
        if spans:
            p50, p99 = percentile(spans, 0.5), percentile(spans, 0.99)
            mean = sum(spans) / len(spans)
            row(f"  {first} -> {then}", f"p50 {p50 * 1e3:.2f} p99 {p99 * 1e3:.2f} ms",
                f"mean {mean * 1e3:.2f} ms")  # fmt: skip


def cycle(st: Stamps, bodies: list[str]) -> None:
    """The relay's cycle in a backlog: one answer's turn to the next one's, in parts."""
    turns = st.at["turn"]
    ordered = sorted((turns[b], b) for b in bodies if b in turns)
    gaps = [b[0] - a[0] for a, b in itertools.pairwise(ordered)]
    nexts = {a[1]: b[0] for a, b in itertools.pairwise(ordered)}
    p50 = percentile(gaps, 0.5)
    p99, rate = percentile(gaps, 0.99), len(gaps) / sum(gaps)
    row("  cycle (turn -> next turn)", f"p50 {p50 * 1e3:.2f} p99 {p99 * 1e3:.2f} ms",
        f"{rate:,.0f} answers/s")  # fmt: skip
    show(st, ["turn", "written", "pong", "sent", "record", "recorded"], bodies)
    st.at["next turn"] = nexts
    show(st, ["recorded", "next turn"], bodies)
