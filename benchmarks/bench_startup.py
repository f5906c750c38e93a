"""Start-up to /healthz 200 with 100,000 users (2 keywords each), and RSS per registered user.

Each size runs in a fresh process (so that RSS is its own): servers up and the
database written first, then the clock runs from creating the Daemon to the first
/healthz 200 (connected to IRC and Redis). The baseline is the same with no users.

Run: .venv/bin/python benchmarks/bench_startup.py
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from common import populate, row, rss_kb
from harness import NETWORK, running, settings_dict
from highlightd.config import Settings
from servers import IrcServer, RedisServer, free_port

USERS = 100_000


async def start(tmp: Path) -> dict[str, float]:
    irc, redis = IrcServer(tmp / "irc"), RedisServer(tmp / "redis", appendfsync=None)
    await irc.astart()
    await redis.astart()
    try:
        settings = Settings(**settings_dict(tmp, irc, redis.url, None, free_port()))
        before = rss_kb()
        t0 = time.perf_counter()
        async with running(settings) as hl, aiohttp.ClientSession() as http:
            while True:
                async with http.get(hl.base_url + "/healthz") as resp:
                    if resp.status == 200:
                        break
                await asyncio.sleep(0.01)
            elapsed = time.perf_counter() - t0
            assert hl.daemon.irc is not None
            await asyncio.sleep(0.2)
            return {"seconds": elapsed, "rss_kb": rss_kb(), "before_kb": before}
    finally:
        await redis.astop()
        await irc.astop()


def measure(users: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as folder:
        # Written here: the process measured holds only what the daemon keeps.
        asyncio.run(populate(Path(folder) / "highlightd.sqlite3", NETWORK, users, 2))
        out = subprocess.run(
            [sys.executable, __file__, folder], check=True, capture_output=True, text=True
        ).stdout
    result: dict[str, float] = json.loads(out.splitlines()[-1])
    return result


def main() -> None:
    empty, full = measure(0), measure(USERS)
    row(
        f"start-up to /healthz 200, {USERS:,} users + 2 kw",
        f"{full['seconds']:.2f} s",
        f"{full['seconds'] / empty['seconds']:.1f}x no users ({empty['seconds']:.2f} s)",
    )
    per_user = (full["rss_kb"] - empty["rss_kb"]) * 1024 / USERS
    row("RSS per registered user", f"{per_user / 1024:.2f} KB", f"{per_user / 1536:.0%} of 1.5 KB")
    print(f"  RSS: {empty['rss_kb'] / 1024:.0f} MiB with no users, {full['rss_kb'] / 1024:.0f} MiB")


if __name__ == "__main__":
    if len(sys.argv) > 1:
        print(json.dumps(asyncio.run(start(Path(sys.argv[1])))))
    else:
        main()
