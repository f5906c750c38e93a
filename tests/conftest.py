"""Shared fixtures: real servers on free ports, each stopped after its test."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from certs import Cert
from fake_twilio import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, FakeTwilio
from highlightd.infra.logs import LIBRARIES
from highlightd.sms.gateway import TwilioGateway
from highlightd.store import Store
from scene import SceneFactory
from servers import IrcClientFactory, IrcServer, IrcTestClient, RedisServer
from services import Account, ServicesClients, ServicesNetwork, unavailable_reason
from tls_proxy import TlsRecordingProxy


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    """A database of its own, migrated (a test file may give its own, with users in it)."""
    store = await Store.open(tmp_path / "highlightd.sqlite3")
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture
async def gateway(fake_twilio: FakeTwilio) -> AsyncIterator[TwilioGateway]:
    """A TwilioGateway on fake_twilio, with a short timeout."""
    gateway = await TwilioGateway.create(
        account_sid=fake_twilio.account_sid,
        auth_token=fake_twilio.auth_token,
        from_number="+15005550006",
        api_base_url=fake_twilio.base_url,
        timeout=0.5,
    )
    yield gateway
    await gateway.aclose()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No HIGHLIGHTD_* variable of the machine, and no ./highlightd.toml, reaches a test."""
    for key in list(os.environ):
        if key.upper().startswith("HIGHLIGHTD_"):
            monkeypatch.delenv(key)
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)  # in-process daemons tell nobody
    monkeypatch.chdir(tmp_path)


@pytest.fixture
async def irc_server(tmp_path: Path) -> AsyncIterator[IrcServer]:
    server = IrcServer(tmp_path / "ircd")
    await server.astart()
    try:
        yield server
    finally:
        await server.astop()


@pytest.fixture
async def redis_server(tmp_path: Path) -> AsyncIterator[RedisServer]:
    server = RedisServer(tmp_path / "redis")
    await server.astart()
    try:
        yield server
    finally:
        await server.astop()


@pytest.fixture
async def fake_twilio() -> AsyncIterator[FakeTwilio]:
    async with FakeTwilio(TEST_ACCOUNT_SID, TEST_AUTH_TOKEN) as fake:
        yield fake


@pytest.fixture
async def irc_client_factory(irc_server: IrcServer) -> AsyncIterator[IrcClientFactory]:
    """`await factory("alice")` connects a registered IrcTestClient (to irc_server by default)."""
    clients: list[IrcTestClient] = []

    async def connect(
        nick: str, *, host: str | None = None, port: int | None = None
    ) -> IrcTestClient:
        client = await IrcTestClient.connect(host or irc_server.host, port or irc_server.port, nick)
        clients.append(client)
        return client

    yield connect
    for client in clients:
        await client.close()


@pytest.fixture
def saved_logging() -> Iterator[None]:
    """For tests that run `highlightd` in-process: its log setup is process-wide; undo it."""
    names = ["", "highlightd", "pydle", *LIBRARIES]
    levels = {name: logging.getLogger(name).level for name in names}
    handlers = list(logging.getLogger().handlers)
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)


@pytest.fixture
def scene(
    tmp_path: Path,
    irc_server: IrcServer,
    redis_server: RedisServer,
    fake_twilio: FakeTwilio,
    irc_client_factory: IrcClientFactory,
) -> SceneFactory:
    """`async with scene(users=..., clients=..., policy=...) as s`: highlightd, started."""
    return SceneFactory(tmp_path, irc_server, redis_server, fake_twilio, irc_client_factory)


@pytest.fixture(scope="session")
def services_network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServicesNetwork]:
    """InspIRCd + Atheme (NickServ, SASL, TLS with a private CA), once per test session."""
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    network = ServicesNetwork(tmp_path_factory.mktemp("services"))
    network.start()
    try:
        yield network
    finally:
        network.stop()


@pytest.fixture
async def services_client(services_network: ServicesNetwork) -> AsyncIterator[ServicesClients]:
    """`await services_client(nick, tls=..., account=..., cert=...)`: see tests/services.py."""
    clients: list[IrcTestClient] = []

    async def connect(
        nick: str,
        *,
        tls: bool = False,
        account: Account | None = None,
        cert: Cert | None = None,
        port: int | None = None,
    ) -> IrcTestClient:
        client = await services_network.connect(
            nick, tls=tls, account=account, cert=cert, port=port
        )
        clients.append(client)
        return client

    yield connect
    for client in clients:
        await client.close()


@pytest.fixture
async def services_proxy(services_network: ServicesNetwork) -> AsyncIterator[TlsRecordingProxy]:
    """In front of services_network.tls_port: every line a TLS client sent, per connection."""
    net = services_network
    assert net.server_cert is not None
    proxy = TlsRecordingProxy(
        (net.host, net.tls_port), net.server_cert.cert, net.server_cert.key, net.ca_file
    )
    await proxy.start()
    yield proxy
    await proxy.stop()
