"""Load from wrk (C, a process of its own) POSTing prepared forms: what came back, and
what each side spent.

wrk spends a few microseconds of CPU per request where an aiohttp client spends
more than the server it loads: on a machine of two cores a Python client takes the
CPU the server needs, and a baseline as fast as a bare aiohttp handler is then
held back by its client. Every request is prepared beforehand (body encoded,
signature computed); prepared.lua sends each once (a MessageSid is never repeated
unless the run outlasts them, which it counts). wrk ends the run with requests in
flight: they may have been handled, but no answer was counted.

Not a benchmark itself (`make bench` runs bench_*.py only). Debian's `wrk` package;
`make bench` installs it (scripts/install-bench-tools.sh).
"""

from __future__ import annotations

import asyncio
import json
import resource
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from common import Load

SCRIPT = Path(__file__).with_name("prepared.lua")
THREADS = 2


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


@dataclass(frozen=True)
class WrkLoad(Load):
    issued: int = 0  # requests wrk sent: `sent` (answered) plus those cut off at the end
    repeated: int = 0  # requests whose prepared body had been sent before
    p50_us: int = 0
    p99_us: int = 0
    loop_cpu: float = 0.0  # seconds of CPU of the thread running the event loop (this one)

    def threads(self) -> str:
        """The loop's thread apart from the others (the SQLite thread, mostly): the loop's
        is the one that fills a core first."""
        loop, other = self.loop_cpu, self.server_cpu - self.loop_cpu
        per = max(self.sent, 1) / 1e6
        return (
            f"loop thread {loop / per:,.0f} us per request ({loop / self.elapsed:.0%} of a core),"
            f" other threads {other / per:,.0f} us ({other / self.elapsed:.0%})"
        )

    def latency(self) -> str:
        return f"latency p50 {self.p50_us / 1000:.1f} ms, p99 {self.p99_us / 1000:.1f} ms"


async def wrk_load(
    url: str, requests: list[tuple[str, str]], connections: int, seconds: float
) -> WrkLoad:
    """POST prepared (body, signature) pairs from wrk; the server runs in this process."""
    with tempfile.TemporaryDirectory() as folder:
        prepared = Path(folder) / "requests.tsv"
        prepared.write_text("".join(f"{sig}\t{body}\n" for body, sig in requests))
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        before = resource.getrusage(resource.RUSAGE_SELF)
        loop_before = time.thread_time()
        proc = await asyncio.create_subprocess_exec(
            "wrk", "-t", str(THREADS), "-c", str(connections), "-d", f"{round(seconds)}s",
            "-s", str(SCRIPT), url, "--", str(prepared), str(THREADS),
            stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, _ = await proc.communicate()
        after = resource.getrusage(resource.RUSAGE_SELF)
        loop_cpu = time.thread_time() - loop_before
        waited = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"wrk failed ({proc.returncode}): {out.decode()}")
    lines = [line for line in out.decode().splitlines() if line.startswith("RESULT ")]
    result = json.loads(lines[-1].removeprefix("RESULT "))
    if result["errors"]:
        raise SystemExit(f"wrk: {result['errors']} socket errors:\n{out.decode()}")
    statuses = {int(k): v for k, v in result["statuses"].items()}
    user = after.ru_utime - before.ru_utime
    client = waited.ru_utime + waited.ru_stime - children.ru_utime - children.ru_stime
    return WrkLoad(
        sum(statuses.values()), statuses, result["elapsed"], client,
        user + after.ru_stime - before.ru_stime, user,
        issued=result["sent"], repeated=result["repeated"],
        p50_us=result["p50_us"], p99_us=result["p99_us"], loop_cpu=loop_cpu,
    )  # fmt: skip
