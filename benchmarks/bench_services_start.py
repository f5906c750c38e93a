"""How long the tests' services network takes to start, and what one test connection costs.

The network (tests/services.py): a private CA and certificates made with openssl, InspIRCd 3
and Atheme started, linked, and ready once Atheme says the netburst is over. Started once
per test session; each figure here is one fresh start. Skips when the servers are missing.

Run: .venv/bin/python benchmarks/bench_services_start.py
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from services import ServicesNetwork, unavailable_reason

STARTS = 5


async def connections(network: ServicesNetwork) -> tuple[float, float, float]:
    """Seconds for: a plain client, a NickServ registration, a TLS + SASL login."""
    began = time.monotonic()
    client = await network.connect(network.unique("bench"))
    plain = time.monotonic() - began
    await client.quit()
    began = time.monotonic()
    account = await network.register()
    register = time.monotonic() - began
    began = time.monotonic()
    client = await network.connect(network.unique("bench"), tls=True, account=account)
    login = time.monotonic() - began
    await client.quit()
    return plain, register, login


def main() -> None:
    reason = unavailable_reason()
    if reason is not None:
        print(f"skipped: {reason}")
        return
    starts = []
    with tempfile.TemporaryDirectory() as folder:
        for n in range(STARTS):
            network = ServicesNetwork(Path(folder) / f"net{n}")
            network.start()
            try:
                starts.append(network.startup_seconds)
                if n == 0:
                    plain, register, login = asyncio.run(connections(network))
            finally:
                network.stop()
    print(
        f"services network start: median {statistics.median(starts) * 1000:.0f} ms, "
        f"max {max(starts) * 1000:.0f} ms over {STARTS} starts"
    )
    print(
        f"one plain client {plain * 1000:.0f} ms, NickServ REGISTER {register * 1000:.0f} ms, "
        f"TLS + SASL PLAIN login {login * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
