"""Where an SMS answer's time goes: each hop at 50/s, each part of the relay's cycle, the floor.

A network's answers are said one at a time up to their record (README, Durability):
PRIVMSG, PING, the PONG, the said_sms record, then the next. First the floor on this
machine: a bare client doing PRIVMSG + PING and waiting for the PONG against the
same ngircd, alone and with an SQLite commit per cycle (synchronous FULL, NORMAL).
Then the daemon, timestamped at each hop (its methods wrapped in this process):
at 50/s, webhook -> commit -> XADD -> XREADGROUP -> the lane's turn -> PRIVMSG
written -> PONG read -> the record -> bob reading the line; then 1,000 answers at
once, the relay's cycle split in its parts. Medians and p99 in ms.

Run: .venv/bin/python benchmarks/bench_answer_cycle.py
"""

from __future__ import annotations

import asyncio
import cProfile
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlencode

from bench_answers import MARGIN
from common import cpu, load, percentile, row
from fake_twilio import TEST_AUTH_TOKEN, twilio_signature
from harness import ALICE_PHONE, BOT, FROM_NUMBER
from hops import PREFIX, Pauses, Stamps, cycle, instrument, lag, preempted, show
from scene import Scene
from servers import IrcServer, IrcTestClient
from stage import staged

CYCLES = 2_000
RATE, SECONDS = 50, 3.0
BURST, CONCURRENCY = 1_000, 16
# A file to write a cProfile of the relay's drain to (the last phase), if set.
PROFILE = os.environ.get("BENCH_PROFILE", "")

# The floor: a bare client against ngircd


async def bare_cycles(irc: IrcServer, commit: Callable[[int], None] | None) -> list[float]:
    """Seconds per PRIVMSG + PING -> PONG cycle (then `commit`, on a thread as aiosqlite does)."""
    bob = await IrcTestClient.connect(irc.host, irc.port, "floorbob")
    reader, writer = await asyncio.open_connection(irc.host, irc.port)
    writer.write(b"NICK floor\r\nUSER floor 0 * :floor\r\n")
    while b" 001 " not in await reader.readline():
        pass
    times = []
    try:
        for n in range(CYCLES):
            start = time.perf_counter()
            writer.write(f"PRIVMSG floorbob :answer {n}\r\nPING :hl{n}\r\n".encode())
            await writer.drain()
            while b"PONG" not in await reader.readline():
                pass
            if commit is not None:
                await asyncio.to_thread(commit, n)
            times.append(time.perf_counter() - start)
    finally:
        writer.close()
        await bob.close()
    return times


def committer(path: Path, synchronous: str) -> Callable[[int], None]:
    """One said_sms-like row per commit, in WAL mode, as the store writes it."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute(f"PRAGMA synchronous = {synchronous}")
    conn.execute("CREATE TABLE said (sid TEXT PRIMARY KEY, outcome TEXT, at REAL)")

    def commit(n: int) -> None:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT INTO said VALUES (?, 'said', ?)", (f"SM{n}", time.time()))
        conn.execute("COMMIT")

    return commit


async def floor() -> None:
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        irc = IrcServer(tmp / "irc")
        await irc.astart()
        try:
            for name, commit in (
                ("bare PRIVMSG+PING->PONG", None),
                ("  + commit, synchronous FULL", committer(tmp / "full.db", "FULL")),
                ("  + commit, synchronous NORMAL", committer(tmp / "normal.db", "NORMAL")),
            ):
                times = await bare_cycles(irc, commit)
                p50, p99 = percentile(times, 0.5), percentile(times, 0.99)
                rate = len(times) / sum(times)
                row(f"floor: {name}", f"p50 {p50 * 1e3:.2f} p99 {p99 * 1e3:.2f} ms",
                    f"{rate:,.0f} cycles/s")  # fmt: skip
        finally:
            await irc.astop()


async def steady(s: Scene, st: Stamps) -> list[str]:
    """The answers measured: those in the middle (bench_answers.py MARGIN says why)."""
    count = int(RATE * SECONDS) + 2 * MARGIN
    bodies = [f"answer {i}" for i in range(count)]

    async def listen() -> None:
        while len(st.at.get("bob", {})) < count:
            line = await s.bob.expect_privmsg(from_nick=BOT, target="bob", timeout=30)
            st.note("bob", line.text.removeprefix(PREFIX))

    async def post(body: str) -> None:
        st.note("posted", body)
        await s.hl.sms(body)

    listener = asyncio.create_task(listen())
    start, posts = time.perf_counter(), []
    for i, body in enumerate(bodies):
        if (wait := start + i / RATE - time.perf_counter()) > 0:
            await asyncio.sleep(wait)
        posts.append(asyncio.create_task(post(body)))
    await asyncio.gather(*posts)
    await asyncio.wait_for(listener, 30)
    return bodies[MARGIN:-MARGIN]


async def burst(s: Scene, st: Stamps, held: bool = False) -> list[str]:
    """BURST answers posted at once: said as they come, or (held) once all are in."""
    url = s.hl.base_url + "/twilio/sms"
    bodies, requests = [], []
    word = "held" if held else "burst"
    for n in range(BURST):
        sid = f"SM{n + (3 if held else 1) * 10**6:032x}"
        form = {"MessageSid": sid, "From": ALICE_PHONE, "To": FROM_NUMBER}
        form["Body"] = f"{word} {n}"
        bodies.append(form["Body"])
        requests.append((urlencode(form), twilio_signature(TEST_AUTH_TOKEN, url, form)))

    async def listen() -> None:
        seen = 0
        while seen < BURST:
            line = await s.bob.expect_privmsg(from_nick=BOT, target="bob", timeout=60)
            seen += line.text.startswith(f"{PREFIX}{word} ")

    listener = asyncio.create_task(listen())
    if held:
        st.gate.clear()
    await load(url, requests, CONCURRENCY, 120.0)
    start, before = time.perf_counter(), cpu()
    profile = cProfile.Profile() if held and PROFILE else None
    if profile:
        profile.enable()
    st.gate.set()
    await asyncio.wait_for(listener, 120)
    if profile:
        profile.disable()
        profile.dump_stats(PROFILE)
    if held:
        elapsed, used = time.perf_counter() - start, cpu() - before
        rate, each = BURST / elapsed, used / BURST * 1e6
        row(f"daemon: {BURST} answers on the bus, then said", f"{rate:,.0f} answers/s",
            f"CPU {each:,.0f} us each")  # fmt: skip
    return bodies


async def main() -> None:
    await floor()
    st = Stamps()
    instrument(st)
    async with staged(10_000) as (s, _twilio):
        await s.mentioned()
        pauses, stalls = Pauses(), []
        monitor, switched = asyncio.create_task(lag(stalls)), preempted()
        bodies = await steady(s, st)
        monitor.cancel()
        row("  event loop late for a 1 ms timer", f"p50 {percentile(stalls, 0.5) * 1e3:.2f} "
            f"p99 {percentile(stalls, 0.99) * 1e3:.2f} max {max(stalls) * 1e3:.2f} ms",
            f"preempted {preempted() - switched} times")  # fmt: skip
        ends = st.span("posted", "bob", bodies)
        row(f"daemon: webhook -> bob at {RATE}/s", f"p50 {percentile(ends, 0.5) * 1e3:.2f} "
            f"p99 {percentile(ends, 0.99) * 1e3:.2f} ms", f"{len(ends)} answers")  # fmt: skip
        show(st, ["posted", "committed", "xadd", "read", "turn", "written", "pong", "sent"],
             bodies)  # fmt: skip
        show(st, ["written", "bob"], bodies)
        show(st, ["sent", "record", "recorded"], bodies)
        d = st.dispatch
        row("  PONG: data read -> SendQueue.pong", f"p50 {percentile(d, 0.5) * 1e6:.0f} "
            f"p99 {percentile(d, 0.99) * 1e6:.0f} us", "")  # fmt: skip
        pauses.show()
        st.dispatch.clear()
        bodies = await burst(s, st)
        row(f"daemon: {BURST} answers at once", "", "")
        cycle(st, bodies)
        d = st.dispatch
        row("  PONG: data read -> SendQueue.pong", f"p50 {percentile(d, 0.5) * 1e6:.0f} "
            f"p99 {percentile(d, 0.99) * 1e6:.0f} us", "")  # fmt: skip
        pauses.show()
        bodies = await burst(s, st, held=True)
        cycle(st, bodies)
        pauses.show()


if __name__ == "__main__":
    asyncio.run(main())
