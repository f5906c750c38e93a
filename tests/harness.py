"""An in-process highlightd wired to real servers, and the helpers end-to-end tests share."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from fake_twilio import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, FakeTwilio, twilio_signature
from highlightd.config import Settings
from highlightd.core.ircnames import nick_key
from highlightd.daemon import Daemon, Role
from highlightd.store import Store
from servers import IrcClientFactory, IrcServer, IrcTestClient, free_port
from waiting import eventually

NETWORK = "testnet"
CHANNEL = "#chan"
BOT = "hlbot"
FROM_NUMBER = "+15005550006"
ALICE_PHONE = "+12015550001"  # a US number phonenumbers knows: codes go only to such
_sids = itertools.count(1)


def new_sid() -> str:
    return f"SM{next(_sids):032x}"


def settings_dict(
    tmp_path: Path,
    irc: IrcServer,
    redis_url: str,
    twilio: FakeTwilio | None,
    web_port: int,
    **policy: Any,
) -> dict[str, Any]:
    data: dict[str, Any] = {
        "storage": {"path": str(tmp_path / "highlightd.sqlite3")},
        "redis": {"url": redis_url},
        "web": {
            "host": "127.0.0.1",
            "port": web_port,
            "public_url": f"http://127.0.0.1:{web_port}",
        },
        "sms": {"backend": "twilio" if twilio else "console"},
        "policy": {"cooldown": 0, "active_window": 0, **policy},
        "networks": [
            {
                "name": NETWORK,
                "host": irc.host,
                "port": irc.port,
                "tls": False,
                "nick": BOT,
                "channels": [CHANNEL],
                "send_burst": 20,
                "send_rate": 50,
            }
        ],
    }
    if twilio is not None:
        data["twilio"] = {
            "account_sid": TEST_ACCOUNT_SID,
            "auth_token": TEST_AUTH_TOKEN,
            "from_number": FROM_NUMBER,
            "api_base_url": twilio.base_url,
        }
    return data


async def add_user(path: Path, nick: str, phone: str, network: str = NETWORK) -> None:
    """Register a user through a connection of its own, as the CLI does."""
    store = await Store.open(path)
    try:
        await store.users.add(network, nick, nick_key(nick), phone)
    finally:
        await store.close()


@dataclass
class Highlightd:
    daemon: Daemon
    settings: Settings
    http: aiohttp.ClientSession

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.daemon.web_port}"

    async def post(
        self,
        path: str,
        form: dict[str, str],
        *,
        signature: str | None = None,
        sign: bool = True,
    ) -> aiohttp.ClientResponse:
        headers = {}
        if sign:
            headers["X-Twilio-Signature"] = signature or twilio_signature(
                TEST_AUTH_TOKEN, self.base_url + path, form
            )
        async with self.http.post(self.base_url + path, data=form, headers=headers) as resp:
            await resp.read()
            return resp

    async def sms(self, body: str, phone: str = ALICE_PHONE, sid: str | None = None) -> str:
        """POST an incoming SMS the way Twilio does; return its MessageSid."""
        sid = sid or new_sid()
        form = {"MessageSid": sid, "From": phone, "To": FROM_NUMBER, "Body": body}
        resp = await self.post("/twilio/sms", form)
        assert resp.status == 200, resp.status
        return sid

    async def healthz(self) -> tuple[int, dict[str, Any]]:
        async with self.http.get(self.base_url + "/healthz") as resp:
            return resp.status, await resp.json()

    async def metrics_text(self) -> str:
        async with self.http.get(self.base_url + "/metrics") as resp:
            assert resp.status == 200, resp.status
            return await resp.text()

    async def counts(self, sample: str, label: str) -> dict[str, int]:
        """A counter's samples summed by one label: counts("x_total", "result")["sent"]."""
        found: dict[str, int] = {}
        for family in text_string_to_metric_families(await self.metrics_text()):
            for s in family.samples:
                if s.name == sample and s.value:
                    key = s.labels[label]
                    found[key] = found.get(key, 0) + int(s.value)
        return found

    async def decisions(self) -> dict[str, int]:
        """How many highlights were decided each way so far, by decision."""
        return await self.counts("highlightd_highlights_total", "decision")


@contextlib.asynccontextmanager
async def running(
    settings: Settings, role: Role = "all", clock: Callable[[], float] = time.time
) -> AsyncIterator[Highlightd]:
    """Run a Daemon in this loop until the block ends; fail loudly if it dies early."""
    daemon = Daemon(settings, role, clock)
    task = asyncio.create_task(daemon.run())
    started = asyncio.create_task(daemon.started.wait())
    done, _ = await asyncio.wait({task, started}, timeout=20, return_when=asyncio.FIRST_COMPLETED)
    if task in done:
        started.cancel()
        task.result()
        raise AssertionError("daemon returned before it started")
    if not done:
        task.cancel()
        raise AssertionError("daemon did not start in 20 s")
    try:
        async with aiohttp.ClientSession() as http:
            yield Highlightd(daemon, settings, http)
    finally:
        daemon.stop()
        done, _ = await asyncio.wait({task}, timeout=15)
        if not done:
            stacks = []
            for t in asyncio.all_tasks():
                stacks.append(f"--- {t.get_name()}: {t.get_coro()}")
                stacks.extend(str(f) for f in t.get_stack())
            task.cancel()
            raise AssertionError("daemon did not stop in 15 s:\n" + "\n".join(stacks))
        task.result()


async def in_channel(factory: IrcClientFactory, *nicks: str) -> list[IrcTestClient]:
    """Connect test clients and have each join CHANNEL, in order."""
    clients = [await factory(nick) for nick in nicks]
    for client in clients:
        await client.join(CHANNEL)
    return clients


async def ask(client: IrcTestClient, text: str) -> str:
    """A private message to the bot; its NOTICE answer."""
    await client.privmsg(BOT, text)
    line = await client.expect(lambda line: line.command == "NOTICE" and line.nick == BOT)
    return line.text


def code_in(body: str) -> str:
    """The six-digit code an SMS carries."""
    match = re.search(r"\b(\d{6})\b", body)
    assert match, body
    return match[1]


async def wait_for_bot(client: IrcTestClient, channel: str = CHANNEL, nick: str = BOT) -> None:
    """Wait until the bot has joined channel, as seen by a client already in it."""
    await client.expect(
        lambda line: line.command == "JOIN" and line.nick == nick and line.text == channel
    )


async def until_metric(hl: Highlightd, needle: str, value: float = 1.0) -> None:
    """Wait until a /metrics line containing needle reaches value."""

    async def lines() -> list[str]:
        return [line for line in (await hl.metrics_text()).splitlines() if needle in line]

    await eventually(
        lines,
        lambda found: any(float(line.rsplit(" ", 1)[1]) >= value for line in found),
        what=f"a /metrics line with {needle} at {value:g} or more",
    )


def web_port() -> int:
    return free_port()


async def until_healthz(hl: Highlightd, status: int) -> dict[str, Any]:
    """Poll /healthz until it answers status; return its body."""
    _status, body = await eventually(
        hl.healthz, lambda got: got[0] == status, what=f"/healthz to answer {status}"
    )
    return body


async def until_outbox_empty(path: Path, timeout: float = 15) -> None:  # noqa: ASYNC109
    """Wait (with a guard) until no SMS is left in the outbox: nothing more can go out."""
    store = await Store.open(path)
    try:
        await eventually(
            store.outgoing.waiting, lambda rows: not rows, what="an empty SMS outbox", limit=timeout
        )
    finally:
        await store.close()
