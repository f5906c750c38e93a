"""Start-up to /healthz 200 with 100,000 users (2 keywords each), and RSS per registered user.

Each size runs in a fresh process (so that RSS is its own): servers up and the
database written first, then the clock runs from creating the Daemon to the first
/healthz 200 (connected to IRC and Redis). The baseline is the same with no users.

Memory per user three ways: RSS of the run with users minus the run without;
RSS of the same process before the daemon started and after; and what
tracemalloc sees the users index hold once built and a first line matched (in a
third process: tracing slows everything down), which leaves out the allocator's
own overhead and the pages it keeps.

Run: .venv/bin/python benchmarks/bench_startup.py
"""

from __future__ import annotations

import asyncio
import gc
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import aiohttp

from common import populate, row, rss_kb
from harness import NETWORK, running, settings_dict
from highlightd.config import Settings
from highlightd.store import Store
from servers import IrcServer, RedisServer, free_port

USERS = 100_000


async def start(tmp: Path) -> dict[str, float]:
    irc, redis = IrcServer(tmp / "irc"), RedisServer(tmp / "redis", appendfsync=None)
    await irc.astart()
    await redis.astart()
    try:
        settings = Settings(**settings_dict(tmp, irc, redis.url, None, free_port()))
        before = rss_kb()
        t0, cpu0 = time.perf_counter(), time.process_time()
        async with running(settings) as hl, aiohttp.ClientSession() as http:
            while True:
                async with http.get(hl.base_url + "/healthz") as resp:
                    if resp.status == 200:
                        break
                await asyncio.sleep(0.01)
            elapsed, used = time.perf_counter() - t0, time.process_time() - cpu0
            assert hl.daemon.irc is not None
            index = hl.daemon.irc.directory.index
            users = len(index)
            index.network(NETWORK, "rfc1459").match_ids("a first line")  # what it builds
            await asyncio.sleep(0.2)
            return {
                "seconds": elapsed,
                "cpu": used,
                "rss_kb": rss_kb(),
                "before_kb": before,
                "users": users,
            }
    finally:
        await redis.astop()
        await irc.astop()


async def traced(path: Path) -> dict[str, float]:
    """Bytes tracemalloc sees the users index hold, read as the daemon reads it."""
    store = await Store.open(path)
    try:
        gc.collect()
        tracemalloc.start()
        index, _ = await store.registry.load()
        index.network(NETWORK, "rfc1459").match_ids("a first line")  # what it builds
        gc.collect()
        held, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        return {"traced": held, "peak": peak, "users": len(index)}
    finally:
        await store.close()


def measure(users: int, mode: str = "start") -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        # Written here: the process measured holds only what the daemon keeps.
        asyncio.run(populate(Path(folder) / "highlightd.sqlite3", NETWORK, users, 2))
        out = subprocess.run(
            [sys.executable, __file__, folder, mode], check=True, capture_output=True, text=True
        ).stdout
    result: dict[str, float] = json.loads(out.splitlines()[-1])
    return result


def main() -> None:
    empty, full, trace = measure(0), measure(USERS), measure(USERS, "trace")
    row(
        f"start-up to /healthz 200, {USERS:,} users + 2 kw",
        f"{full['seconds']:.2f} s",
        f"{full['seconds'] / empty['seconds']:.1f}x no users ({empty['seconds']:.2f} s)",
    )
    row(
        "  CPU of that start-up (less noisy)",
        f"{full['cpu']:.2f} s",
        f"{full['cpu'] / 1.5:.0%} of the 1.5 s floor; {empty['cpu']:.2f} s with no users",
    )
    per_user = (full["rss_kb"] - empty["rss_kb"]) * 1024 / USERS
    row("RSS per registered user", f"{per_user / 1024:.2f} KB", f"{per_user / 1536:.0%} of 1.5 KB")
    same = (full["rss_kb"] - full["before_kb"]) - (empty["rss_kb"] - empty["before_kb"])
    row("  same process, before vs after start-up", f"{same / USERS:.2f} KB", "minus no users")
    row("  tracemalloc: the users index", f"{trace['traced'] / USERS / 1024:.2f} KB",
        f"peak while built {trace['peak'] / USERS / 1024:.2f} KB")  # fmt: skip
    print(f"  RSS: {empty['rss_kb'] / 1024:.0f} MiB with no users, {full['rss_kb'] / 1024:.0f} MiB")
    print(f"  counts: {full['users']:,.0f} users indexed by the daemon, "
          f"{trace['users']:,.0f} traced, of {USERS:,} written")  # fmt: skip
    if full["users"] != USERS or trace["users"] != USERS:
        raise SystemExit("users lost on the way to the index")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[2] == "trace":
        print(json.dumps(asyncio.run(traced(Path(sys.argv[1]) / "highlightd.sqlite3"))))
    elif len(sys.argv) > 1:
        print(json.dumps(asyncio.run(start(Path(sys.argv[1])))))
    else:
        main()
