"""SMS webhook -> IRC PRIVMSG: latency at 50 answers/s, flood control off.

alice (registered) was just highlighted by bob, so her SMS answers go to bob. The
answers are posted signed, as Twilio does, at a steady rate; bob (a client in this
process) notes when each arrives. Counts: webhooks posted, 200s, PRIVMSGs.

Run: .venv/bin/python benchmarks/bench_answers.py
"""

from __future__ import annotations

import asyncio
import time

from common import percentile, row
from harness import BOT
from stage import staged

RATE, SECONDS = 50, 3.0


async def main() -> None:
    async with staged(10_000) as (s, _twilio):
        await s.mentioned()
        count = int(RATE * SECONDS)
        posted: dict[str, float] = {}
        arrived: dict[str, float] = {}
        statuses: list[int] = []

        async def listen() -> None:
            while len(arrived) < count:
                line = await s.bob.expect_privmsg(from_nick=BOT, target="bob", timeout=30)
                arrived.setdefault(line.text.removeprefix("alice (SMS): "), time.perf_counter())

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
        await asyncio.sleep(0.3)  # a duplicate would show in bob's lines
        said = [r for r in s.bob.received if r.nick == BOT and r.text.startswith("alice (SMS)")]
    latencies = [arrived[body] - at for body, at in posted.items()]
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    row(f"webhook -> IRC PRIVMSG at {RATE}/s: p50", f"{p50 * 1e3:.1f} ms", "")
    row(f"webhook -> IRC PRIVMSG at {RATE}/s: p99", f"{p99 * 1e3:.1f} ms",
        f"{p99 / 0.005:.1f}x the 5 ms floor")  # fmt: skip
    print(f"  counts: {count} webhooks, {len(statuses)} answered 200, {len(said)} PRIVMSGs")
    if len(said) != count:
        raise SystemExit("an answer was lost or duplicated")


if __name__ == "__main__":
    asyncio.run(main())
