"""The bot's nick on the services network: won back through MONITOR; a refused nick stops."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from harness import NETWORK, running, until_healthz, wait_for_bot
from highlightd.config import Settings
from servers import RedisServer
from services import ServicesClients, ServicesNetwork
from services_bot import bot_settings, errors
from tls_proxy import TlsRecordingProxy
from waiting import eventually

pytestmark = pytest.mark.timeout(60)


async def test_the_nick_comes_back_through_monitor_when_it_frees(
    tmp_path: Path,
    services_network: ServicesNetwork,
    services_client: ServicesClients,
    redis_server: RedisServer,
    services_proxy: TlsRecordingProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # ping_interval 60: the periodic try would come only after 45 s; MONITOR says at once.
    data = bot_settings(tmp_path, services_network, redis_server, port=services_proxy.port)
    nick, [channel] = data["networks"][0]["nick"], data["networks"][0]["channels"]
    squatter = await services_client(nick)
    bob = await services_client(services_network.unique("bob"))
    await bob.join(channel)
    caplog.set_level(logging.INFO, logger="highlightd.irc.network")
    async with running(Settings(**data)):
        await wait_for_bot(bob, channel, nick=nick + "_")
        await eventually(
            lambda: services_proxy.sent("MONITOR"), lambda sent: sent[0], what="the bot's MONITOR"
        )
        await squatter.quit()
        renamed = await bob.expect(lambda line: line.command == "NICK" and line.nick == nick + "_")
        assert renamed.text == nick

        def said() -> list[str]:
            return [r.getMessage() for r in caplog.records if r.name == "highlightd.irc.network"]

        await eventually(
            said, lambda lines: f"{NETWORK}: {nick} is ours again" in lines, what="log"
        )
    [lines] = services_proxy.connections
    assert f"MONITOR + {nick}" in lines
    # Asked for once at registration, and once more when the server said it was free.
    assert lines.count(f"NICK {nick}") == 2, lines
    assert said().count(f"{NETWORK}: {nick} is taken; on {nick}_ until it frees") == 1


async def test_a_refused_nick_stops_the_network_naming_the_key(
    tmp_path: Path,
    services_network: ServicesNetwork,
    redis_server: RedisServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = bot_settings(tmp_path, services_network, redis_server)
    data["networks"][0]["nick"] = services_network.refused_nick
    async with running(Settings(**data)) as hl:
        [line] = await eventually(lambda: errors(caplog), what="the ERROR line")
        body = await until_healthz(hl, 503)
    assert body["networks"] == {NETWORK: "nick_refused"}
    assert line.startswith(f"{NETWORK}: the server refuses nick 'forbiddenbot'"), line
    assert line.endswith("; not reconnecting (fix networks[0].nick)"), line
