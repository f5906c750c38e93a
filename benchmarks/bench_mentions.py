"""IRC line -> SMS API request: latency at 100 mentions/s, and the rate where p99 passes 100 ms.

bob (a load client in a process of its own) mentions a different registered user
(10,000, with 2 keywords each) on each line at a steady rate; the fake Twilio API (a
process of its own too) notes when each message request arrives. This process is
the daemon alone (no test client reads the channel here), so its CPU (getrusage,
every thread) is the daemon's. Each step's counts show every mention became
exactly one request.

Run: .venv/bin/python benchmarks/bench_mentions.py
     HL_PROFILE=out.prof .venv/bin/python benchmarks/bench_mentions.py
       (cProfile of this process's main thread over the 100/s run)
"""

from __future__ import annotations

import asyncio
import cProfile
import itertools
import os
import time
from typing import Any

import aiosqlite

from apart import RemoteClient, RemoteTwilio
from common import cpu, nick, percentile, row
from harness import CHANNEL
from stage import staged
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


class Step:
    """One steady rate: latencies, counts, and each process's CPU."""

    def __init__(self, rate: int, count: int) -> None:
        self.rate, self.count = rate, count
        self.latencies: list[float] = []
        self.requests = 0
        self.daemon_cpu = self.client_cpu = self.wall = 0.0

    @property
    def share(self) -> float:
        return self.daemon_cpu / self.wall

    @property
    def per(self) -> float:
        return self.daemon_cpu / self.count

    def p(self, q: float) -> float:
        return percentile(self.latencies, q)


async def step(
    bob: RemoteClient, twilio: RemoteTwilio, users: itertools.count[int], rate: int, seconds: float
) -> Step:
    out = Step(rate, int(rate * seconds))
    texts = [f"{nick(next(users))}: ping {i}" for i in range(out.count)]
    bodies = [f"[{CHANNEL}] <bob> {text}" for text in texts]
    cpu0, wall0 = cpu(), time.monotonic()
    sent, out.client_cpu = await bob.say(rate, texts)
    await eventually(
        lambda: sum(1 for body in bodies if body in twilio.arrived),
        lambda n: n >= out.count,
        what=f"{out.count} SMS requests",
        limit=30,
    )
    out.daemon_cpu, out.wall = cpu() - cpu0, time.monotonic() - wall0
    out.latencies = [twilio.arrived[body] - at for body, at in zip(bodies, sent, strict=True)]
    out.requests = sum(1 for body in bodies if body in twilio.arrived)
    return out


async def main() -> None:
    users = itertools.count(0)
    jobs = JobCount()
    async with staged(USERS, clients=(), apart=True) as (s, twilio):
        network = s.settings.networks[0]
        async with RemoteClient(network.host, network.port, CHANNEL, "bob") as bob:
            await asyncio.sleep(0.5)  # the bot sees bob join
            await bob.say(1, ["alice: hi"])  # warm: alice's SMS
            await twilio.wait_for_messages(1)
            await measure(bob, twilio, users, jobs)
            await asyncio.sleep(0.5)
        total = len(twilio.bodies)
        print(f"  total: {total} SMS for {len(set(twilio.bodies))} distinct mentions (duplicates:"
              f" {total - len(set(twilio.bodies))})")  # fmt: skip


async def measure(
    bob: RemoteClient, twilio: RemoteTwilio, users: itertools.count[int], jobs: JobCount
) -> None:
    before = jobs.jobs
    profile = cProfile.Profile() if os.environ.get("HL_PROFILE") else None
    if profile is not None:
        profile.enable()
    base = await step(bob, twilio, users, BASE_RATE, BASE_SECONDS)
    if profile is not None:
        profile.disable()
        profile.dump_stats(os.environ["HL_PROFILE"])
    per_mention = (jobs.jobs - before) / base.count
    print(f"{USERS:,} users with 2 keywords; this process is the daemon alone (load client and"
          " fake API in processes of their own)")  # fmt: skip
    row(f"IRC -> SMS API at {BASE_RATE}/s: p50", f"{base.p(0.5) * 1e3:.1f} ms", "")
    row(f"IRC -> SMS API at {BASE_RATE}/s: p99", f"{base.p(0.99) * 1e3:.1f} ms",
        f"{base.p(0.99) / 0.005:.1f}x the 5 ms floor")  # fmt: skip
    row("  daemon CPU at that rate", f"{base.share:.0%} of a core", "")
    # Less noisy than latency on a shared machine (the disk's fsyncs wait there).
    row("  daemon CPU per mention", f"{base.per * 1e3:.2f} ms", "")
    row("  load client CPU per mention (its own process)",
        f"{base.client_cpu / base.count * 1e3:.2f} ms", "")  # fmt: skip
    row("  database jobs per mention (all tasks)", f"{per_mention:.1f}", "")
    print(f"  counts: {base.count} mentions, {base.requests} requests")
    best = BASE_RATE
    for rate in STEPS:
        st = await step(bob, twilio, users, rate, STEP_SECONDS)
        print(f"  {rate}/s: p50 {st.p(0.5) * 1e3:.1f} ms, p99 {st.p(0.99) * 1e3:.1f} ms,"
              f" daemon {st.share:.0%} CPU, {st.per * 1e3:.2f} ms CPU each; {st.count} mentions,"
              f" {st.requests} requests")  # fmt: skip
        if st.p(0.99) > LIMIT_P99:
            break
        best = rate
    row("max rate with p99 <= 100 ms", f"{best}/s", f"{best / 500:.1f}x the 500/s floor")


if __name__ == "__main__":
    asyncio.run(main())
