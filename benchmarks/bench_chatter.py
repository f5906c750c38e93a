"""Ordinary chatter (no mention) through the real daemon: CPU per line and lines/s.

A load client in a subprocess sends LINES channel lines that mention nobody to
ngircd, then one mention of alice as a marker; the daemon (this process: 10,000
users with 2 keywords each, and no test client in the channel) has read them all
when the marker's SMS arrives.
The daemon's CPU is this process's (getrusage, every thread) over that span.
Beside it, pydle's own parse and dispatch of the same lines, without a socket:
the floor under which the daemon cannot go without replacing pydle.

Run: .venv/bin/python benchmarks/bench_chatter.py
"""

from __future__ import annotations

import asyncio
import random
import sys
import time

import pydle

from common import chatter, cpu, row
from harness import CHANNEL
from stage import staged

USERS = 10_000
LINES = 20_000
PYDLE_LINES = 20_000
READ_SIZE = 4096

LOAD_CLIENT = r"""
import socket, sys
host, port, channel, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
lines = open(path, encoding="utf-8").read().splitlines()
sock = socket.create_connection((host, port))
sock.sendall(b"NICK loader\r\nUSER loader 0 * :load\r\nJOIN " + channel.encode() + b"\r\n")
buf = b""
while b" 366 " not in buf:  # end of NAMES: joined
    buf += sock.recv(65536)
print("joined", flush=True)
sys.stdin.readline()
payload = "".join(f"PRIVMSG {channel} :{line}\r\n" for line in lines).encode()
sock.sendall(payload)
print("sent", flush=True)
sys.stdin.readline()
sock.sendall(b"QUIT\r\n")
sock.close()
"""


async def daemon_run(lines: list[str]) -> tuple[float, float, int]:
    """(CPU s, wall s, SMS sent) for LINES chatter lines and one marker."""
    # No test clients in the channel: they would read every line in this process too,
    # and their parsing would count as the daemon's CPU.
    async with staged(USERS, clients=()) as (s, twilio):
        import tempfile

        with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8") as f:
            f.write("\n".join([*lines, "alice: marker"]) + "\n")
            f.flush()
            network = s.settings.networks[0]
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-c", LOAD_CLIENT, network.host, str(network.port), CHANNEL,
                f.name, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            )  # fmt: skip
            assert proc.stdin is not None and proc.stdout is not None
            await proc.stdout.readline()  # joined
            await asyncio.sleep(0.5)  # the bot sees the loader join
            cpu0, wall0 = cpu(), time.perf_counter()
            proc.stdin.write(b"go\n")
            await proc.stdout.readline()  # sent
            await twilio.wait_for_messages(1, timeout=60)
            used, wall = cpu() - cpu0, time.perf_counter() - wall0
            proc.stdin.write(b"quit\n")
            await proc.wait()
            await asyncio.sleep(0.3)  # anything late would show in the count
            return used, wall, len(twilio.messages)


async def pydle_floor(lines: list[str]) -> float:
    """CPU s per line for pydle.Client to parse and dispatch these PRIVMSGs (no socket)."""
    client = pydle.Client("hlbot")
    client.encoding = "utf-8"  # set by connect()
    payload = "".join(f":bob!b@h PRIVMSG {CHANNEL} :{line}\r\n" for line in lines).encode()
    before = set(asyncio.all_tasks())
    start = time.process_time()
    for at in range(0, len(payload), READ_SIZE):  # as the socket hands it over
        await client.on_data(payload[at : at + READ_SIZE])
    await asyncio.gather(*(set(asyncio.all_tasks()) - before - {asyncio.current_task()}))
    return (time.process_time() - start) / len(lines)


async def main() -> None:
    lines = chatter(random.Random(3), LINES)
    floor = await pydle_floor(lines[:PYDLE_LINES])
    used, wall, sms = await daemon_run(lines)
    per_line = used / LINES
    print(f"{LINES:,} chatter lines + 1 marker mention, {USERS:,} users with 2 keywords")
    row("daemon CPU per chatter line", f"{per_line * 1e3:.3f} ms", f"{per_line / floor:.1f}x pydle")
    row("  = lines/s on one core", f"{1 / per_line:,.0f} lines/s", "")
    row("  lines/s end to end (loader, ngircd, daemon)", f"{LINES / wall:,.0f} lines/s", "")
    row("pydle parse + dispatch per line (floor)", f"{floor * 1e3:.3f} ms", "1.0x")
    print(f"  counts: {LINES + 1:,} lines sent, 1 mention among them, {sms} SMS (must be 1)")
    if sms != 1:
        raise SystemExit("a mention was lost or duplicated")


if __name__ == "__main__":
    asyncio.run(main())
