"""Signed (stored) and forged webhooks against a bare aiohttp form handler, same run.

The server runs in this process: first a bare aiohttp handler that reads the form
and answers 200, then the daemon's web half (`--role web`: the webhook, the store,
the outbox putting each answer on a Redis stream) with 1,000 registered users.
The load comes from wrk in a process of its own (wrkload.py; loadgen.py, a
Python client, where wrk is missing), with every request prepared beforehand.
Each figure: requests/s, and the server's CPU time per request (this process,
every thread; Valkey's own CPU is not counted), which the shared machine disturbs
far less than the rate; and which side filled a core. Counts: requests, answers,
rows stored, entries on the stream (no loss, no duplicate).

Run: .venv/bin/python benchmarks/bench_webhooks.py  (BENCH_SECONDS=N: each run's length;
BENCH_CONNECTIONS=N: wrk's connections, 16 by default)
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import redis.asyncio as aioredis
from aiohttp import web

from common import Load, load, populate, row
from fake_twilio import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, twilio_signature
from harness import ALICE_PHONE, FROM_NUMBER, NETWORK, add_user, running, settings_dict
from highlightd.config import Settings
from highlightd.infra.bus import STREAM
from highlightd.store import writer
from servers import IrcServer, RedisServer, free_port
from wrkload import WrkLoad, have_wrk, wrk_load

SECONDS = float(os.environ.get("BENCH_SECONDS", "3"))
CONCURRENCY = int(os.environ.get("BENCH_CONNECTIONS", "16"))
PREPARED = 40_000  # more than a signed run sends: each MessageSid once
WRITERS: list[writer.GroupWriter] = []


def prepared(url: str, token: str, first: int) -> list[tuple[str, str]]:
    """(body, signature) pairs, each with a MessageSid of its own."""
    out = []
    for n in range(first, first + PREPARED):
        form = {"MessageSid": f"SM{n:032x}", "From": ALICE_PHONE, "To": FROM_NUMBER}
        form["Body"] = f"#chan answer {n}"
        out.append((urlencode(form), twilio_signature(token, url, form)))
    return out


async def run_load(url: str, requests: list[tuple[str, str]]) -> Load:
    """wrk where it is installed, else the Python client (which may be what limits)."""
    if have_wrk():
        return await wrk_load(url, requests, CONCURRENCY, SECONDS)
    return await load(url, requests, CONCURRENCY, SECONDS)


async def bare() -> Load:
    async def handler(request: web.Request) -> web.Response:
        await request.post()
        return web.Response(text="")

    app = web.Application()
    app.router.add_post("/twilio/sms", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        url = f"http://127.0.0.1:{port}/twilio/sms"
        return await run_load(url, prepared(url, "x", 0))
    finally:
        await runner.cleanup()


def _counting_writers() -> None:
    """Keep each GroupWriter made, to print how many writes shared a commit."""
    made = writer.GroupWriter.__init__

    def init(self: writer.GroupWriter, *args: Any) -> None:
        made(self, *args)
        WRITERS.append(self)

    writer.GroupWriter.__init__ = init  # type: ignore[method-assign]


async def _published(db: Path) -> int:
    """Wait until the outbox put every stored answer on the bus; how many rows there are."""
    for _ in range(200):
        conn = sqlite3.connect(db)
        try:
            rows, waiting = conn.execute(
                "SELECT count(*), count(*) - count(published_at) FROM received_sms"
            ).fetchone()
        finally:
            conn.close()
        if not waiting:
            return int(rows)
        await asyncio.sleep(0.05)
    raise SystemExit(f"{waiting} stored answers never went on the bus")


async def main() -> None:
    _counting_writers()
    baseline = await bare()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        irc, redis = IrcServer(tmp / "irc"), RedisServer(tmp / "redis", appendfsync="everysec")
        await irc.astart()
        await redis.astart()
        try:
            data = settings_dict(tmp, irc, redis.url, None, free_port())
            data["twilio"] = {
                "account_sid": TEST_ACCOUNT_SID,
                "auth_token": TEST_AUTH_TOKEN,
                "from_number": FROM_NUMBER,
            }
            settings = Settings(**data)
            await populate(settings.storage.path, NETWORK, 1_000, 2, first_id=100)
            await add_user(settings.storage.path, "alice", ALICE_PHONE)
            async with running(settings, role="web") as hl:
                url = hl.base_url + "/twilio/sms"
                # Forged first: the web half alone keeps every answer it stored (no IRC
                # side confirms them), and its outbox sweep goes through them each second.
                forged = await run_load(url, prepared(url, "forged", 10**6))
                signed = await run_load(url, prepared(url, TEST_AUTH_TOKEN, 0))
                rows = await _published(settings.storage.path)
                client = aioredis.Redis.from_url(redis.url, decode_responses=True)
                entries = await client.xrange(STREAM)
                await client.aclose()
                received = await hl.counts("highlightd_sms_received_total", "outcome")
                rejected = await hl.counts("highlightd_webhook_rejected_total", "reason")
        finally:
            await redis.astop()
            await irc.astop()
    _report(baseline, signed, forged)
    sids = [fields.get("sid") for _id, fields in entries]
    print(f"  counts: signed {signed.sent} answered, {signed.statuses}{_cut(signed)};"
          f" {rows} rows stored; {len(sids)} stream entries, {len(set(sids))} distinct;"
          f" metric {received}")  # fmt: skip
    print(f"  forged {forged.sent} answered, {forged.statuses}{_cut(forged)};"
          f" rejected metric {rejected}")  # fmt: skip
    commits = sum(w.groups for w in WRITERS)
    writes = sum(w.writes for w in WRITERS)
    each = writes / max(commits, 1)
    print(f"  group commit: {writes} writes in {commits} commits ({each:.1f} each)")
    issued = signed.issued if isinstance(signed, WrkLoad) else signed.sent
    repeated = signed.repeated if isinstance(signed, WrkLoad) else 0
    # Each 200 is a row; a request cut off in flight at the end may be a row too.
    stored = signed.statuses.get(200, 0) <= rows <= issued and rows == len(sids) == len(set(sids))
    if repeated or not stored:
        raise SystemExit("an answer was lost or duplicated")


def _cut(run: Load) -> str:
    if not isinstance(run, WrkLoad):
        return ""
    return f" ({run.issued - run.sent} cut off in flight at the end, {run.repeated} repeated)"


def _report(baseline: Load, signed: Load, forged: Load) -> None:
    for what, run in (("signed, stored webhook", signed), ("forged-signature webhook", forged)):
        row(what, f"{run.rate:,.0f} req/s", f"{run.rate / baseline.rate:.0%} of bare")
        row("  server CPU per request (user+sys)", f"{run.cpu_us:,.0f} us",
            f"bare/this {baseline.cpu_us / run.cpu_us:.0%}")  # fmt: skip
        row("  server user CPU per request", f"{run.user_us:,.0f} us",
            f"bare/this {baseline.user_us / run.user_us:.0%}")  # fmt: skip
        print(f"    {run.busy()}{_latency(run)}")
        if isinstance(run, WrkLoad):
            print(f"    {run.threads()}")
    row("bare aiohttp form handler (baseline)", f"{baseline.rate:,.0f} req/s", "100%")
    row("  server CPU per request (user+sys)", f"{baseline.cpu_us:,.0f} us", "")
    row("  server user CPU per request", f"{baseline.user_us:,.0f} us", "")
    print(f"    {baseline.busy()}{_latency(baseline)}")
    loader = "wrk (wrkload.py)" if isinstance(baseline, WrkLoad) else "loadgen.py"
    print(f"  load generator: {loader}, {CONCURRENCY} connections, {SECONDS:.0f} s per run")


def _latency(run: Load) -> str:
    return f"; {run.latency()}" if isinstance(run, WrkLoad) else ""


if __name__ == "__main__":
    asyncio.run(main())
