"""A TLS-terminating proxy: what a TLS client sends, readable per connection.

The client sees the server's own certificate (the proxy holds its key), so verification
against the private CA works as with the server itself; the proxy talks TLS to the server
and keeps every line each connection sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from pathlib import Path

from servers import free_port


class TlsRecordingProxy:
    def __init__(self, upstream: tuple[str, int], cert: Path, key: Path, ca_file: Path) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self._upstream = upstream
        self._server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._server_context.load_cert_chain(str(cert), str(key))
        self._client_context = ssl.create_default_context(cafile=str(ca_file))
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: list[asyncio.StreamWriter] = []
        self.connections: list[list[str]] = []  # per connection, the lines the client sent

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, self.host, self.port, ssl=self._server_context
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in self._writers:
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def sent(self, command: str) -> list[list[str]]:
        """Per connection, the lines the client sent that start with command."""
        return [[ln for ln in lines if ln.startswith(command)] for lines in self.connections]

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        lines: list[str] = []
        self.connections.append(lines)
        host, port = self._upstream
        up_reader, up_writer = await asyncio.open_connection(host, port, ssl=self._client_context)
        self._writers += [writer, up_writer]
        for src, dst, tap in ((reader, up_writer, lines), (up_reader, writer, None)):
            task = asyncio.create_task(_pump(src, dst, tap))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)


async def _pump(
    src: asyncio.StreamReader, dst: asyncio.StreamWriter, tap: list[str] | None
) -> None:
    with contextlib.suppress(OSError):
        while line := await src.readline():
            if tap is not None:
                tap.append(line.decode("utf-8", "replace").rstrip("\r\n"))
            dst.write(line)
            await dst.drain()
    with contextlib.suppress(OSError):
        dst.close()
