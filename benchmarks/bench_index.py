"""The daemon's line -> registrations lookup against one bare Matcher holding the same words.

10,000 users with 2 keywords each, loaded from a real database into the Directory
the IRC side uses; the baseline is one core.matcher.Matcher holding every nick and
keyword, run over the same lines in the same run.

Run: .venv/bin/python benchmarks/bench_index.py
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from pathlib import Path

from common import keyword, nick, populate, row
from highlightd.core.matcher import Matcher
from highlightd.irc.directory import Directory
from highlightd.store import Store

USERS = 10_000
KEYWORDS = 2
LINES = 100_000
ROUNDS = 5
NETWORK = "bench"
VOCABULARY = "the a and to of in it is that for on with was you this be are have not".split()


def lines(rng: random.Random) -> list[str]:
    """Chat lines; about one in ten names a user's nick or keyword."""
    out = []
    for _ in range(LINES):
        words = rng.choices(VOCABULARY, k=rng.randint(3, 16))
        roll = rng.random()
        if roll < 0.05:
            words.insert(0, nick(rng.randrange(USERS)).upper() + ":")
        elif roll < 0.10:
            n = rng.randrange(USERS)
            words.insert(rng.randrange(len(words) + 1), keyword(n, rng.randrange(KEYWORDS)))
        out.append(" ".join(words))
    return out


async def main() -> None:
    text = lines(random.Random(8))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.sqlite3"
        await populate(path, NETWORK, USERS, KEYWORDS)
        store = await Store.open(path)
        try:
            directory = Directory(store)
            await directory.refresh()
        finally:
            await store.close()

    bare: Matcher[int] = Matcher()
    for n in range(USERS):
        bare.add(nick(n), n + 1)
        for k in range(KEYWORDS):
            bare.add(keyword(n, k), n + 1)

    # CPU time, best of ROUNDS taken in turns: the machine may be shared, and what
    # another process takes shows as a slower round of either, not as a wrong ratio.
    daemon_best = bare_best = float("inf")
    for _ in range(ROUNDS):
        start = time.process_time()
        daemon_hits = sum(len(directory.match(NETWORK, "rfc1459", line)) for line in text)
        daemon_best = min(daemon_best, time.process_time() - start)
        start = time.process_time()
        bare_hits = sum(len(bare.match(line)) for line in text)
        bare_best = min(bare_best, time.process_time() - start)
    daemon_rate, bare_rate = LINES / daemon_best, LINES / bare_best

    print(f"{USERS:,} users, {KEYWORDS} keywords each, {LINES:,} lines, CPU best of {ROUNDS}")
    row(
        "Directory.match (daemon)",
        f"{daemon_rate:,.0f} lines/s",
        f"{daemon_rate / bare_rate:.0%} of bare",
    )
    row("one bare Matcher, same words (baseline)", f"{bare_rate:,.0f} lines/s", "100%")
    print(f"  highlights: daemon {daemon_hits:,}, bare {bare_hits:,} (must be equal)")
    if daemon_hits != bare_hits:
        raise SystemExit("the daemon and the bare matcher disagree")


if __name__ == "__main__":
    asyncio.run(main())
