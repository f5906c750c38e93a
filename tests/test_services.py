"""The services network fixture itself: TLS with the private CA, NickServ, SASL, CertFP."""

from __future__ import annotations

import asyncio
import ssl

import pytest

from servers import IrcTestClient
from services import ServicesClients, ServicesNetwork


async def _whois_account(client_nick: str, asker: IrcTestClient) -> str | None:
    await asker.send_raw(f"WHOIS {client_nick}")
    line = await asker.expect(lambda line: line.command in ("330", "318"))
    if line.command == "318":
        return None
    await asker.expect(lambda line: line.command == "318")
    return line.params[2]


async def test_tls_with_the_private_ca(
    services_network: ServicesNetwork, services_client: ServicesClients
) -> None:
    client = await services_client(services_network.unique("tls"), tls=True)
    await client.send_raw(f"WHOIS {client.nick}")
    secure = await client.expect(lambda line: line.command in ("671", "318"))
    assert secure.command == "671"  # "is using a secure connection"


@pytest.mark.parametrize("which", ["self_signed_port", "wrong_name_port"])
async def test_untrusted_certificates_are_refused_by_a_verifying_client(
    services_network: ServicesNetwork, which: str
) -> None:
    port = getattr(services_network, which)
    context = services_network.tls_context()
    with pytest.raises(ssl.SSLCertVerificationError):
        await asyncio.open_connection(services_network.host, port, ssl=context)
    # The same port does speak TLS: without verification the handshake succeeds.
    loose = ssl.create_default_context()
    loose.check_hostname, loose.verify_mode = False, ssl.CERT_NONE
    _, writer = await asyncio.open_connection(services_network.host, port, ssl=loose)
    writer.close()
    await writer.wait_closed()


async def test_register_then_sasl_plain_login_shows_in_whois(
    services_network: ServicesNetwork, services_client: ServicesClients
) -> None:
    account = await services_network.register()
    user = await services_client(services_network.unique("user"), tls=True, account=account)
    watcher = await services_client(services_network.unique("watch"))
    assert await _whois_account(user.nick, watcher) == account.name


async def test_no_login_without_sasl(
    services_network: ServicesNetwork, services_client: ServicesClients
) -> None:
    plain = await services_client(services_network.unique("anon"))
    assert await _whois_account(plain.nick, plain) is None


async def test_certfp_login_with_sasl_external(
    services_network: ServicesNetwork, services_client: ServicesClients
) -> None:
    cert = services_network.client_cert("certuser")
    account = await services_network.register(cert=cert)
    user = await services_client(services_network.unique("ext"), cert=cert)
    assert await _whois_account(user.nick, user) == account.name


def test_startup_time_is_recorded(services_network: ServicesNetwork) -> None:
    assert 0 < services_network.startup_seconds < 10
