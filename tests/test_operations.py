"""Running under a service manager: sd_notify, SIGHUP reload, a second SIGINT.

Each test runs `python -m highlightd run` in a process of its own and sends it
real signals, as systemd or an operator would.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from harness import BOT, CHANNEL, wait_for_bot
from highlightd.infra import sdnotify
from servers import IrcClientFactory, IrcServer, free_port
from test_process import daemon_process, highlightd

pytestmark = pytest.mark.timeout(60)

TWILIO = """
[twilio]
account_sid = "AC00000000000000000000000000000000"
auth_token = "not-a-secret"
from_number = "+15005550006"
"""


def write_config(tmp_path: Path, irc: IrcServer, port: int, extra: str = "") -> Path:
    config = tmp_path / "highlightd.toml"
    config.write_text(
        f"""
[storage]
path = "{tmp_path / "data" / "highlightd.sqlite3"}"

[web]
port = {port}
public_url = "http://127.0.0.1:{port}"
{extra}

[[networks]]
name = "testnet"
host = "{irc.host}"
port = {irc.port}
tls = false
nick = "{BOT}"
channels = ["{CHANNEL}"]
"""
    )
    return config


async def add_user(config: Path, nick: str, phone: str) -> None:
    proc = await highlightd(
        "users", "add", "--config", str(config), "--network", "testnet", "--nick", nick,
        "--phone", phone, cwd=config.parent,
    )  # fmt: skip
    assert await proc.wait() == 0


async def metric(port: int, needle: str) -> float:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}/metrics") as resp,
    ):
        for line in (await resp.text()).splitlines():
            if line.startswith(needle):
                return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no metric {needle}")


async def until_metric(port: int, needle: str) -> None:
    """Wait (with a guard) until the metric reaches 1."""
    async with asyncio.timeout(10):
        while True:
            if await metric(port, needle) >= 1:
                return
            await asyncio.sleep(0.05)


@pytest.fixture
def notify_socket(monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    """A datagram socket in the abstract namespace, named in NOTIFY_SOCKET as systemd does."""
    name = f"highlightd-test-{os.getpid()}-{free_port()}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind("\0" + name)
    sock.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
    yield sock
    sock.close()


async def received(sock: socket.socket) -> str:
    async with asyncio.timeout(20):
        return (await asyncio.get_running_loop().sock_recv(sock, 4096)).decode()


async def test_ready_is_sent_once_web_and_irc_are_up_and_stopping_at_sigterm(
    tmp_path: Path, irc_server: IrcServer, notify_socket: socket.socket
) -> None:
    port = free_port()
    config = write_config(tmp_path, irc_server, port)
    async with daemon_process(config, tmp_path) as (proc, output):
        assert await received(notify_socket) == "READY=1"
        await output.wait_for("running: role all")  # logged just before READY is sent
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{port}/metrics") as resp,
        ):
            assert resp.status == 200  # the web server listened before READY
        proc.send_signal(signal.SIGTERM)
        assert await received(notify_socket) == "STOPPING=1"
        async with asyncio.timeout(10):
            assert await proc.wait() == 0


def test_notify_speaks_to_a_socket_path_and_is_silent_without_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A short folder: a socket path holds at most 108 bytes.
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "notify"
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.bind(str(path))
            monkeypatch.setenv("NOTIFY_SOCKET", str(path))
            assert sdnotify.notify("READY=1\nSTATUS=up")
            assert sock.recv(4096) == b"READY=1\nSTATUS=up"
    monkeypatch.delenv("NOTIFY_SOCKET")
    assert not sdnotify.notify("READY=1")


async def test_sighup_applies_policy_and_new_users_without_dropping_irc(
    tmp_path: Path, irc_server: IrcServer, irc_client_factory: IrcClientFactory
) -> None:
    port = free_port()
    config = write_config(
        tmp_path, irc_server, port, '[policy]\ncooldown = 0\nignore_nicks = ["bob"]'
    )
    await add_user(config, "alice", "+15551230001")
    bob = await irc_client_factory("bob")
    await bob.join(CHANNEL)
    async with daemon_process(config, tmp_path) as (proc, output):
        await output.wait_for("running: role all")
        await wait_for_bot(bob)
        await bob.privmsg(CHANNEL, "alice: one")
        needle = 'highlightd_highlights_total{decision="ignored_sender",network="testnet"}'
        await until_metric(port, needle)

        # bob no longer ignored, a new user, DEBUG logging, and a change that must wait.
        await add_user(config, "carol", "+15551230002")
        write_config(
            tmp_path,
            irc_server,
            free_port(),
            '[policy]\ncooldown = 0\n[log]\nlevel = "DEBUG"',
        )
        proc.send_signal(signal.SIGHUP)
        reloaded = await output.wait_for("SIGHUP: policy and log level reloaded")
        assert "not applied until a restart: web.port, web.public_url" in reloaded

        await bob.privmsg(CHANNEL, "alice: two")
        assert "alice: two" in await output.wait_for("SMS to +1•••••0001")
        await bob.privmsg(CHANNEL, "carol: three")
        assert "carol: three" in await output.wait_for("SMS to +1•••••0002")
        await output.wait_for("DEBUG")
        assert await metric(port, "highlightd_irc_connected") == 1  # still on the old port
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(10):
            assert await proc.wait() == 0
    # One connection throughout: the bot joined once and never quit before the end.
    bot_lines = [x for x in bob.received if x.nick == BOT and x.command in ("JOIN", "QUIT")]
    assert [x.command for x in bot_lines] == ["JOIN", "QUIT"]
    assert sum("connected as" in line for line in output.lines) == 1


async def test_a_bad_config_on_sighup_keeps_the_running_one(
    tmp_path: Path, irc_server: IrcServer
) -> None:
    config = write_config(tmp_path, irc_server, free_port())
    async with daemon_process(config, tmp_path) as (proc, output):
        await output.wait_for("connected as")
        config.write_text(config.read_text() + "\n[policy]\nmass_highlight = 1\n")
        proc.send_signal(signal.SIGHUP)
        line = await output.wait_for("configuration not reloaded")
        assert "ERROR" in line
        await output.wait_for("policy.mass_highlight: Input should be greater than or equal to 2")
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(10):
            await proc.wait()
        await output.task
        assert proc.returncode == 0
    assert output.lines[-1].endswith("highlightd stopped")


async def test_a_second_sigint_stops_at_once_and_still_stops_the_embedded_redis(
    tmp_path: Path, irc_server: IrcServer
) -> None:
    port = free_port()
    config = write_config(tmp_path, irc_server, port, TWILIO)
    async with daemon_process(config, tmp_path) as (proc, output):
        await output.wait_for("connected as")
        # A webhook request that never finishes its body: a graceful stop waits for it.
        _reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"POST /twilio/sms HTTP/1.1\r\nHost: x\r\nX-Twilio-Signature: x\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nFr"
        )
        await writer.drain()
        assert await metric(port, "highlightd_build_info") == 1  # the request above is in
        proc.send_signal(signal.SIGINT)
        await output.wait_for("stopping")
        proc.send_signal(signal.SIGINT)
        async with asyncio.timeout(10):
            assert await proc.wait() == 130
        await output.task
        writer.close()
    assert any("second SIGINT: exiting without waiting" in line for line in output.lines)
    assert output.lines[-1].endswith("highlightd stopped (forced)")
    assert not any("Traceback" in line for line in output.lines)
    with socket.socket(socket.AF_UNIX) as sock, pytest.raises(OSError):
        sock.connect(str(tmp_path / "data" / "valkey" / "valkey.sock"))
