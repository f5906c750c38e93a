"""Confirmed IRC sends per second through a real ngircd, and the PINGs that confirm them.

Each send resolves only once the server answered a PING written after it, so
this is the cost of "said" meaning "the server took it". Flood control is
opened wide here to measure the confirmation itself.

Run: .venv/bin/python benchmarks/bench_delivery.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from highlightd.config import NetworkSettings
from highlightd.irc.network import Network
from proxy import TcpProxy
from servers import IrcServer, IrcTestClient

SENDS = 300


async def run_case(server: IrcServer, targets: list[str]) -> tuple[float, int]:
    proxy = TcpProxy(server.host, server.port)
    await proxy.start()
    settings = NetworkSettings(
        name="bench",
        host=proxy.host,
        port=proxy.port,
        tls=False,
        nick="hlbench",
        send_burst=10_000,
        send_rate=1_000_000,
    )
    network = Network(settings, lambda event: None)
    task = asyncio.create_task(network.run())
    try:
        while not network.connected:
            network.state_changed.clear()
            await network.state_changed.wait()
        start = time.perf_counter()
        sends = [network.send(targets[i % len(targets)], f"line {i}") for i in range(SENDS)]
        await asyncio.gather(*sends)
        elapsed = time.perf_counter() - start
        return elapsed, proxy.sent.count(b"PING hl")
    finally:
        await network.quit()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await proxy.stop()


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = IrcServer(Path(tmp))
        await server.astart()
        clients = [
            await IrcTestClient.connect(server.host, server.port, f"u{i}") for i in range(10)
        ]
        try:
            for label, targets in (("one nick", ["u0"]), ("10 nicks", [c.nick for c in clients])):
                elapsed, pings = await run_case(server, targets)
                print(
                    f"{SENDS} sends to {label}: {SENDS / elapsed:,.0f} confirmed/s, "
                    f"{pings} PINGs ({pings / SENDS:.2f} per send)"
                )
        finally:
            for client in clients:
                await client.close()
            await server.astop()


if __name__ == "__main__":
    asyncio.run(main())
