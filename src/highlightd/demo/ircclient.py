"""The demo's people on IRC: a small raw client that keeps every line it receives."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Line:
    nick: str  # the sender's nick, or the server's name
    command: str
    params: list[str]

    @property
    def text(self) -> str:
        return self.params[-1] if self.params else ""


def parse(raw: str) -> Line:
    if raw.startswith("@"):  # IRCv3 tags
        raw = raw.partition(" ")[2]
    prefix = ""
    if raw.startswith(":"):
        prefix, _, raw = raw[1:].partition(" ")
    head, colon, trailing = raw.partition(" :")
    params = head.split()
    command = params.pop(0).upper() if params else ""
    if colon:
        params.append(trailing)
    return Line(prefix.partition("!")[0], command, params)


class DemoClient:
    """One person on the demo's IRC server."""

    def __init__(self, nick: str, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.nick = nick
        self._reader, self._writer = reader, writer
        self._lines: list[Line] = []
        self._seen = 0  # lines before this index were matched (or skipped) already
        self._new = asyncio.Event()
        self._task = asyncio.create_task(self._read(), name=f"demo-{nick}")

    @classmethod
    async def connect(cls, host: str, port: int, nick: str) -> DemoClient:
        reader, writer = await asyncio.open_connection(host, port)
        client = cls(nick, reader, writer)
        await client.send(f"NICK {nick}")
        await client.send(f"USER {nick} 0 * :{nick} (highlightd demo)")
        welcome = await client.wait(lambda line: line.command in ("001", "432", "433"))
        if welcome.command != "001":
            await client.close()
            raise ConnectionError(f"the server refused nick {nick}: {welcome.text}")
        return client

    async def _read(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            while data := await self._reader.readline():
                line = parse(data.decode("utf-8", "replace").rstrip("\r\n"))
                if line.command == "PING":
                    self._writer.write(f"PONG :{line.text}\r\n".encode())
                self._lines.append(line)
                self._new.set()
        self._new.set()

    async def send(self, raw: str) -> None:
        self._writer.write(raw.encode() + b"\r\n")
        await self._writer.drain()

    async def say(self, target: str, text: str) -> None:
        await self.send(f"PRIVMSG {target} :{text}")

    async def wait(self, wanted: Callable[[Line], bool]) -> Line:
        """The next line (not matched before) that is wanted; ConnectionError at EOF."""
        while True:
            for index in range(self._seen, len(self._lines)):
                if wanted(self._lines[index]):
                    self._seen = index + 1
                    return self._lines[index]
            if self._task.done():
                raise ConnectionError(f"{self.nick}: the server closed the connection")
            self._new.clear()
            await self._new.wait()

    async def from_nick(self, nick: str, command: str = "PRIVMSG") -> Line:
        """The next line of this command from nick to us."""
        return await self.wait(
            lambda line: (
                line.command == command
                and line.nick.lower() == nick.lower()
                and bool(line.params)
                and line.params[0].lower() == self.nick.lower()
            )
        )

    async def close(self, message: str = "bye") -> None:
        with contextlib.suppress(OSError):
            await self.send(f"QUIT :{message}")
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()
