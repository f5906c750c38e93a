"""SMS webhook -> IRC PRIVMSG: latency at 50 answers/s, and answers delivered per second.

alice (registered) was just highlighted by bob, so her SMS answers go to bob. Flood
control off. First the answers are posted signed, as Twilio does, at a steady
50/s from this process; bob (a client in this process) notes when each arrives.
Then BURST answers come from loadgen.py (a process of its own, requests prepared
beforehand) as fast as the daemon takes them, and the figure is answers said on
IRC per second, until the last one reached bob. This process's CPU time per
answer (the daemon, both halves, and bob's client) is printed beside it. Counts:
webhooks posted, 200s, PRIVMSGs, each answer once.

Run: .venv/bin/python benchmarks/bench_answers.py
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from urllib.parse import urlencode

from common import cpu, load, percentile, row
from fake_twilio import TEST_AUTH_TOKEN, twilio_signature
from harness import ALICE_PHONE, BOT, FROM_NUMBER
from scene import Scene
from stage import staged

RATE, SECONDS = 50, 3.0
BURST, CONCURRENCY = 2_000, 16
PREFIX = "alice (SMS): "


async def steady(s: Scene) -> tuple[list[float], int, int]:
    """Latencies at RATE/s; webhooks answered 200, PRIVMSGs seen."""
    count = int(RATE * SECONDS)
    posted: dict[str, float] = {}
    arrived: dict[str, float] = {}
    statuses: list[int] = []

    async def listen() -> None:
        while len(arrived) < count:
            line = await s.bob.expect_privmsg(from_nick=BOT, target="bob", timeout=30)
            arrived.setdefault(line.text.removeprefix(PREFIX), time.perf_counter())

    listener = asyncio.create_task(listen())

    async def post(body: str) -> None:
        posted[body] = time.perf_counter()
        await s.hl.sms(body)
        statuses.append(200)  # sms() asserts the 200

    start = time.perf_counter()
    posts = []
    for i in range(count):
        if (wait := start + i / RATE - time.perf_counter()) > 0:
            await asyncio.sleep(wait)
        posts.append(asyncio.create_task(post(f"answer {i}")))
    await asyncio.gather(*posts)
    await asyncio.wait_for(listener, 30)
    return [arrived[body] - at for body, at in posted.items()], len(statuses), len(arrived)


async def burst(s: Scene) -> tuple[float, float, Counter[str], dict[int, int]]:
    """Answers said per second, CPU seconds per answer, each text's count, the statuses."""
    url = s.hl.base_url + "/twilio/sms"
    requests = []
    for n in range(BURST):
        form = {"MessageSid": f"SM{n + 10**6:032x}", "From": ALICE_PHONE, "To": FROM_NUMBER}
        form["Body"] = f"burst {n}"
        requests.append((urlencode(form), twilio_signature(TEST_AUTH_TOKEN, url, form)))
    seen: Counter[str] = Counter()

    async def listen() -> None:
        while len(seen) < BURST:
            line = await s.bob.expect_privmsg(from_nick=BOT, target="bob", timeout=60)
            seen[line.text.removeprefix(PREFIX)] += 1

    listener = asyncio.create_task(listen())
    start, before = time.perf_counter(), cpu()
    posted = await load(url, requests, CONCURRENCY, 120.0)
    await asyncio.wait_for(listener, 120)
    elapsed, used = time.perf_counter() - start, cpu() - before
    await asyncio.sleep(0.5)  # a duplicate would show in bob's lines
    said = Counter(
        r.text.removeprefix(PREFIX)
        for r in s.bob.received
        if r.nick == BOT and r.text.startswith(PREFIX + "burst ")
    )
    return BURST / elapsed, used / BURST, said, posted.statuses


async def main() -> None:
    async with staged(10_000) as (s, _twilio):
        await s.mentioned()
        latencies, answered, said = await steady(s)
        rate, cpu_each, seen, statuses = await burst(s)
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    row(f"webhook -> IRC PRIVMSG at {RATE}/s: p50", f"{p50 * 1e3:.1f} ms", "")
    row(f"webhook -> IRC PRIVMSG at {RATE}/s: p99", f"{p99 * 1e3:.1f} ms",
        f"{p99 / 0.005:.1f}x the 5 ms floor")  # fmt: skip
    print(f"  counts: {len(latencies)} webhooks, {answered} answered 200, {said} PRIVMSGs")
    row(f"answers delivered, {BURST} at once", f"{rate:,.0f} /s", f"{rate / 1000:.0%} of 1,000/s")
    row("  CPU per answer (daemon + bob, this process)", f"{cpu_each * 1e6:,.0f} us", "")
    twice = sum(1 for n in seen.values() if n > 1)
    print(f"  counts: {BURST} webhooks, answers {statuses}, {len(seen)} said, {twice} twice")
    if said != len(latencies) or len(seen) != BURST or twice or statuses.get(200) != BURST:
        raise SystemExit("an answer was lost or duplicated")


if __name__ == "__main__":
    asyncio.run(main())
