"""The fake Twilio API and an IRC load client, each in a process of its own.

A benchmark that reads its own CPU (getrusage) then measures the daemon alone, and
the two do not take turns with the daemon on one event loop. Times are
CLOCK_MONOTONIC (time.monotonic), one clock for every process on Linux: a line's
latency is its arrival at the API minus its sending by the client.

Not a benchmark itself (`make bench` runs bench_*.py only).

Run (by the classes below): python apart.py twilio
                            python apart.py client HOST PORT CHANNEL NICK
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from aiohttp import web

from fake_twilio import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, FakeTwilio


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _spawn(*args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, str(Path(__file__)), *args,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        limit=1 << 24,
    )  # fmt: skip


class _Keeping(FakeTwilio):
    """The fake API, keeping each message it created with its arrival time."""

    def __init__(self) -> None:
        super().__init__(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN)
        self.created: list[tuple[str, float]] = []

    async def _create_message(self, request: web.Request) -> web.Response:
        form = await request.post()
        at = time.monotonic()
        response = await super()._create_message(request)
        if response.status == 201:
            self.created.append((str(form.get("Body", "")), at))
        return response


async def _twilio_main() -> None:
    """Answers each line on stdin: "cpu" with its CPU seconds, "new" with the messages
    created since the last "new"; anything else stops it."""
    async with _Keeping() as api:
        print(json.dumps(api.base_url), flush=True)
        loop = asyncio.get_running_loop()
        told = 0
        while (order := (await loop.run_in_executor(None, sys.stdin.readline)).strip()) in (
            "cpu",
            "new",
        ):
            if order == "cpu":
                print(json.dumps(_cpu()), flush=True)
            else:
                print(json.dumps(api.created[told:]), flush=True)
                told = len(api.created)


class RemoteTwilio:
    """Stands in for stage.TimedTwilio: the fake API in a subprocess. The arrivals come
    over a pipe only when asked for (`update`), so the daemon's process does no work
    per message for the benchmark while it is measured."""

    account_sid = TEST_ACCOUNT_SID
    auth_token = TEST_AUTH_TOKEN
    POLL = 0.05  # seconds between asks while waiting for messages

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}  # body: first arrival (time.monotonic)
        self.bodies: list[str] = []  # every message created, in order (duplicates too)
        self.base_url = ""
        self._proc: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()  # one question at a time on the pipe

    @property
    def messages(self) -> list[str]:
        return self.bodies

    async def __aenter__(self) -> RemoteTwilio:
        self._proc = await _spawn("twilio")
        assert self._proc.stdout is not None
        self.base_url = json.loads(await self._proc.stdout.readline())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.write(b"stop\n")
        await self._proc.wait()

    async def _ask(self, order: bytes) -> Any:
        assert self._proc is not None and self._proc.stdin and self._proc.stdout
        async with self._lock:
            self._proc.stdin.write(order + b"\n")
            return json.loads(await self._proc.stdout.readline())

    async def cpu(self) -> float:
        """CPU seconds the API's process used so far."""
        return float(await self._ask(b"cpu"))

    async def update(self) -> None:
        """Take the messages created since the last update."""
        for body, at in await self._ask(b"new"):
            self.arrived.setdefault(body, at)
            self.bodies.append(body)

    async def wait_for_messages(self, n: int, timeout: float = 10) -> list[str]:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while True:
                await self.update()
                if len(self.bodies) >= n:
                    return list(self.bodies)
                await asyncio.sleep(self.POLL)


async def _client_main(host: str, port: int, channel: str, nick: str) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(f"NICK {nick}\r\nUSER {nick} 0 * :load\r\nJOIN {channel}\r\n".encode())
    joined = asyncio.get_running_loop().create_future()
    to_us = f" PRIVMSG {nick} :".encode()
    heard: list[tuple[str, float]] = []  # PRIVMSGs to us: text, when (time.monotonic)

    async def read() -> None:
        while line := await reader.readline():
            if to_us in line:
                text = line.split(to_us, 1)[1].rstrip(b"\r\n")
                heard.append((text.decode("utf-8", "replace"), time.monotonic()))
            elif line.startswith(b"PING"):
                writer.write(b"PONG" + line[4:])
            elif b" 366 " in line and not joined.done():
                joined.set_result(None)

    reading = asyncio.create_task(read())
    await joined
    print(json.dumps("joined"), flush=True)
    loop = asyncio.get_running_loop()
    while order := await loop.run_in_executor(None, sys.stdin.readline):
        if (asked := json.loads(order)) == "heard":
            print(json.dumps(heard), flush=True)
            heard = []  # each told once
            continue
        rate, texts = asked
        print(json.dumps(await _send(writer, channel, rate, texts)), flush=True)
    writer.write(b"QUIT\r\n")
    await writer.drain()
    writer.close()
    reading.cancel()


async def _send(
    writer: asyncio.StreamWriter, channel: str, rate: float, texts: list[str]
) -> dict[str, Any]:
    """Each text at its moment (a steady rate); when each went, and this process's CPU."""
    sent: list[float] = []
    cpu0 = _cpu()
    start = time.monotonic()
    for i, text in enumerate(texts):
        if (wait := start + i / rate - time.monotonic()) > 0:
            await asyncio.sleep(wait)
        sent.append(time.monotonic())
        writer.write(f"PRIVMSG {channel} :{text}\r\n".encode())
        await writer.drain()
    return {"sent": sent, "cpu": _cpu() - cpu0}


class RemoteClient:
    """An IRC client in a subprocess, joined to a channel, saying lines at a steady rate
    and noting the PRIVMSGs it is sent."""

    def __init__(self, host: str, port: int, channel: str, nick: str) -> None:
        self._args = ("client", host, str(port), channel, nick)
        self._proc: asyncio.subprocess.Process | None = None

    async def __aenter__(self) -> RemoteClient:
        self._proc = await _spawn(*self._args)
        assert self._proc.stdout is not None
        assert json.loads(await self._proc.stdout.readline()) == "joined"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        self._proc.stdin.close()
        await self._proc.wait()

    async def heard(self) -> list[tuple[str, float]]:
        """The PRIVMSGs to this client since the last ask: text, when (time.monotonic)."""
        assert self._proc is not None and self._proc.stdin and self._proc.stdout
        self._proc.stdin.write(b'"heard"\n')
        await self._proc.stdin.drain()
        return [(text, at) for text, at in json.loads(await self._proc.stdout.readline())]

    async def say(self, rate: float, texts: list[str]) -> tuple[list[float], float]:
        """Say texts at `rate` lines/s: when each went (time.monotonic), the client's CPU."""
        assert self._proc is not None and self._proc.stdin and self._proc.stdout
        self._proc.stdin.write(json.dumps([rate, texts]).encode() + b"\n")
        await self._proc.stdin.drain()
        answer = json.loads(await self._proc.stdout.readline())
        return answer["sent"], answer["cpu"]


if __name__ == "__main__":
    if sys.argv[1] == "twilio":
        asyncio.run(_twilio_main())
    else:
        host, port, channel, nick = sys.argv[2:6]
        asyncio.run(_client_main(host, int(port), channel, nick))
