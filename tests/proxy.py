"""A TCP proxy on 127.0.0.1 that can fail the way real links fail: reset, or go silent."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct

from servers import free_port


class TcpProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self._upstream = (upstream_host, upstream_port)
        self._server: asyncio.Server | None = None
        self._links: list[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = []
        self._writers: list[asyncio.StreamWriter] = []
        self._silenced: set[asyncio.StreamWriter] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.connections = 0
        self.sent = bytearray()  # what clients sent and reached the server
        self.swallowed = bytearray()  # what clients sent into a silenced link

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, self.host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in self._writers:
            writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for writer in self._writers:
            with contextlib.suppress(OSError):
                await writer.wait_closed()
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        up_reader, up_writer = await asyncio.open_connection(*self._upstream)
        self._links.append((writer, up_writer))
        self._writers += [writer, up_writer]
        for src, dst, tap in ((reader, up_writer, True), (up_reader, writer, False)):
            task = asyncio.create_task(self._pump(src, dst, writer, tap))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _pump(
        self,
        src: asyncio.StreamReader,
        dst: asyncio.StreamWriter,
        client: asyncio.StreamWriter,
        from_client: bool,
    ) -> None:
        with contextlib.suppress(OSError):
            while data := await src.read(65536):
                if client in self._silenced:
                    if from_client:
                        self.swallowed += data
                    continue  # swallowed: the link looks alive but carries nothing
                if from_client:
                    self.sent += data
                dst.write(data)
                await dst.drain()
        if client not in self._silenced:
            with contextlib.suppress(OSError):
                dst.close()

    def reset(self) -> None:
        """Abort every current link with a TCP RST towards the client."""
        for client, upstream in self._links:
            sock = client.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            client.transport.abort()
            upstream.close()
        self._links.clear()

    def silence(self) -> None:
        """Keep the client's socket open but deliver nothing; hang up on the server side."""
        for client, upstream in self._links:
            self._silenced.add(client)
            upstream.close()
        self._links.clear()
