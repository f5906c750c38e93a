"""The demo's IRC server, a process of its own: Debian's ngircd when installed, else
miniircd (PyPI, the `demo` extra that `make demo` installs)."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import shutil
import socket
import sys
import time
from pathlib import Path

START_LIMIT = 10.0

# MaxPenaltyTime = 0: ngircd otherwise makes each JOIN wait; no PAM, ident or DNS
# lookups: nothing leaves this machine, and nothing waits for what would.
NGIRCD_CONF = """\
[Global]
    Name = irc.demo.local
    Info = highlightd demo server
    AdminInfo1 = highlightd demo
    AdminInfo2 = this machine
    AdminEMail = demo@invalid
    Listen = {host}
    Ports = {port}
    MotdPhrase = "highlightd demo: everything here stays on this machine"
[Limits]
    MaxConnectionsIP = 0
    MaxJoins = 0
    MaxNickLength = 30
    MaxPenaltyTime = 0
[Options]
    DNS = no
    Ident = no
    PAM = no
    ConnectIPv6 = no
    IncludeDir = {include_dir}
"""


class IrcdError(Exception):
    """No IRC server could be started; the message says what to install."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


class LocalIrcd:
    """An IRC server on 127.0.0.1 for the demo; its log is in the demo folder."""

    def __init__(self, folder: Path, kind: str = "auto", host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = free_port(host)
        self.folder = folder
        self.kind, self.command = self._choose(kind)
        self._proc: asyncio.subprocess.Process | None = None

    def _choose(self, kind: str) -> tuple[str, list[str]]:
        ngircd = shutil.which("ngircd") or shutil.which("ngircd", path="/usr/sbin:/sbin")
        if ngircd and kind in ("auto", "ngircd"):
            conf = self.folder / "ngircd.conf"
            (self.folder / "ngircd.d").mkdir(parents=True, exist_ok=True)
            conf.write_text(
                NGIRCD_CONF.format(
                    host=self.host, port=self.port, include_dir=self.folder / "ngircd.d"
                )
            )
            return "ngircd", [ngircd, "-n", "-f", str(conf)]
        if importlib.util.find_spec("miniircd") is not None and kind in ("auto", "miniircd"):
            command = [sys.executable, "-m", "miniircd", "--listen", self.host]
            command += ["--ports", str(self.port)]
            if os.getuid() == 0:
                command += ["--setuid", "root"]  # it refuses to run as root otherwise
            return "miniircd", command
        raise IrcdError(
            f"no IRC server to start ({kind}): install ngircd (apt-get install ngircd), "
            "or miniircd with `pip install 'highlightd[demo]'` (`make demo` does)"
        )

    async def start(self) -> None:
        log = (self.folder / f"{self.kind}.log").open("ab")
        try:
            # A session of its own: Ctrl-C in the terminal must reach the demo alone, which
            # then says goodbye on IRC before it stops the server.
            self._proc = await asyncio.create_subprocess_exec(
                *self.command,
                stdout=log,
                stderr=log,
                stdin=asyncio.subprocess.DEVNULL,
                start_new_session=True,
            )
        finally:
            log.close()
        deadline = time.monotonic() + START_LIMIT
        while not await asyncio.to_thread(_accepts, self.host, self.port):
            if self._proc.returncode is not None:
                raise IrcdError(f"{self.kind} exited at start; see {self.folder}/{self.kind}.log")
            if time.monotonic() > deadline:
                raise IrcdError(f"{self.kind} did not listen within {START_LIMIT:.0f} s")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.returncode is not None:
            return
        proc.terminate()
        try:
            async with asyncio.timeout(5):
                await proc.wait()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
