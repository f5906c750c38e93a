"""pydle's client, connecting the way the network's settings say: TLS context, SASL, our nick.

- TLS: our own SSLContext (irc/tls.py), so `tls_ca_file` and a client certificate work.
- SASL: a 904/905 ends the attempt (pydle answers it with `AUTHENTICATE *`, which InspIRCd
  answers with another 904, without end); with `needs_account`, a registration that did not
  log in is dropped before it joins anything.
- Nick: where the server offers MONITOR, the configured nick is watched while we sit on a
  fallback, and asked for the moment the server says it went offline (731).
Why each override exists is in docs/library-notes.md.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from typing import Any

import pydle
from pydle import connection

from highlightd.config import NetworkSettings
from highlightd.irc.tls import tls_context

log = logging.getLogger("highlightd.irc.network")

SASL_REFUSED = frozenset({"902", "904", "905", "906"})


class LoginClient(pydle.Client):  # type: ignore[misc]
    """TLS with our context, SASL that stops at the first refusal, MONITOR for our nick."""

    def __init__(self, *, login: NetworkSettings, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._login = login
        self._tls_context: ssl.SSLContext | None = tls_context(login) if login.tls else None
        self.logged_in = False
        self.sasl_failed: str | None = None  # why this attempt did not log in
        self.fatal: str | None = None  # why retrying cannot help (an erroneous nick)
        self.own_nick_changed = asyncio.Event()

    @staticmethod
    def login_kwargs(s: NetworkSettings) -> dict[str, Any]:
        """pydle's SASL arguments for these settings."""
        if s.sasl_mechanism == "PLAIN" and s.sasl_username and s.sasl_password:
            return {
                "sasl_username": s.sasl_username,
                "sasl_password": s.sasl_password.get_secret_value(),
                "sasl_mechanism": "PLAIN",
            }
        if s.sasl_mechanism == "EXTERNAL":
            return {"sasl_mechanism": "EXTERNAL"}
        return {}

    async def _connect(
        self,
        hostname: str,
        port: int,
        reconnect: bool = False,
        password: str | None = None,
        encoding: str = "utf-8",
        channels: Any = None,
        tls: bool = False,
        tls_verify: bool = False,
        source_address: Any = None,
    ) -> None:
        # pydle's TLSSupport._connect, with our SSLContext instead of the one it builds.
        self.password = password
        self._autojoin_channels = channels or []
        self.connection = _Connection(hostname, port, self._tls_context)
        self.encoding = encoding
        await self.connection.connect()

    # SASL

    def _sasl_hint(self) -> str:
        if self._login.sasl_mechanism == "EXTERNAL":
            return "check tls_client_cert/tls_client_key (its fingerprint added with CERT ADD)"
        return "check sasl_username/sasl_password"

    async def _refuse_login(self, why: str) -> None:
        self.sasl_failed = why
        await self.disconnect(expected=True)

    async def on_raw(self, message: Any) -> None:
        if self.sasl_failed or self.fatal:
            return  # dropped: the lines already read after it (002, MOTD...) go nowhere
        await super().on_raw(message)

    async def on_raw_903(self, message: Any) -> None:
        self.logged_in = True
        await super().on_raw_903(message)

    async def _sasl_refused(self, message: Any) -> None:
        # Not pydle's answer (AUTHENTICATE *, which InspIRCd refuses again, for ever).
        reason = message.params[-1] if message.params else "refused"
        await self._refuse_login(f"SASL failed: {self._sasl_hint()} ({message.command} {reason})")

    on_raw_902 = on_raw_904 = on_raw_905 = on_raw_906 = _sasl_refused

    async def on_raw_001(self, message: Any) -> None:
        if self._login.needs_account and not self.logged_in:
            offered = "sasl" in getattr(self, "_capabilities", {})
            why = "the server does not offer SASL" if not offered else "no SASL login"
            await self._refuse_login(
                f"SASL failed: {why}, and sasl_required does not let us run without the account"
            )
            return
        await super().on_raw_001(message)

    # Our nick back, as soon as the server says it is free

    def offers_monitor(self) -> bool:
        return "MONITOR" in getattr(self, "_isupport", {})

    async def on_user_offline(self, nickname: str) -> None:
        wanted = self._login.nick
        if self._network.fold(nickname) == self._network.fold(wanted):
            await self.rawmsg("NICK", wanted)

    async def on_raw_nick(self, message: Any) -> None:
        if getattr(message, "renamed_us", False):
            self.own_nick_changed.set()
        await super().on_raw_nick(message)

    _network: Any  # the LinkOwner, set by PydleClient


class _Connection(connection.Connection):  # type: ignore[misc]
    """pydle's connection with an SSLContext made elsewhere (None: plain TCP)."""

    def __init__(self, hostname: str, port: int, context: ssl.SSLContext | None) -> None:
        super().__init__(hostname, port, tls=context is not None)
        self._context = context

    def create_tls_context(self) -> ssl.SSLContext | None:
        return self._context
