"""The bot (an in-process highlightd) on the services network: its settings, what it said."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest

from harness import settings_dict, web_port
from servers import IrcServer, IrcTestClient, RedisServer
from services import ServicesNetwork


def bot_settings(
    tmp_path: Path, net: ServicesNetwork, redis: RedisServer, **network: Any
) -> dict[str, Any]:
    """The bot on the services network's TLS port, trusting the private CA."""
    server = IrcServer.__new__(IrcServer)  # only host/port are read by settings_dict
    server.host, server.port = net.host, net.tls_port
    data = settings_dict(tmp_path, server, redis.url, None, web_port())
    data["networks"][0].update(
        {
            "nick": net.unique("hlbot"),
            "channels": [f"#{net.unique('chan')}"],
            "tls": True,
            "tls_ca_file": str(net.ca_file),
            **network,
        }
    )
    return data


def errors(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


async def whois_account(asker: IrcTestClient, nick: str) -> str | None:
    await asker.send_raw(f"WHOIS {nick}")
    line = await asker.expect(lambda line: line.command in ("330", "318", "401"))
    if line.command != "330":
        return None
    await asker.expect(lambda line: line.command == "318")
    return line.params[2]
