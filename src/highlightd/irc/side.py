"""The IRC side of the daemon: every network, what listens to them, and the relay of answers.

The daemon imports this module only when it runs the IRC role, so that
`--role web` never loads pydle.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from highlightd.config import Settings
from highlightd.core.events import IrcEvent, NickChange, Quit
from highlightd.infra.bus import REDIS_DOWN, Bus
from highlightd.infra.metrics import Metrics
from highlightd.infra.retry import Backoff
from highlightd.irc.digests import Digests
from highlightd.irc.directory import Directory
from highlightd.irc.network import Network
from highlightd.irc.notifier import Notifier
from highlightd.irc.relay import Relay
from highlightd.irc.selfservice import SelfService
from highlightd.sms.gateway import SmsGateway
from highlightd.sms.sender import Sender
from highlightd.sms.spending import SpendBook
from highlightd.store import Store

log = logging.getLogger(__name__)

HEALTH_INTERVAL = 10
HEALTH_TTL = 30


class IrcSide:
    """Builds the IRC services; `start` puts each of them in the daemon's TaskGroup."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        bus: Bus,
        gateway: SmsGateway,
        metrics: Metrics,
        clock: Callable[[], float],
    ) -> None:
        self.networks: dict[str, Network] = {}
        self._bus = bus
        self._metrics = metrics
        self._sender = Sender(store, gateway, metrics, clock, settings.sms)
        # The spend book is read again with the users (a user forgotten takes their
        # SMS), and when another process committed.
        self._directory = Directory(store, also=self._sender.book.load)
        self._digests = Digests(
            store, self._directory, self.networks, self._sender, metrics, settings, clock
        )
        self._notifier = Notifier(
            store,
            self._directory,
            self.networks,
            self._sender,
            self._digests,
            metrics,
            settings,
            clock,
        )
        self._commands = SelfService(
            store, self._directory, gateway, self.networks, settings, clock
        )
        for index, network_settings in enumerate(settings.networks):
            self.networks[network_settings.name] = Network(network_settings, self._dispatch, index)
        self._relay = Relay(bus, store, self.networks, metrics, self._sender.bounce, settings.relay)

    @property
    def directory(self) -> Directory:
        """Who is registered, as the decisions read it."""
        return self._directory

    @property
    def spending(self) -> SpendBook:
        """What was spent and is on its way, as the decisions read it."""
        return self._sender.book

    def _dispatch(self, event: IrcEvent) -> None:
        # Who holds which nick changes here, in wire order: a command or a line after
        # a NICK is judged by the identity it implies, whichever task takes it first.
        if isinstance(event, NickChange | Quit):
            network = self.networks.get(event.network)
            if network is not None:
                self._directory.moved(event, network.casemapping)
            return
        # Private messages are commands; the rest (in wire order) is conversation.
        if not event.channel:
            self._commands.submit(event)
        else:
            self._notifier.submit(event)
            self._commands.heard(event)  # "<bot>: help" said in a channel

    async def start(self, group: asyncio.TaskGroup) -> None:
        await self._directory.refresh()
        group.create_task(self._directory.watch())
        group.create_task(self._sender.run())
        group.create_task(self._digests.run())
        group.create_task(self._notifier.run())
        group.create_task(self._commands.run())
        for network in self.networks.values():
            group.create_task(network.run())
        group.create_task(self._relay.run())
        group.create_task(self._report_health())

    def use_settings(self, settings: Settings) -> None:
        """Reloaded settings (SIGHUP); what a running connection depends on is unchanged."""
        self._notifier.use_settings(settings)
        self._directory.stale()  # and users added before the signal count from now on
        self._commands.use_settings(settings)
        for network_settings in settings.networks:
            if (network := self.networks.get(network_settings.name)) is not None:
                network.settings = network_settings

    async def state(self) -> dict[str, str]:
        """Each network's state as this process sees it (Network.state)."""
        return {name: network.state for name, network in self.networks.items()}

    async def quit(self) -> None:
        await asyncio.gather(*(n.quit() for n in self.networks.values()), return_exceptions=True)

    async def _report_health(self) -> None:
        """Publish each network's state on the bus, for /healthz in whichever process."""
        backoff = Backoff("redis (health)", log)
        while True:
            try:
                for network in self.networks.values():
                    # Cleared before reading: a change during the await below is kept.
                    network.state_changed.clear()
                    state = network.state
                    await self._bus.set_health(network.name, state, HEALTH_TTL)
                    self._metrics.connected.labels(network.name).set(int(state == "connected"))
                backoff.succeeded()
            except REDIS_DOWN as exc:
                await backoff.wait(exc)
                continue
            changed = [
                asyncio.ensure_future(n.state_changed.wait()) for n in self.networks.values()
            ]
            try:
                await asyncio.wait(
                    changed or [asyncio.ensure_future(asyncio.sleep(HEALTH_INTERVAL))],
                    timeout=HEALTH_INTERVAL,
                    return_when=asyncio.FIRST_COMPLETED,
                )
            finally:
                for fut in changed:
                    fut.cancel()
