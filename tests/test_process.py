"""The daemon as users run it: `python -m highlightd run` in a process of its own."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest

from fake_twilio import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, FakeTwilio, twilio_signature
from harness import (
    ALICE_PHONE,
    BOT,
    CHANNEL,
    FROM_NUMBER,
    add_user,
    new_sid,
    until_outbox_empty,
    wait_for_bot,
)
from highlightd.store import Store
from servers import IrcClientFactory, IrcServer, IrcTestClient, free_port

pytestmark = pytest.mark.timeout(60)


def write_config(
    tmp_path: Path, irc: IrcServer, port: int, extra: str = "", *, webhooks: bool = False
) -> Path:
    """A config on the embedded Redis and console SMS; `webhooks` lets signed SMS in,
    `extra` is appended (more TOML tables)."""
    config = tmp_path / "highlightd.toml"
    twilio = f"""
public_url = "http://127.0.0.1:{port}"

[twilio]
account_sid = "{TEST_ACCOUNT_SID}"
auth_token = "{TEST_AUTH_TOKEN}"
from_number = "{FROM_NUMBER}"
"""
    config.write_text(
        f"""
[storage]
path = "{tmp_path / "data" / "highlightd.sqlite3"}"

[web]
port = {port}
{twilio if webhooks else ""}

[[networks]]
name = "testnet"
host = "{irc.host}"
port = {irc.port}
tls = false
nick = "{BOT}"
channels = ["{CHANNEL}"]
"""
        + extra
    )
    return config


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("HIGHLIGHTD_")}


async def highlightd(*args: str, cwd: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "highlightd",
        *args,
        cwd=cwd,
        env=_env(),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


class Output:
    """Collects a process's stderr lines as they come, so a test can wait for one."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self.lines: list[str] = []
        self._stream = stream
        self._changed = asyncio.Event()
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        while line := await self._stream.readline():
            self.lines.append(line.decode().rstrip("\n"))
            self._changed.set()
        self._changed.set()

    async def wait_for(self, text: str, timeout: float = 20) -> str:  # noqa: ASYNC109
        async with asyncio.timeout(timeout):
            while True:
                for line in self.lines:
                    if text in line:
                        return line
                if self.task.done():
                    raise AssertionError(f"{text!r} never logged:\n" + "\n".join(self.lines))
                self._changed.clear()
                await self._changed.wait()


@contextlib.asynccontextmanager
async def daemon_process(
    config: Path, cwd: Path
) -> AsyncIterator[tuple[asyncio.subprocess.Process, Output]]:
    proc = await highlightd("run", "--config", str(config), cwd=cwd)
    assert proc.stderr is not None
    output = Output(proc.stderr)
    try:
        yield proc, output
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        await output.task


async def test_sigterm_quits_irc_stops_embedded_redis_and_exits_0(
    tmp_path: Path, irc_server: IrcServer, irc_client_factory: IrcClientFactory
) -> None:
    config = write_config(tmp_path, irc_server, free_port())
    add = await highlightd(
        "users",
        "add",
        "--config",
        str(config),
        "--network",
        "testnet",
        "--nick",
        "alice",
        "--phone",
        "+15551230001",
        cwd=tmp_path,
    )
    assert await add.wait() == 0
    bob = await irc_client_factory("bob")
    await bob.join(CHANNEL)
    async with daemon_process(config, tmp_path) as (proc, output):
        await output.wait_for("running: role all, 1 network(s), sms console, redis embedded")
        await wait_for_bot(bob)
        # The console backend prints the SMS, with the number masked.
        await bob.privmsg(CHANNEL, "alice: are you there?")
        line = await output.wait_for("SMS to ")
        assert "+1•••••0001" in line and "[#chan] <bob> alice: are you there?" in line
        assert not any("+15551230001" in x for x in output.lines)
        socket_path = tmp_path / "data" / "valkey" / "valkey.sock"
        assert socket_path.exists()

        proc.send_signal(signal.SIGTERM)
        quit_line = await bob.expect(lambda line: line.command == "QUIT" and line.nick == BOT)
        assert "highlightd shutting down" in quit_line.text  # ngircd quotes it
        async with asyncio.timeout(10):
            assert await proc.wait() == 0
        await output.task
    assert output.lines[-1].endswith("highlightd stopped")
    assert not any("Traceback" in x for x in output.lines)
    with socket.socket(socket.AF_UNIX) as sock, pytest.raises(OSError):
        sock.connect(str(socket_path))  # the embedded Valkey is gone


async def test_port_in_use_is_one_clear_line_and_exit_1(
    tmp_path: Path, irc_server: IrcServer
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        config = write_config(tmp_path, irc_server, port)
        async with daemon_process(config, tmp_path) as (proc, output):
            async with asyncio.timeout(20):
                assert await proc.wait() == 1
            await output.task
    errors = [x for x in output.lines if "ERROR" in x]
    assert len(errors) == 1
    assert f"cannot start: cannot listen on 127.0.0.1:{port}" in errors[0]
    assert not any("Traceback" in x for x in output.lines)


async def test_bad_config_exits_2_naming_the_key(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text('[[networks]]\nname = "x"\nhost = "h"\nnick = "' + "n" * 31 + '"\n')
    proc = await highlightd("run", "--config", str(config), cwd=tmp_path)
    _out, err = await proc.communicate()
    assert proc.returncode == 2
    assert "networks[0].nick: nick is longer than 30 characters" in err.decode()


async def _add_alice(config: Path, cwd: Path) -> None:
    add = await highlightd(
        "users",
        "add",
        "--config",
        str(config),
        "--network",
        "testnet",
        "--nick",
        "alice",
        "--phone",
        ALICE_PHONE,
        cwd=cwd,
    )
    assert await add.wait() == 0


async def _answer(port: int, body: str) -> None:
    """alice's SMS answer, POSTed the way Twilio does."""
    url = f"http://127.0.0.1:{port}/twilio/sms"
    form = {"MessageSid": new_sid(), "From": ALICE_PHONE, "To": FROM_NUMBER, "Body": body}
    headers = {"X-Twilio-Signature": twilio_signature(TEST_AUTH_TOKEN, url, form)}
    async with aiohttp.ClientSession() as http, http.post(url, data=form, headers=headers) as resp:
        assert resp.status == 200


async def test_second_daemon_on_one_data_folder_is_refused_and_the_first_goes_on(
    tmp_path: Path, irc_server: IrcServer, irc_client_factory: IrcClientFactory
) -> None:
    port = free_port()
    config = write_config(tmp_path, irc_server, port, webhooks=True)
    data_dir = (tmp_path / "data").resolve()
    bob = await irc_client_factory("bob")
    await bob.join(CHANNEL)
    async with daemon_process(config, tmp_path) as (first, output):
        await output.wait_for("running: role all")
        await wait_for_bot(bob)
        # The CLI opens the database only: it never waits for the daemon's lock.
        await _add_alice(config, tmp_path)

        async with daemon_process(config, tmp_path) as (second, refused):
            async with asyncio.timeout(20):
                assert await second.wait() == 1
            await refused.task
        errors = [x for x in refused.lines if "ERROR" in x]
        assert len(errors) == 1, refused.lines
        assert errors[0].endswith(f"another highlightd (pid {first.pid}) uses {data_dir}")
        assert not any("Traceback" in x or "left behind" in x for x in refused.lines)

        # The first still delivers, both ways, on the Valkey it started.
        await bob.privmsg(CHANNEL, "alice: still there?")
        await output.wait_for("[#chan] <bob> alice: still there?")
        await _answer(port, "yes")
        line = await bob.expect_privmsg(from_nick=BOT, target="bob")
        assert line.text == "alice (SMS): yes"

        # Killed, it leaves its Valkey behind but not its lock: the next run takes
        # over, stops the leftover, and relays again.
        first.kill()
        await first.wait()
    async with daemon_process(config, tmp_path) as (third, output):
        await output.wait_for("stopped the embedded redis a previous run left behind")
        await output.wait_for("running: role all")
        await _answer(port, "after a restart")
        # ("yes" may come again first: killed right after saying it, the first
        # daemon may not have acknowledged it.)
        await bob.expect(lambda line: line.text == "alice (SMS): after a restart", timeout=20)
        third.send_signal(signal.SIGTERM)
        async with asyncio.timeout(10):
            assert await third.wait() == 0


# The SMS outbox across a killed process


def twilio_config(fake: FakeTwilio) -> str:
    """[sms] and [twilio] for the fake API, with retries short enough for a test."""
    return f"""
[sms]
backend = "twilio"
retry_delay = 0.1
retry_delay_max = 0.5

[twilio]
account_sid = "{fake.account_sid}"
auth_token = "{fake.auth_token}"
from_number = "{FROM_NUMBER}"
api_base_url = "{fake.base_url}"
timeout = 2
"""


async def _mentioned_then_killed(
    config: Path, tmp_path: Path, bob: IrcTestClient, killed_when: Callable[[], bool]
) -> None:
    """Run the daemon, have bob mention alice, SIGKILL the daemon once killed_when()."""
    async with daemon_process(config, tmp_path) as (proc, output):
        await output.wait_for("running: role all")
        await wait_for_bot(bob)
        await bob.privmsg(CHANNEL, "alice: are you there?")
        async with asyncio.timeout(20):  # a guard, not a timing
            while True:
                if killed_when():
                    break
                await asyncio.sleep(0.02)
        proc.kill()
        await proc.wait()


async def _restarted(config: Path, tmp_path: Path, db: Path) -> None:
    """Run the daemon again until its outbox is empty, then stop it with SIGTERM."""
    async with daemon_process(config, tmp_path) as (proc, output):
        await output.wait_for("running: role all")
        await until_outbox_empty(db, timeout=30)
        proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(10):
            assert await proc.wait() == 0


async def test_sigkill_during_the_retry_the_sms_goes_out_once_after_restart(
    tmp_path: Path,
    irc_server: IrcServer,
    irc_client_factory: IrcClientFactory,
    fake_twilio: FakeTwilio,
) -> None:
    config = write_config(tmp_path, irc_server, free_port(), twilio_config(fake_twilio))
    db = tmp_path / "data" / "highlightd.sqlite3"
    await add_user(db, "alice", ALICE_PHONE)
    bob = await irc_client_factory("bob")
    await bob.join(CHANNEL)
    fake_twilio.unavailable_for(600)
    # Killed while the SMS waits for its next try: it is a row, not a task.
    await _mentioned_then_killed(config, tmp_path, bob, lambda: fake_twilio.requests >= 1)
    fake_twilio.available()
    await _restarted(config, tmp_path, db)
    assert [m.body for m in fake_twilio.messages] == ["[#chan] <bob> alice: are you there?"]


async def test_sigkill_with_the_request_in_flight_records_the_sms_once_after_restart(
    tmp_path: Path,
    irc_server: IrcServer,
    irc_client_factory: IrcClientFactory,
    fake_twilio: FakeTwilio,
) -> None:
    config = write_config(tmp_path, irc_server, free_port(), twilio_config(fake_twilio))
    db = tmp_path / "data" / "highlightd.sqlite3"
    await add_user(db, "alice", ALICE_PHONE)
    bob = await irc_client_factory("bob")
    await bob.join(CHANNEL)
    fake_twilio.hang_after_create_next()
    # Killed with the request in flight: Twilio created the SMS, nobody recorded it.
    await _mentioned_then_killed(config, tmp_path, bob, lambda: bool(fake_twilio.messages))
    await _restarted(config, tmp_path, db)
    [sms] = fake_twilio.messages
    assert fake_twilio.requests == 1  # found in the list after the restart, not sent again
    assert fake_twilio.list_requests >= 1
    store = await Store.open(db)
    try:
        assert await store.sent.status(sms.sid) is not None  # the budgets count it
    finally:
        await store.close()
