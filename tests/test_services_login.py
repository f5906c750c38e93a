"""The bot on a services network (InspIRCd + Atheme), TLS with the session's private CA:
SASL PLAIN and EXTERNAL (CertFP), a wrong password, sasl_required, refused certificates."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from harness import NETWORK, running, settings_dict, until_healthz, web_port
from highlightd.config import Settings
from servers import IrcClientFactory, IrcServer, RedisServer
from services import ServicesClients, ServicesNetwork
from services_bot import bot_settings, errors, whois_account
from tls_proxy import TlsRecordingProxy
from waiting import eventually

pytestmark = pytest.mark.timeout(60)


async def test_right_password_logs_the_bot_in(
    tmp_path: Path,
    services_network: ServicesNetwork,
    services_client: ServicesClients,
    redis_server: RedisServer,
) -> None:
    account = await services_network.register("bot")
    data = bot_settings(
        tmp_path,
        services_network,
        redis_server,
        sasl_username=account.name,
        sasl_password=account.password,
    )
    bot = data["networks"][0]["nick"]
    watcher = await services_client(services_network.unique("watch"))
    async with running(Settings(**data)) as hl:
        body = await until_healthz(hl, 200)
        assert body["networks"] == {NETWORK: "connected"}
        assert await whois_account(watcher, bot) == account.name


async def test_wrong_password_stops_once_without_an_authenticate_loop(
    tmp_path: Path,
    services_network: ServicesNetwork,
    redis_server: RedisServer,
    services_proxy: TlsRecordingProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    account = await services_network.register("bot")
    data = bot_settings(
        tmp_path,
        services_network,
        redis_server,
        port=services_proxy.port,
        sasl_username=account.name,
        sasl_password="not-the-password",
    )
    async with running(Settings(**data)) as hl:
        status, _body = await eventually(
            hl.healthz,
            lambda answer: answer[1]["networks"][NETWORK] == "sasl_failed",
            what="healthz saying sasl_failed",
        )
        assert status == 503
        failed = await eventually(lambda: errors(caplog), what="the ERROR line")
    authenticates = services_proxy.sent("AUTHENTICATE")
    assert authenticates and all(1 <= len(lines) <= 3 for lines in authenticates), authenticates
    assert not any("AUTHENTICATE *" in lines for lines in authenticates)
    assert len(failed) == 1
    assert failed[0].startswith(f"{NETWORK}: SASL failed: check sasl_username/sasl_password (904")
    assert failed[0].endswith("; retrying in 5 s, doubling up to 300 s")
    assert errors(caplog) == failed  # one line for the run of failures


async def test_sasl_required_does_not_run_where_the_server_has_no_sasl(
    tmp_path: Path,
    irc_server: IrcServer,
    redis_server: RedisServer,
    irc_client_factory: IrcClientFactory,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # ngircd (or miniircd) offers no SASL: with a password configured, sasl_required is on.
    data = settings_dict(tmp_path, irc_server, redis_server.url, None, web_port())
    data["networks"][0].update(sasl_username="hlbot", sasl_password="secret")
    bob = await irc_client_factory("bob")
    async with running(Settings(**data)) as hl:
        await eventually(
            hl.healthz,
            lambda answer: answer[1]["networks"][NETWORK] == "sasl_failed",
            what="healthz saying sasl_failed",
        )
        [line] = errors(caplog)
        assert "does not offer SASL" in line and "sasl_required" in line
        assert await whois_account(bob, data["networks"][0]["nick"]) is None
        await bob.send_raw(f"WHOIS {data['networks'][0]['nick']}")
        assert (await bob.expect(lambda ln: ln.command in ("311", "401"))).command == "401"


async def test_certfp_logs_in_with_sasl_external(
    tmp_path: Path,
    services_network: ServicesNetwork,
    services_client: ServicesClients,
    redis_server: RedisServer,
) -> None:
    cert = services_network.client_cert("botcert")
    account = await services_network.register("certbot", cert=cert)
    data = bot_settings(
        tmp_path,
        services_network,
        redis_server,
        tls_client_cert=str(cert.cert),
        tls_client_key=str(cert.key),
    )
    watcher = await services_client(services_network.unique("watch"))
    async with running(Settings(**data)) as hl:
        await until_healthz(hl, 200)
        assert await whois_account(watcher, data["networks"][0]["nick"]) == account.name


@pytest.mark.parametrize(
    ("port", "why"),
    [
        pytest.param(
            "self_signed_port", "self-signed certificate; checked against the CA in", id="self"
        ),
        pytest.param(
            "wrong_name_port", "not issued for '127.0.0.1' (IP address mismatch", id="name"
        ),
    ],
)
async def test_untrusted_server_certificates_are_refused_with_a_clear_line(
    tmp_path: Path,
    services_network: ServicesNetwork,
    redis_server: RedisServer,
    caplog: pytest.LogCaptureFixture,
    port: str,
    why: str,
) -> None:
    data = bot_settings(
        tmp_path, services_network, redis_server, port=getattr(services_network, port)
    )
    caplog.set_level(logging.WARNING, logger="highlightd.irc.network")
    async with running(Settings(**data)) as hl:

        def refused() -> list[str]:
            return [r.getMessage() for r in caplog.records if "TLS certificate" in r.getMessage()]

        [line] = await eventually(refused, what="the refusal")
        body = await until_healthz(hl, 503)
    assert body["networks"] == {NETWORK: "disconnected"}
    assert line.startswith(f"irc network {NETWORK} ") and why in line, line


async def test_without_tls_ca_file_the_private_ca_is_not_trusted(
    tmp_path: Path,
    services_network: ServicesNetwork,
    redis_server: RedisServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = bot_settings(tmp_path, services_network, redis_server, tls_ca_file=None)
    caplog.set_level(logging.WARNING, logger="highlightd.irc.network")
    async with running(Settings(**data)):

        def refused() -> list[str]:
            return [r.getMessage() for r in caplog.records if "TLS certificate" in r.getMessage()]

        [line] = await eventually(refused, what="the refusal")
    assert "unable to get local issuer certificate" in line and "system's CAs" in line


async def test_sasl_required_false_runs_without_the_account(
    tmp_path: Path,
    irc_server: IrcServer,
    redis_server: RedisServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = settings_dict(tmp_path, irc_server, redis_server.url, None, web_port())
    data["networks"][0].update(sasl_username="hlbot", sasl_password="secret", sasl_required=False)
    async with running(Settings(**data)) as hl:
        body = await until_healthz(hl, 200)
    assert body["networks"] == {NETWORK: "connected"}
    assert errors(caplog) == []
