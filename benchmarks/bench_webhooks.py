"""Signed (stored) and forged webhooks per second against a bare aiohttp form handler.

All three run in this process, one after the other, with the same aiohttp client
(CONCURRENCY requests in flight): the daemon's /twilio/sms with Twilio's signature
(each one stored and relayed to IRC), the same with a wrong signature, and a bare
aiohttp handler that reads the form and answers 200. The client shares this
process's core with the server, so the bare figure is the client's ceiling too.

Run: .venv/bin/python benchmarks/bench_webhooks.py
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable

import aiohttp
from aiohttp import web

from common import row
from fake_twilio import TEST_AUTH_TOKEN, twilio_signature
from harness import ALICE_PHONE, FROM_NUMBER, new_sid
from servers import free_port
from stage import staged

SECONDS = 2.0
CONCURRENCY = 20
Form = tuple[dict[str, str], dict[str, str]]  # form, headers


async def load(url: str, make: Callable[[int], Form]) -> tuple[float, Counter[int]]:
    """Requests/s for SECONDS, and the answers by status."""
    statuses: Counter[int] = Counter()
    numbers = iter(range(10**9))
    deadline = time.perf_counter() + SECONDS
    async with aiohttp.ClientSession() as http:

        async def worker() -> None:
            while time.perf_counter() < deadline:
                form, headers = make(next(numbers))
                async with http.post(url, data=form, headers=headers) as resp:
                    await resp.read()
                    statuses[resp.status] += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return statuses.total() / (time.perf_counter() - start), statuses


async def bare() -> tuple[float, Counter[int]]:
    async def handler(request: web.Request) -> web.Response:
        await request.post()
        return web.Response(text="")

    app = web.Application()
    app.router.add_post("/twilio/sms", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        return await load(f"http://127.0.0.1:{port}/twilio/sms", forged_form)
    finally:
        await runner.cleanup()


def sms_form(n: int) -> dict[str, str]:
    return {"MessageSid": new_sid(), "From": ALICE_PHONE, "To": FROM_NUMBER, "Body": f"hi {n}"}


def forged_form(n: int) -> Form:
    return sms_form(n), {"X-Twilio-Signature": "bm90LWEtc2lnbmF0dXJl"}


async def main() -> None:
    bare_rate, bare_statuses = await bare()
    async with staged(1_000) as (s, _twilio):
        await s.mentioned()
        url = s.hl.base_url + "/twilio/sms"

        def signed(n: int) -> Form:
            form = sms_form(n)
            return form, {"X-Twilio-Signature": twilio_signature(TEST_AUTH_TOKEN, url, form)}

        signed_rate, signed_statuses = await load(url, signed)
        forged_rate, forged_statuses = await load(url, forged_form)
        stored = await s.hl.counts("highlightd_sms_received_total", "outcome")
    row(
        "signed, stored webhook",
        f"{signed_rate:,.0f} req/s",
        f"{signed_rate / bare_rate:.0%} of bare",
    )
    row(
        "forged-signature webhook",
        f"{forged_rate:,.0f} req/s",
        f"{forged_rate / bare_rate:.0%} of bare",
    )
    row("bare aiohttp form handler (baseline)", f"{bare_rate:,.0f} req/s", "100%")
    print(f"  answers: signed {dict(signed_statuses)}, forged {dict(forged_statuses)},"
          f" bare {dict(bare_statuses)}; received metric {stored}")  # fmt: skip
    print("  bottleneck: one core for the client and the server; the bare run is the client's")


if __name__ == "__main__":
    asyncio.run(main())
