"""The composition root: builds every service and runs them in one TaskGroup."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from functools import partial
from typing import TYPE_CHECKING, Literal, NoReturn

from highlightd import __version__
from highlightd.config import Settings
from highlightd.infra import sdnotify
from highlightd.infra.bus import Bus, connect
from highlightd.infra.embedded import EmbeddedRedis, EmbeddedRedisError
from highlightd.infra.lock import FolderInUse, FolderLock, lock_folder
from highlightd.infra.metrics import Metrics
from highlightd.reload import reread
from highlightd.retention import prune_daily
from highlightd.sms.gateway import ConsoleGateway, SmsError, SmsGateway, TwilioGateway
from highlightd.store import SchemaTooNew, Store
from highlightd.web.app import WebDeps
from highlightd.web.outbox import Outbox
from highlightd.web.server import WebServer

if TYPE_CHECKING:
    from highlightd.irc.side import IrcSide

log = logging.getLogger(__name__)

Role = Literal["all", "irc", "web"]
# Each half runs once per data folder; split roles share the folder (and its database).
HALVES: dict[Role, tuple[str, ...]] = {"all": ("irc", "web"), "irc": ("irc",), "web": ("web",)}
SHUTDOWN_LIMIT = 5.0


class StartupError(Exception):
    """The daemon cannot start; the message says why in one line."""


class _Shutdown(Exception):
    pass


class Daemon:
    def __init__(
        self,
        settings: Settings,
        role: Role = "all",
        clock: Callable[[], float] = time.time,
        load: Callable[[], Settings] | None = None,
    ) -> None:
        self.settings = settings
        self.role = role
        self.clock = clock  # for code expiry; tests move it forward
        self.load = load  # re-reads the configuration on SIGHUP
        self.stop_event = asyncio.Event()
        self.started = asyncio.Event()
        self.web_port: int | None = None
        self.metrics = Metrics(n.name for n in settings.networks)
        self.irc: IrcSide | None = None
        self.embedded: EmbeddedRedis | None = None

    def stop(self) -> None:
        self.stop_event.set()

    def abort(self) -> NoReturn:
        """Exit at once, as after a crash (SQLite survives that), but leave no Valkey behind."""
        if self.embedded is not None:
            self.embedded.terminate()
        log.warning("highlightd stopped (forced)")
        os._exit(130)

    def reload(self) -> None:
        """SIGHUP: apply what can change while running from the re-read configuration."""
        if self.load is not None and (settings := reread(self.load, self.settings)):
            self.settings = settings
            if self.irc is not None:
                self.irc.use_settings(settings)

    async def run(self) -> None:
        """Run until stop() (or SIGINT/SIGTERM via run_main); raises StartupError."""
        async with contextlib.AsyncExitStack() as stack:
            # Before anything else: a second daemon must not touch the first one's data.
            lock = self._lock(stack)
            redis_url = await self._redis_url(stack, lock)
            try:
                store = await Store.open(self.settings.storage.path)
            except (sqlite3.Error, OSError, SchemaTooNew) as exc:
                raise StartupError(f"cannot open {self.settings.storage.path}: {exc}") from exc
            stack.push_async_callback(store.close)
            redis = connect(redis_url)
            stack.push_async_callback(redis.aclose)
            bus = Bus(redis)
            gateway = await self._gateway()
            stack.push_async_callback(gateway.aclose)
            try:
                async with asyncio.TaskGroup() as group:
                    group.create_task(self._until_stopped())
                    if self.embedded is not None:
                        group.create_task(self.embedded.supervise())
                    group.create_task(
                        prune_daily(store, self.settings.storage.retention_days, self.clock)
                    )
                    if self.role in ("all", "irc"):
                        await self._start_irc(group, store, bus, gateway)
                    if self.role in ("all", "web"):
                        await self._start_web(group, stack, store, bus)
                    self._announce(redis_url)
                    self.started.set()
                    sdnotify.notify("READY=1")
                    # What start-up built lives as long as we do: out of every collection
                    # (a full one took 30 ms with 10k users, 1.5 ms so; architecture.md).
                    gc.freeze()
                    stack.callback(gc.unfreeze)
            except* _Shutdown:
                pass
        log.info("highlightd stopped")

    def _lock(self, stack: contextlib.AsyncExitStack) -> FolderLock:
        """Hold the data folder for each half this role runs; the last lock is returned."""
        held: FolderLock | None = None
        for half in HALVES[self.role]:
            try:
                held = lock_folder(self.settings.data_dir, f"highlightd-{half}")
            except FolderInUse as exc:
                raise StartupError(str(exc)) from exc
            except OSError as exc:
                raise StartupError(f"cannot lock {self.settings.data_dir}: {exc}") from exc
            stack.callback(held.release)
        assert held is not None
        return held

    async def _redis_url(self, stack: contextlib.AsyncExitStack, lock: FolderLock) -> str:
        url = self.settings.redis.url
        if url != "embedded":
            return url
        if self.role != "all":
            raise StartupError(
                f'--role {self.role} needs a shared redis.url; "embedded" is private to one process'
            )
        embedded = EmbeddedRedis(self.settings.data_dir, lock)
        stack.push_async_callback(embedded.stop)
        try:
            await embedded.start()
        except (EmbeddedRedisError, OSError) as exc:
            raise StartupError(f"cannot start the embedded redis: {exc}") from exc
        self.embedded = embedded
        return embedded.url

    async def _gateway(self) -> SmsGateway:
        twilio = self.settings.twilio
        if self.settings.sms.backend == "console" or twilio is None:
            return ConsoleGateway()
        public = self.settings.web.public_url
        gateway = await TwilioGateway.create(
            account_sid=twilio.account_sid,
            auth_token=twilio.auth_token.get_secret_value(),
            from_number=twilio.from_number,
            api_base_url=str(twilio.api_base_url),
            status_callback=str(public).rstrip("/") + "/twilio/status" if public else None,
            timeout=twilio.timeout,
        )
        try:
            await gateway.verify()  # bad credentials: say so now, not at the first highlight
        except SmsError as exc:
            await gateway.aclose()
            raise StartupError(str(exc)) from exc
        return gateway

    async def _start_irc(
        self, group: asyncio.TaskGroup, store: Store, bus: Bus, gateway: SmsGateway
    ) -> None:
        # Imported here: the web role must not load the IRC stack (pydle).
        from highlightd.irc.side import IrcSide

        self.irc = IrcSide(self.settings, store, bus, gateway, self.metrics, self.clock)
        await self.irc.start(group)

    async def _start_web(
        self,
        group: asyncio.TaskGroup,
        stack: contextlib.AsyncExitStack,
        store: Store,
        bus: Bus,
    ) -> None:
        web_settings = self.settings.web
        twilio = self.settings.twilio
        outbox = Outbox(store, bus, self.settings.relay.republish_after)
        names = [n.name for n in self.settings.networks]
        deps = WebDeps(
            store=store,
            bus=bus,
            outbox=outbox,
            metrics=self.metrics,
            network_names=names,
            network_state=self._local_state if self.role == "all" else partial(bus.health, names),
            public_url=str(web_settings.public_url) if web_settings.public_url else None,
            auth_token=twilio.auth_token.get_secret_value() if twilio else None,
            max_body=web_settings.max_body,
            account_sid=twilio.account_sid if twilio else None,
            body_timeout=web_settings.body_timeout,
            extra_form_keys=frozenset(web_settings.extra_form_keys),
        )
        server = WebServer(deps, web_settings)
        await server.setup()
        stack.push_async_callback(server.cleanup)
        try:
            self.web_port = await server.start()
        except OSError as exc:
            raise StartupError(
                f"cannot listen on {web_settings.host}:{web_settings.port}: {exc.strerror}"
            ) from exc
        if not web_settings.public_url:
            log.warning("web.public_url is not set: Twilio webhooks will be refused (403)")
        group.create_task(outbox.run())

    async def _local_state(self) -> dict[str, str]:
        return await self.irc.state() if self.irc is not None else {}

    def _announce(self, redis_url: str) -> None:
        redis_desc = "embedded" if self.settings.redis.url == "embedded" else _redacted(redis_url)
        port = self.web_port
        web_desc = f"web on {self.settings.web.host}:{port}" if port is not None else "no web"
        log.info(
            "highlightd %s running: role %s, %d network(s), sms %s, redis %s, %s",
            __version__,
            self.role,
            len(self.irc.networks) if self.irc is not None else 0,
            self.settings.sms.backend,
            redis_desc,
            web_desc,
        )

    async def _until_stopped(self) -> None:
        await self.stop_event.wait()
        log.info("stopping")
        sdnotify.notify("STOPPING=1")
        if self.irc is not None:
            try:
                async with asyncio.timeout(SHUTDOWN_LIMIT / 2):
                    await self.irc.quit()
            except TimeoutError:
                log.warning("QUIT did not go out within %.1f s; closing anyway", SHUTDOWN_LIMIT / 2)
        raise _Shutdown


def _redacted(url: str) -> str:
    # redis://user:password@host -> redis://host: never log a secret.
    scheme, sep, rest = url.partition("://")
    return scheme + sep + rest.rpartition("@")[2]


@contextlib.asynccontextmanager
async def _signals(daemon: Daemon) -> AsyncIterator[None]:
    loop = asyncio.get_running_loop()
    handlers: dict[signal.Signals, Callable[[], None]] = {
        signal.SIGTERM: daemon.stop,
        signal.SIGINT: partial(_interrupted, daemon),
        signal.SIGHUP: daemon.reload,
    }
    for sig, handler in handlers.items():
        loop.add_signal_handler(sig, handler)
    try:
        yield
    finally:
        for sig in handlers:
            loop.remove_signal_handler(sig)


def _interrupted(daemon: Daemon) -> None:
    """The first SIGINT stops gracefully; a second one does not wait for that."""
    if not daemon.stop_event.is_set():
        daemon.stop()
        return
    log.warning("second SIGINT: exiting without waiting for IRC and open requests")
    daemon.abort()


async def run_main(
    settings: Settings, role: Role, load: Callable[[], Settings] | None = None
) -> int:
    """Run the daemon with signal handling (TERM, INT, HUP); the process exit code."""
    daemon = Daemon(settings, role, load=load)
    failure: BaseException | None = None
    async with _signals(daemon):
        try:
            await daemon.run()
        except* StartupError as group:
            failure = group.exceptions[0]
    if failure is not None:
        log.error("cannot start: %s", failure)
        return 1
    return 0
