"""A tiny IRC server for what a real one never sends: a test scripts its every line.

It registers one client at a time (CAP LS/REQ/END, NICK, USER), answers PING
unless told to hold, echoes PRIVMSG and NOTICE when echo-message was agreed,
and keeps every line the client sent. `inject` writes raw bytes to the client.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from highlightd.config import NetworkSettings
from highlightd.core.events import IrcEvent
from highlightd.irc.network import Network
from servers import ParsedLine, free_port, parse_line

SERVER = "scripted.test"


class ScriptedIrc:
    def __init__(self, caps: str = "") -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.caps = caps
        self.hold_pongs = False  # do not answer PINGs on this connection (never confirm)
        self.echo_messages = True  # echo PRIVMSG/NOTICE when echo-message was agreed
        self.connections = 0
        self.received: list[ParsedLine] = []
        self._seen = 0
        self._new = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._registered = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()

    async def __aenter__(self) -> ScriptedIrc:
        self._server = await asyncio.start_server(self._accept, self.host, self.port)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        if self._writer is not None:
            self._writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        self._new.set()
        if self._writer is not None:
            self._writer.close()
        self._writer = writer
        self._registered.clear()
        self.hold_pongs = False
        try:
            await self._serve(reader, writer)
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nick, user, negotiating, echo = "", False, False, False
        while data := await reader.readline():
            line = parse_line(data.decode("utf-8", "replace").rstrip("\r\n"))
            self.received.append(line)
            self._new.set()
            cmd, params = line.command, line.params
            out: list[str] = []
            if cmd == "CAP" and params[:1] == ["LS"]:
                negotiating = True
                out.append(f":{SERVER} CAP * LS :{self.caps}")
            elif cmd == "CAP" and params[:1] == ["REQ"]:
                echo = "echo-message" in line.text.split()
                out.append(f":{SERVER} CAP * ACK :{line.text}")
            elif cmd == "CAP" and params[:1] == ["END"]:
                negotiating = False
            elif cmd == "NICK":
                nick = params[0]
            elif cmd == "USER":
                user = True
            elif cmd == "PING" and not self.hold_pongs:
                out.append(f":{SERVER} PONG {SERVER} :{line.text}")
            elif cmd == "JOIN":
                out += [f":{nick}!u@h JOIN {params[0]}", f":{SERVER} 366 {nick} {params[0]} :End"]
            elif cmd == "WHOIS":
                out += [
                    f":{SERVER} 401 {nick} {params[0]} :No such nick",
                    f":{SERVER} 318 {nick} {params[0]} :End",
                ]
            elif cmd in ("PRIVMSG", "NOTICE") and echo and self.echo_messages:
                out.append(f":{nick}!u@h {cmd} {params[0]} :{line.text}")
            if nick and user and not negotiating and not self._registered.is_set():
                self._registered.set()
                out += [f":{SERVER} 001 {nick} :Welcome", f":{SERVER} 422 {nick} :No MOTD"]
            for text in out:
                writer.write(text.encode() + b"\r\n")
            await writer.drain()

    async def registered(self, connection: int = 1) -> None:
        """Wait until the client of that connection (counted from 1) is registered."""
        async with asyncio.timeout(10):
            while self.connections < connection:
                self._new.clear()
                await self._new.wait()
            await self._registered.wait()
        assert self.connections == connection

    async def inject(self, data: bytes) -> None:
        """Raw bytes to the client, as they are: no line end is added."""
        assert self._writer is not None
        self._writer.write(data)
        with contextlib.suppress(OSError):
            await self._writer.drain()

    async def say(self, line: str) -> None:
        await self.inject(line.encode() + b"\r\n")

    async def expect(
        self,
        predicate: Callable[[ParsedLine], bool],
        timeout: float = 10,  # noqa: ASYNC109
    ) -> ParsedLine:
        """The first line from the client after the last one expected that satisfies predicate."""
        async with asyncio.timeout(timeout):
            while True:
                for index in range(self._seen, len(self.received)):
                    if predicate(self.received[index]):
                        self._seen = index + 1
                        return self.received[index]
                self._new.clear()
                await self._new.wait()

    async def round_trip(self, token: str) -> None:
        """PING the client and wait for its PONG: it has read everything sent before."""
        await self.say(f"PING :{token}")
        await self.expect(lambda line: line.command == "PONG" and line.text == token)


# The daemon's IRC connection (a Network) on a scripted server

BOT = "hlbot"


@dataclass
class Events:
    seen: list[IrcEvent] = field(default_factory=list)
    _new: asyncio.Event = field(default_factory=asyncio.Event)

    def __call__(self, event: IrcEvent) -> None:
        self.seen.append(event)
        self._new.set()

    async def wait_for(self, predicate: Callable[[IrcEvent], bool]) -> IrcEvent:
        async with asyncio.timeout(10):
            while True:
                for event in self.seen:
                    if predicate(event):
                        return event
                self._new.clear()
                await self._new.wait()


@dataclass
class Bot:
    network: Network
    server: ScriptedIrc
    events: Events


def scripted_network(server: ScriptedIrc, **settings: object) -> NetworkSettings:
    """The settings of the bot's network on the scripted server (in #chan)."""
    return NetworkSettings(
        name="scripted",
        host=server.host,
        port=server.port,
        tls=False,
        nick=BOT,
        channels=["#chan"],
        **settings,  # type: ignore[arg-type]
    )


@contextlib.asynccontextmanager
async def bot_on(server: ScriptedIrc, **settings: object) -> AsyncIterator[Bot]:
    """A Network (the daemon's IRC connection) on the scripted server, until the block ends."""
    events = Events()
    network = Network(scripted_network(server, **settings), events)
    task = asyncio.create_task(network.run())
    try:
        await server.registered()
        await server.expect(lambda line: line.command == "JOIN")
        yield Bot(network, server, events)
    finally:
        await network.quit()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
