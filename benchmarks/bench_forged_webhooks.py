"""What 20,000 forged webhooks cost the daemon: time, log lines, and the rejection counter.

Runs the real web side (its app, guard and runner) on a free port, posts forms
signed with a wrong key from a bounded number of concurrent clients, and prints
the rate, the log lines the web side wrote, and highlightd_webhook_rejected_total.

Run: .venv/bin/python benchmarks/bench_forged_webhooks.py [count] [concurrency]
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import sys
import tempfile
import time
from pathlib import Path

import aiohttp

from highlightd.config import WebSettings
from highlightd.infra.bus import Bus, connect
from highlightd.infra.metrics import Metrics
from highlightd.store import Store
from highlightd.web.app import WebDeps
from highlightd.web.outbox import Outbox
from highlightd.web.server import WebServer

ACCOUNT = "AC" + "0" * 32


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def forged(url: str, n: int) -> tuple[dict[str, str], str]:
    form = {
        "MessageSid": f"SM{n:032x}",
        "AccountSid": ACCOUNT,
        "From": "+12015550001",
        "To": "+15005550006",
        "Body": "send money",
    }
    data = url + "".join(k + form[k] for k in sorted(form))
    mac = hmac.new(b"not-the-token", data.encode(), hashlib.sha1).digest()
    return form, base64.b64encode(mac).decode()


async def no_networks() -> dict[str, str]:
    return {}


async def main(count: int, concurrency: int) -> None:
    lines = Lines()
    logging.getLogger("highlightd.web").addHandler(lines)
    logging.getLogger("highlightd.web").setLevel(logging.INFO)
    with tempfile.TemporaryDirectory() as tmp:
        store = await Store.open(Path(tmp) / "bench.sqlite3")
        redis = connect("redis://127.0.0.1:1/0")  # never reached: forged forms stop before
        bus = Bus(redis)
        metrics = Metrics()
        deps = WebDeps(
            store=store,
            bus=bus,
            outbox=Outbox(store, bus, republish_after=60),
            metrics=metrics,
            network_names=[],
            network_state=no_networks,
            public_url="http://127.0.0.1",
            auth_token="the-token",
            max_body=64 * 1024,
            account_sid=ACCOUNT,
        )
        server = WebServer(deps, WebSettings(port=0))
        await server.setup()
        try:
            port = await server.start()
            url = f"http://127.0.0.1:{port}/twilio/sms"
            numbers = iter(range(count))
            statuses: dict[int, int] = {}
            started = time.perf_counter()
            async with aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=concurrency)
            ) as http:

                async def worker() -> None:
                    for n in numbers:
                        form, signature = forged(url, n)
                        async with http.post(
                            url, data=form, headers={"X-Twilio-Signature": signature}
                        ) as resp:
                            await resp.read()
                            statuses[resp.status] = statuses.get(resp.status, 0) + 1

                await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - started
            counted = metrics.registry.get_sample_value(
                "highlightd_webhook_rejected_total", {"reason": "bad_signature"}
            )
        finally:
            await server.cleanup()
            await redis.aclose()
            await store.close()
    print(f"{count} forged webhooks, {concurrency} at a time: {elapsed:.2f} s,")
    print(f"  {count / elapsed:,.0f} requests/s (client and server in one process)")
    print(f"  answers: {statuses}")
    print(f"  highlightd_webhook_rejected_total{{reason=bad_signature}}: {counted}")
    print(f"  web log lines: {len(lines.lines)} (the last written at shutdown)")
    for line in lines.lines:
        print(f"    {line}")


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    asyncio.run(main(*(args + [20_000, 50][len(args) :])))
