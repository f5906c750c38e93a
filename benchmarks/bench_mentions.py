"""IRC line -> SMS API request: latency at 100 mentions/s, and the rate where p99 passes 100 ms.

bob (a client in this process) mentions a different registered user (10,000, with
2 keywords each) on each line at a steady rate; the fake Twilio API (also in this
process) notes when each message request arrives. Each step's counts show every
mention became exactly one request.

Run: .venv/bin/python benchmarks/bench_mentions.py
"""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import aiosqlite

from common import cpu, nick, percentile, row
from harness import CHANNEL
from scene import Scene
from stage import TimedTwilio, staged
from waiting import eventually

USERS = 10_000
BASE_RATE, BASE_SECONDS = 100, 3.0
STEPS = (200, 300, 500, 700, 1000, 1500)
STEP_SECONDS = 1.5
LIMIT_P99 = 0.100


class JobCount:
    """Jobs queued on aiosqlite's thread (each statement is one, each transaction one):
    a count, where time depends on the machine's other load and the disk's fsyncs."""

    def __init__(self) -> None:
        self.jobs = 0
        queue = aiosqlite.Connection._execute
        count = self

        async def counted(conn: aiosqlite.Connection, fn: Any, *args: Any, **kwargs: Any) -> Any:
            count.jobs += 1
            return await queue(conn, fn, *args, **kwargs)

        aiosqlite.Connection._execute = counted  # type: ignore[method-assign]


async def step(
    s: Scene, twilio: TimedTwilio, users: itertools.count[int], rate: int, seconds: float
) -> tuple[list[float], int, int, float]:
    """(latencies, mentions, requests, CPU share) for one steady rate."""
    count = int(rate * seconds)
    sent: dict[str, float] = {}
    cpu0, wall0 = cpu(), time.perf_counter()
    for i in range(count):
        due = wall0 + i / rate
        if (wait := due - time.perf_counter()) > 0:
            await asyncio.sleep(wait)
        who = nick(next(users))
        text = f"{who}: ping {i}"
        sent[f"[{CHANNEL}] <bob> {text}"] = time.perf_counter()
        await s.bob.privmsg(CHANNEL, text)
    await eventually(
        lambda: sum(1 for body in sent if body in twilio.arrived),
        lambda n: n >= count,
        what=f"{count} SMS requests",
        limit=30,
    )
    used = cpu() - cpu0
    share = used / (time.perf_counter() - wall0)
    latencies = [twilio.arrived[body] - at for body, at in sent.items()]
    return latencies, count, sum(1 for body in sent if body in twilio.arrived), share, used / count


async def main() -> None:
    users = itertools.count(0)
    jobs = JobCount()
    async with staged(USERS) as (s, twilio):
        await s.mentioned()  # warm: alice's SMS
        before = jobs.jobs
        base, count, got, share, per = await step(s, twilio, users, BASE_RATE, BASE_SECONDS)
        per_mention = (jobs.jobs - before) / count
        print(f"{USERS:,} users with 2 keywords; this process is the daemon and the fake API")
        p50, p99 = percentile(base, 0.5), percentile(base, 0.99)
        row(f"IRC -> SMS API at {BASE_RATE}/s: p50", f"{p50 * 1e3:.1f} ms", "")
        row(f"IRC -> SMS API at {BASE_RATE}/s: p99", f"{p99 * 1e3:.1f} ms",
            f"{p99 / 0.005:.1f}x the 5 ms floor")  # fmt: skip
        row("  CPU of this process at that rate", f"{share:.0%} of a core", "")
        # Less noisy than latency on a shared machine (the disk's fsyncs wait there).
        row("  CPU per mention (daemon, client, fake API)", f"{per * 1e3:.2f} ms", "")
        row("  database jobs per mention (all tasks)", f"{per_mention:.1f}", "")
        print(f"  counts: {count} mentions, {got} requests")
        best = BASE_RATE
        for rate in STEPS:
            lat, count, got, share, per = await step(s, twilio, users, rate, STEP_SECONDS)
            p99 = percentile(lat, 0.99)
            print(f"  {rate}/s: p50 {percentile(lat, 0.5) * 1e3:.1f} ms, p99 {p99 * 1e3:.1f} ms,"
                  f" {share:.0%} CPU, {per * 1e3:.2f} ms CPU each; {count} mentions,"
                  f" {got} requests")  # fmt: skip
            if p99 > LIMIT_P99:
                break
            best = rate
        row("max rate with p99 <= 100 ms", f"{best}/s", f"{best / 500:.1f}x the 500/s floor")
        await asyncio.sleep(0.5)
        total = len(twilio.messages)
        print(f"  total: {total} SMS for {total} distinct mentions (duplicates: "
              f"{total - len({m.body for m in twilio.messages})})")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
