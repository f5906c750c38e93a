"""An SMS answer's way to IRC while one nick floods the bot with 300 HELPs, flood control
at its defaults (5 lines in a burst, then 1 a second).

The answer is posted once the flooder's first answer arrived (the queue is full of
its NOTICEs by then); the figure is the time until bob reads it, beside the same
answer with nobody flooding. Counts: the flooder's answers and "slow down" lines.

Run: .venv/bin/python benchmarks/bench_command_flood.py
"""

from __future__ import annotations

import asyncio
import time

from common import row
from harness import BOT
from scene import Scene
from servers import ParsedLine
from stage import staged

HELPS = 300


def notice(line: ParsedLine) -> bool:
    return line.nick == BOT and line.command == "NOTICE"


async def answer_time(s: Scene, body: str) -> float:
    start = time.perf_counter()
    await s.hl.sms(body)
    await s.bob.expect(lambda line: line.nick == BOT and line.text.endswith(body), 60)
    return time.perf_counter() - start


async def measure(s: Scene) -> None:
    await s.mentioned()
    quiet = await answer_time(s, "no flood")
    flooder = s.clients["mallory"]
    for _ in range(HELPS):
        await flooder.privmsg(BOT, "HELP")
    await flooder.expect(notice, 60)
    flooded = await answer_time(s, "under flood")
    await flooder.expect(lambda line: notice(line) and line.text.startswith("slow down"), 120)
    got = [line for line in flooder.received if notice(line)]
    row(f"SMS answer -> IRC, {HELPS} HELPs queued", f"{flooded * 1e3:.0f} ms",
        f"{flooded / quiet:.1f}x the {quiet * 1e3:.0f} ms without a flood")  # fmt: skip
    print(f"  counts: {HELPS} HELPs, {len(got)} NOTICE lines back (1 slow down)")


async def main() -> None:
    defaults = {"send_burst": 5, "send_rate": 1.0}  # flood control as shipped
    async with staged(0, clients=("alice", "bob", "mallory"), network=defaults) as (s, _):
        await measure(s)


if __name__ == "__main__":
    asyncio.run(main())
