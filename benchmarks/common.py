"""What the benchmarks share: a populated database, CPU and memory readings, percentiles.

Not a benchmark itself (`make bench` runs bench_*.py only).
"""

from __future__ import annotations

import asyncio
import json
import random
import resource
import sqlite3
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from highlightd.core.ircnames import nick_key
from highlightd.core.matcher import irc_lower
from highlightd.store import Store

# One syllable per letter: every nick below is distinct, none of them an English word.
_SYLLABLES = ["ka", "lo", "mi", "nu", "pe", "ro", "su", "ti", "va", "ze"]
KEYWORD_STEMS = ["zorb", "quix", "vlem", "prang", "gloof", "snark", "twib", "flarn"]


def nick(n: int) -> str:
    digits = str(n)
    return "u" + "".join(_SYLLABLES[int(d)] for d in digits)


def keyword(n: int, k: int) -> str:
    return f"{KEYWORD_STEMS[(n + k) % len(KEYWORD_STEMS)]}{n}k{k}"


async def populate(
    path: Path, network: str, users: int, keywords_each: int, first_id: int = 1
) -> None:
    """Create the schema through the Store, then write the rows in one transaction."""
    store = await Store.open(path)
    await store.close()
    conn = sqlite3.connect(path)
    try:
        now = time.time()
        conn.executemany(
            "INSERT INTO users (id, network, nick, nick_key, phone, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                (first_id + n, network, nick(n), nick_key(nick(n)), f"+1201{n:07d}", now)
                for n in range(users)
            ),
        )
        conn.executemany(
            "INSERT INTO keywords (user_id, word_key, word, exception) VALUES (?, ?, ?, 0)",
            (
                (first_id + n, irc_lower(keyword(n, k)), keyword(n, k))
                for n in range(users)
                for k in range(keywords_each)
            ),
        )
        conn.commit()
    finally:
        conn.close()


def chatter(rng: random.Random, count: int) -> list[str]:
    """Ordinary lines that mention nobody."""
    vocabulary = (
        "the a and to of in it is that for on with was you this be are have not "
        "but at we they just so what can build test deploy merge review patch bug "
        "release server kernel config log error restart update python channel lol thanks"
    ).split()
    return [" ".join(rng.choices(vocabulary, k=rng.randint(4, 14))) for _ in range(count)]


def cpu() -> float:
    """CPU seconds this process used so far (user + system, every thread)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_kb() -> int:
    """Resident memory now, in KiB (from /proc: ru_maxrss is the peak only)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def row(what: str, figure: str, ratio: str) -> None:
    print(f"{what:<48} {figure:<30} {ratio}")


@dataclass(frozen=True)
class Load:
    """One run of loadgen.py against a server in this process."""

    sent: int
    statuses: dict[int, int]
    elapsed: float  # seconds, the client's clock
    client_cpu: float  # seconds of CPU, the load generator's process
    server_cpu: float  # seconds of CPU, this process (every thread) meanwhile
    server_user: float  # of which in user space (our code, aiohttp, SQLite)
    posted: list[float] = field(default_factory=list)  # at a set rate: each request's time
    began: float = 0.0  # time.monotonic() (one clock for all processes) of the first request

    @property
    def rate(self) -> float:
        return self.sent / self.elapsed

    @property
    def cpu_us(self) -> float:
        """The server's CPU time per request, in microseconds."""
        return self.server_cpu / max(self.sent, 1) * 1e6

    @property
    def user_us(self) -> float:
        """The server's user-space CPU time per request, in microseconds: the kernel's
        share (loopback TCP, waking the other process) varies with the machine's load."""
        return self.server_user / max(self.sent, 1) * 1e6

    def busy(self) -> str:
        """Who is the bottleneck: each side's share of one core while it ran."""
        server, client = self.server_cpu / self.elapsed, self.client_cpu / self.elapsed
        if max(server, client) < 0.8:
            side = "neither fills a core: the shared machine's other load holds both back"
        else:
            side = ("server" if server >= client else "load generator") + "-bound"
        return f"server {server:.0%} of a core, load generator {client:.0%}: {side}"


async def load(
    url: str,
    requests: list[tuple[str, str]],
    concurrency: int,
    seconds: float,
    rate: float = 0,
) -> Load:
    """POST prepared (body, signature) pairs from loadgen.py in a process of its own: as
    fast as they are answered, or `rate` a second (Load.posted: when each went)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        str(Path(__file__).with_name("loadgen.py")),
        url,
        str(concurrency),
        str(seconds),
        *([str(rate)] if rate else []),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("".join(json.dumps(r) + "\n" for r in requests).encode())
    await proc.stdin.drain()
    proc.stdin.close()
    assert (await proc.stdout.readline()).strip() == b"ready"
    before = resource.getrusage(resource.RUSAGE_SELF)
    result = json.loads(await proc.stdout.readline())
    after = resource.getrusage(resource.RUSAGE_SELF)
    await proc.wait()
    user = after.ru_utime - before.ru_utime
    server_cpu = user + after.ru_stime - before.ru_stime
    statuses = {int(k): v for k, v in result["statuses"].items()}
    return Load(
        result["sent"], statuses, result["elapsed"], result["cpu"], server_cpu, user,
        result["posted"], result["began"],
    )  # fmt: skip
