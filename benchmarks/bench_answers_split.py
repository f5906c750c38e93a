"""SMS answers delivered per second with the roles split: `highlightd run --role web` and
`highlightd run --role irc`, two processes on one Redis and one storage file.

bench_answers.py runs both halves in one process, as `highlightd run` does by default:
there the webhooks and the relay share one event loop. Here each half has a process
(and a core) of its own, as compose.yaml runs them. BURST answers of alice's, each
addressed to bob ("bob: ..."), come from loadgen.py as fast as the web role takes
them; bob (apart.RemoteClient) notes when each arrives. The figure runs from the
first request to the last answer bob heard (time.monotonic, one clock for every
process). Counts: webhooks, 200s, PRIVMSGs, each answer once.

Run: .venv/bin/python benchmarks/bench_answers_split.py
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

from apart import RemoteClient
from bench_answers import BURST, CONCURRENCY, heard_all, prepared
from common import load, populate, row
from harness import ALICE_PHONE, BOT, CHANNEL, NETWORK, add_user, wait_for_bot
from servers import IrcTestClient, free_port
from stage import servers
from test_answers_survive import _config
from test_process import Output, _env

USERS = 10_000


def cpu_of(pid: int) -> float:
    """CPU seconds (user + system) a process used so far, from /proc (10 ms ticks)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.asynccontextmanager
async def role(name: str, config: Path, cwd: Path) -> AsyncIterator[int]:
    """`highlightd run --role name` in a process of its own (its pid), stopped (SIGTERM)
    after."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "highlightd", "run", "--role", name, "--config", str(config),
        cwd=cwd, env=_env(), stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    output = Output(proc.stderr)
    try:
        await output.wait_for(f"running: role {name}")
        yield proc.pid
    finally:
        proc.terminate()
        await proc.wait()
        await output.task


async def main() -> None:
    async with servers() as (tmp, irc, redis):
        port = free_port()
        # Flood control off, as in bench_answers.py: the daemon is measured, not the
        # send rate it keeps to.
        config = _config(tmp, irc, redis, port, send_rate=1_000_000)
        db = tmp / "data" / "highlightd.sqlite3"
        db.parent.mkdir()
        await populate(db, NETWORK, USERS, 2, first_id=100)
        await add_user(db, "alice", ALICE_PHONE)
        watcher = await IrcTestClient.connect(irc.host, irc.port, "watcher")
        await watcher.join(CHANNEL)
        async with (
            RemoteClient(irc.host, irc.port, CHANNEL, "bob") as bob,
            role("irc", config, tmp) as irc_pid,
            role("web", config, tmp) as web_pid,
        ):
            await wait_for_bot(watcher, CHANNEL, BOT)
            await watcher.close()
            url = f"http://127.0.0.1:{port}/twilio/sms"
            texts = [f"burst {n}" for n in range(BURST)]
            requests = prepared(url, [f"bob: {t}" for t in texts], 10**6)
            before = cpu_of(irc_pid), cpu_of(web_pid)
            posted = await load(url, requests, CONCURRENCY, 120.0)
            said, first = await heard_all(bob, set(texts), 120)
            # With heard_all's 0.5 s wait for duplicates: idle, a tick or two.
            irc_cpu, web_cpu = cpu_of(irc_pid) - before[0], cpu_of(web_pid) - before[1]
    rate = BURST / (max(first[t] for t in texts) - posted.began)
    row(f"answers delivered, {BURST} at once, roles split", f"{rate:,.0f} /s",
        f"{rate / 1000:.0%} of 1,000/s")  # fmt: skip
    row("  CPU per answer: --role irc", f"{irc_cpu / BURST * 1e6:,.0f} us", "")
    row("  CPU per answer: --role web", f"{web_cpu / BURST * 1e6:,.0f} us", "")
    twice = sum(1 for n in said.values() if n > 1)
    statuses = Counter(posted.statuses)
    print(f"  counts: {BURST} webhooks, answers {dict(statuses)}, {len(said)} said, "
          f"{twice} twice")  # fmt: skip
    if set(said) != set(texts) or twice or statuses.get(200) != BURST:
        raise SystemExit("an answer was lost or duplicated")


if __name__ == "__main__":
    asyncio.run(main())
