"""The web side's server: the app on aiohttp's runner, behind the guards against slow clients."""

from __future__ import annotations

from aiohttp import web

from highlightd.config import WebSettings
from highlightd.web.app import REJECTED, WebDeps, make_app
from highlightd.web.guard import (
    ConnectionGuard,
    GuardedSite,
    connection_limit,
    raise_open_files_limit,
)


class WebServer:
    """setup(), then start() (which may raise OSError), and cleanup() in the end."""

    def __init__(self, deps: WebDeps, settings: WebSettings) -> None:
        self._settings = settings
        self._app = make_app(deps)
        self._runner = web.AppRunner(
            self._app,
            access_log=None,
            handle_signals=False,
            shutdown_timeout=2.0,
            # aiohttp closes a connection that has sent no whole request within its
            # keep-alive timeout (from the start, and between requests): our header timeout.
            keepalive_timeout=settings.header_timeout,
        )
        self.guard: ConnectionGuard | None = None

    async def setup(self) -> None:
        rejected = self._app[REJECTED]
        limit = connection_limit(self._settings.max_connections, raise_open_files_limit())

        def dropped(reason: str) -> None:
            rejected.note(reason, f"a connection {reason} at the limit of {limit}")

        self.guard = ConnectionGuard(limit, dropped)
        await self._runner.setup()

    async def start(self) -> int:
        """Listen; the port (the one asked for, or the one given for 0)."""
        if self.guard is None:
            raise RuntimeError("call setup() before start()")
        site = GuardedSite(self._runner, self._settings.host, self._settings.port, self.guard)
        await site.start()
        return int(self._runner.addresses[0][1])

    async def cleanup(self) -> None:
        await self._runner.cleanup()
