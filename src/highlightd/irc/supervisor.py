"""Staying connected to one network: a fresh client per attempt, a doubling wait after a failure.

pydle's own reconnect gives up after one failed retry and leaves a zombie client
after a TCP reset; here each attempt builds a new client, and a link that takes
lines but confirms none is dropped and made again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable

from highlightd.config import NetworkSettings
from highlightd.infra.retry import Backoff
from highlightd.irc.channels import Channels
from highlightd.irc.client import PONG_TIMEOUT, PydleClient
from highlightd.irc.linkowner import LinkOwner
from highlightd.irc.sendqueue import SendQueue
from highlightd.irc.tls import refusal

# A network's connection story is read under one logger name, the client's included.
log = logging.getLogger("highlightd.irc.network")

REGISTRATION_TIMEOUT = 60.0
# After a refused SASL login: the password will not fix itself, the services may come back.
SASL_RETRY_FIRST = 5.0
SASL_RETRY_CAP = 300.0


class FatalNetworkError(Exception):
    """The server refuses us in a way retrying cannot fix (an erroneous nick)."""


class LoginFailed(Exception):
    """SASL refused, or not offered where the account is required."""


class Supervisor:
    """Connects, watches the link while it lasts, and connects again until stopped."""

    def __init__(
        self,
        owner: LinkOwner,
        settings: NetworkSettings,
        queue: SendQueue,
        channels: Channels,
        set_ready: Callable[[bool], None],
        index: int = 0,
    ) -> None:
        self.client: PydleClient | None = None
        self.stopping = False
        self._owner = owner
        self.settings = settings
        self.name = settings.name
        self._queue = queue
        self._channels = channels
        self._set_ready = set_ready
        self._index = index  # in the config's [[networks]], for error messages
        self._fallback = False  # on a fallback nick, said once
        self.problem: str | None = None  # why we are not connected, when it is not the network
        self._sasl_delay = SASL_RETRY_FIRST
        self._backoff = Backoff(f"irc network {self.name} ({settings.host}:{settings.port})", log)

    async def run(self) -> None:
        """Until quit(): one client per attempt; the send queue and channels follow it."""
        while not self.stopping:
            client = PydleClient.for_network(self._owner, self.settings)
            self.client = client
            self._channels.attach(self._join)
            try:
                await self._connect(client)
            except FatalNetworkError as exc:
                key = f"networks[{self._index}].nick"
                log.error("%s: %s; not reconnecting (fix %s)", self.name, exc, key)
                self._set_problem("nick_refused")
                return
            except LoginFailed as exc:
                self._channels.detach()
                await self._drop(client)
                await self._login_failed(str(exc))
                continue
            except (OSError, TimeoutError) as exc:
                self._channels.detach()
                await self._drop(client)
                if isinstance(exc, ssl.SSLCertVerificationError):
                    exc = OSError(refusal(self.settings, exc))
                await self._backoff.wait(exc)
                continue
            self._backoff.succeeded()
            self._sasl_delay = SASL_RETRY_FIRST
            if self.problem == "sasl_failed":
                log.info("%s: logged in to services again", self.name)
            self.problem = None
            log.info(
                "%s: connected as %s, joining %s",
                self.name,
                client.own_nick,
                ", ".join(self.settings.channels) or "no channels",
            )
            await self._connected(client)
            if self.stopping:
                return
            await self._drop(client)
            await self._backoff.wait("disconnected")

    def _set_problem(self, problem: str) -> None:
        self.problem = problem
        self._set_ready(False)  # tells whoever watches the state

    async def _login_failed(self, why: str) -> None:
        """One ERROR for a run of refusals, a doubling wait before each next try."""
        delay = self._sasl_delay
        if self.problem != "sasl_failed":
            log.error("%s: %s; retrying in %.0f s, doubling up to %.0f s",
                      self.name, why, delay, SASL_RETRY_CAP)  # fmt: skip
            self._set_problem("sasl_failed")
        else:
            log.debug("%s: %s again; next try in %.0f s", self.name, why, delay)
        self._sasl_delay = min(delay * 2, SASL_RETRY_CAP)
        await asyncio.sleep(delay)

    async def _connected(self, client: PydleClient) -> None:
        self._queue.attach(client)
        self._set_ready(True)
        # As long as the idle PING gets: a link that takes lines but confirms none is dead.
        limit = self.settings.ping_interval + min(PONG_TIMEOUT, self.settings.ping_interval)
        try:
            await self._regain(client)
            while not client.closed_event.is_set():
                await _first(client.closed_event, client.own_nick_changed, timeout=limit / 2)
                if client.closed_event.is_set():
                    break
                if client.own_nick_changed.is_set():
                    client.own_nick_changed.clear()
                    await self._regain(client)
                    continue
                if self._queue.stalled(limit):
                    log.warning("%s: nothing confirmed in %.0f s; reconnecting", self.name, limit)
                    await self._drop(client)
                else:
                    await self._regain(client)
        finally:
            self._queue.detach()
            self._channels.detach()
            self._set_ready(False)

    async def _regain(self, client: PydleClient) -> None:
        """On a fallback nick (ours was taken, say by our own killed connection): watch
        ours with MONITOR where the server offers it (the client asks for it when it goes
        offline), else ask for it again at each wake-up until the server gives it."""
        wanted, own = self.settings.nick, client.own_nick
        if not own or self._owner.fold(own) == self._owner.fold(wanted):
            if self._fallback:
                log.info("%s: %s is ours again", self.name, own)
                self._fallback = False
            return
        if not self._fallback:
            log.warning("%s: %s is taken; on %s until it frees", self.name, wanted, own)
            self._fallback = True
        with contextlib.suppress(OSError, AttributeError):
            if client.offers_monitor():
                await client.monitor(wanted)  # once; 731 says when it frees
            else:
                await client.rawmsg("NICK", wanted)

    async def _join(self, channel: str) -> None:
        client = self.client
        if client is not None and client.connected:
            await client.rawmsg("JOIN", channel)

    async def _connect(self, client: PydleClient) -> None:
        s = self.settings
        await client.connect(s.host, s.port, tls=s.tls, tls_verify=s.tls_verify)
        registered = asyncio.ensure_future(client.registered_event.wait())
        closed = asyncio.ensure_future(client.closed_event.wait())
        try:
            done, _ = await asyncio.wait(
                {registered, closed},
                timeout=REGISTRATION_TIMEOUT,
                return_when=asyncio.FIRST_COMPLETED,
            )
        finally:
            registered.cancel()
            closed.cancel()
        if client.fatal:
            raise FatalNetworkError(client.fatal)
        if client.sasl_failed:
            raise LoginFailed(client.sasl_failed)
        if not client.registered_event.is_set():
            raise TimeoutError(
                "registration did not complete" if not done else "closed while registering"
            )

    async def _drop(self, client: PydleClient) -> None:
        with contextlib.suppress(OSError, AttributeError):
            await client.disconnect(expected=True)

    async def quit(self, message: str) -> None:
        """Say goodbye to the server and stop reconnecting."""
        self.stopping = True
        client = self.client
        if client is not None and client.connected:
            with contextlib.suppress(OSError, AttributeError, TimeoutError):
                await client.quit(message)


async def _first(*events: asyncio.Event, timeout: float) -> None:  # noqa: ASYNC109
    """Until one of events is set, or timeout seconds."""
    waits = [asyncio.ensure_future(event.wait()) for event in events]
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for wait in waits:
            wait.cancel()
