"""A load generator in a process of its own: POSTs prepared forms, prints what came back.

The benchmarks measure the server's CPU time per request in their own process, so
the client must not share it. Each request is prepared before the clock starts
(the body already encoded, the signature already computed), as wrk's Lua script
would: the client does no HMAC and no form encoding while it runs. Each prepared
request is sent once at most (a MessageSid is never repeated).

Not a benchmark itself (`make bench` runs bench_*.py only).

Run: python loadgen.py URL CONCURRENCY SECONDS [RATE] < requests.jsonl   (JSON lines
of [body, signature]); prints `ready`, then one JSON object: sent, statuses, elapsed,
cpu, began (when the first request went) and, with a RATE (requests/s, each at its
moment, whatever the answers), posted: when each request went. Times are
time.monotonic (CLOCK_MONOTONIC, one clock for every process).
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from collections import Counter

import aiohttp

FORM = "application/x-www-form-urlencoded"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run(
    url: str, concurrency: int, seconds: float, requests: list[list[str]], rate: float = 0
) -> None:
    statuses: Counter[int] = Counter()
    todo = iter(requests)
    posted: list[float] = []
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def post(body: str, signature: str) -> None:
            headers = {"Content-Type": FORM, "X-Twilio-Signature": signature}
            async with http.post(url, data=body.encode(), headers=headers) as resp:
                await resp.read()
                statuses[resp.status] += 1

        async def steady(deadline: float) -> None:
            start = time.monotonic()
            posts = []
            for i, (body, signature) in enumerate(todo):
                if (wait := start + i / rate - time.monotonic()) > 0:
                    await asyncio.sleep(wait)
                if time.perf_counter() >= deadline:
                    break
                posted.append(time.monotonic())
                posts.append(asyncio.create_task(post(body, signature)))
            await asyncio.gather(*posts)

        async def worker(deadline: float) -> None:
            for body, signature in todo:
                if time.perf_counter() >= deadline:
                    return
                await post(body, signature)

        print("ready", flush=True)  # the server's CPU is read from here on
        cpu, start, began = _cpu(), time.perf_counter(), time.monotonic()
        deadline = start + seconds
        if rate:
            await steady(deadline)
        else:
            await asyncio.gather(*(worker(deadline) for _ in range(concurrency)))
        elapsed, cpu = time.perf_counter() - start, _cpu() - cpu
    print(
        json.dumps(
            {
                "sent": statuses.total(),
                "statuses": {str(k): v for k, v in statuses.items()},
                "elapsed": elapsed,
                "cpu": cpu,
                "posted": posted,
                "began": began,
            }
        )
    )


if __name__ == "__main__":
    lines = [json.loads(line) for line in sys.stdin if line.strip()]
    rate = float(sys.argv[4]) if len(sys.argv) > 4 else 0
    asyncio.run(run(sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), lines, rate))
