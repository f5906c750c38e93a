"""The web side under attack, end to end: forged, re-cut, undecodable and duplicated
webhooks, and slow clients, against the daemon's real web server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import resource
import socket
import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from fake_twilio import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, FakeTwilio, twilio_signature
from harness import (
    ALICE_PHONE,
    BOT,
    CHANNEL,
    FROM_NUMBER,
    Highlightd,
    add_user,
    in_channel,
    new_sid,
    running,
    settings_dict,
    until_metric,
    wait_for_bot,
    web_port,
)
from highlightd.config import Settings
from highlightd.core.records import IncomingSms
from highlightd.store import Store
from servers import IrcClientFactory, IrcServer, IrcTestClient, RedisServer

pytestmark = pytest.mark.timeout(60)

FORGED = 20_000  # the figure: 20,000 forged webhooks, 2 log lines at most
SLOW = 1_100


@dataclass
class Scene:
    hl: Highlightd
    bob: IrcTestClient
    twilio: FakeTwilio
    settings: Settings

    async def mentioned(self) -> None:
        """bob mentions alice, so that her SMS answers go to him."""
        await self.bob.privmsg(CHANNEL, "alice: deploy?")
        await self.twilio.wait_for_messages(1)


MakeScene = Callable[..., contextlib.AbstractAsyncContextManager[Scene]]


@pytest.fixture
def scene(
    tmp_path: Path,
    irc_server: IrcServer,
    redis_server: RedisServer,
    fake_twilio: FakeTwilio,
    irc_client_factory: IrcClientFactory,
) -> MakeScene:
    """The whole daemon, alice registered, bob in #chan; [web] settings as given."""

    @contextlib.asynccontextmanager
    async def make(**web: Any) -> AsyncIterator[Scene]:
        data = settings_dict(tmp_path, irc_server, redis_server.url, fake_twilio, web_port())
        data["web"].update(web)
        settings = Settings(**data)
        await add_user(settings.storage.path, "alice", ALICE_PHONE)
        [bob] = await in_channel(irc_client_factory, "bob")
        async with running(settings) as hl:
            await wait_for_bot(bob)
            yield Scene(hl, bob, fake_twilio, settings)

    return make


def sms_form(body: str, sid: str | None = None) -> dict[str, str]:
    """An incoming SMS from alice, with the fields Twilio always sends."""
    return {
        "MessageSid": sid or new_sid(),
        "AccountSid": TEST_ACCOUNT_SID,
        "From": ALICE_PHONE,
        "To": FROM_NUMBER,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
    }


async def metric(hl: Highlightd, name: str) -> float:
    async with hl.http.get(hl.base_url + "/metrics") as resp:
        for line in (await resp.text()).splitlines():
            if line.startswith(name + " "):
                return float(line.rsplit(" ", 1)[1])
    return 0.0


def received_sids(settings: Settings) -> set[str]:
    with contextlib.closing(sqlite3.connect(settings.storage.path)) as db:
        return {str(row[0]) for row in db.execute("SELECT sid FROM received_sms")}


async def test_a_recut_request_is_refused_though_signed_and_nothing_is_said(
    scene: MakeScene,
) -> None:
    async with scene() as s:
        await s.mentioned()
        genuine = sms_form("Yes. Do not deploy")
        signature = twilio_signature(TEST_AUTH_TOKEN, s.hl.base_url + "/twilio/sms", genuine)
        cut_body = {**genuine, "Body": "Yes. ", "Do not deploy": ""}
        cut_sid = {k: v for k, v in genuine.items() if k != "NumMedia"}
        cut_sid["MessageSid"] = genuine["MessageSid"] + "NumMedia0"  # passes deduplication
        for recut in (cut_body, cut_sid):
            url = s.hl.base_url + "/twilio/sms"
            assert twilio_signature(TEST_AUTH_TOKEN, url, recut) == signature  # still signed
            resp = await s.hl.post("/twilio/sms", recut, signature=signature)
            assert resp.status == 400
        await s.hl.sms("genuine")
        line = await s.bob.expect_privmsg(from_nick=BOT)
        assert line.text == "alice (SMS): genuine"  # the first thing said: no re-cut before it
        assert len(received_sids(s.settings)) == 1
        await until_metric(s.hl, 'highlightd_webhook_rejected_total{reason="unexpected_field"}')
        await until_metric(s.hl, 'highlightd_webhook_rejected_total{reason="bad_field"}')


@pytest.mark.parametrize(
    "body",
    [b"MessageSid=SM1&From=%2B12015550001&Body=%ff%fe", b"From=+12015550001&Body=\xff"],
    ids=["escaped", "raw"],
)
async def test_an_undecodable_form_is_400_without_a_traceback(
    scene: MakeScene, body: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    async with scene() as s:
        async with s.hl.http.post(
            s.hl.base_url + "/twilio/sms",
            data=body,
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Twilio-Signature": "bm9wZQ==",
            },
        ) as resp:
            assert resp.status == 400
            assert "not valid UTF-8" in await resp.text()
        assert await metric(s.hl, 'highlightd_webhook_rejected_total{reason="undecodable"}') == 1
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


async def test_ten_concurrent_posts_of_one_status_command_get_one_answer(
    scene: MakeScene,
) -> None:
    async with scene() as s:
        form = sms_form("STATUS")
        responses = await asyncio.gather(*(_post(s.hl, form) for _ in range(10)))
        assert [status for status, _ in responses] == [200] * 10
        answers = [text for _, text in responses if "<Message>" in text]
        assert len(answers) == 1, responses
        assert "highlightd: SMS on (alice on testnet)" in answers[0]
        assert await metric(s.hl, 'highlightd_sms_received_total{outcome="command"}') == 1
        assert await metric(s.hl, 'highlightd_sms_received_total{outcome="duplicate"}') == 9


async def _post(hl: Highlightd, form: dict[str, str]) -> tuple[int, str]:
    signature = twilio_signature(TEST_AUTH_TOKEN, hl.base_url + "/twilio/sms", form)
    async with hl.http.post(
        hl.base_url + "/twilio/sms", data=form, headers={"X-Twilio-Signature": signature}
    ) as resp:
        return resp.status, await resp.text()


@pytest.mark.timeout(120)
async def test_forged_webhooks_are_counted_and_logged_at_most_twice(
    scene: MakeScene, caplog: pytest.LogCaptureFixture
) -> None:
    async with scene() as s:
        caplog.set_level(logging.INFO, logger="highlightd.web")
        statuses = await forge(s.hl.base_url + "/twilio/sms", FORGED, concurrency=20)
        assert statuses == {403: FORGED}
        rejected = 'highlightd_webhook_rejected_total{reason="bad_signature"}'
        assert await metric(s.hl, rejected) == FORGED
        web_lines = [r for r in caplog.records if r.name.startswith("highlightd.web")]
        assert 1 <= len(web_lines) <= 2, [r.getMessage() for r in web_lines]
        assert web_lines[0].getMessage().startswith("1 web request(s) refused (bad_signature 1)")


async def forge(url: str, count: int, concurrency: int) -> dict[int, int]:
    """POST count SMS forms signed with a wrong key, concurrency at a time; statuses seen."""
    statuses: dict[int, int] = {}
    forms = iter(range(count))
    async with aiohttp.ClientSession() as http:

        async def worker() -> None:
            for _ in forms:
                form = sms_form("send money")
                signature = twilio_signature("not-the-token", url, form)
                async with http.post(
                    url, data=form, headers={"X-Twilio-Signature": signature}
                ) as resp:
                    await resp.read()
                    statuses[resp.status] = statuses.get(resp.status, 0) + 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return statuses


def raise_own_open_files_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2 * SLOW + 500:
        pytest.skip(f"both ends of {SLOW} connections need more than {hard} descriptors")
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


async def test_slow_connections_starve_neither_healthz_nor_webhooks(scene: MakeScene) -> None:
    raise_own_open_files_limit()  # this process holds both ends of every connection
    # A header timeout longer than the test: what makes room here is the connection cap.
    async with scene(header_timeout=60.0) as s:
        await s.mentioned()
        port = s.hl.daemon.web_port
        assert port is not None
        slow: list[socket.socket] = []
        try:
            for _ in range(SLOW // 100):
                slow += await asyncio.gather(*(slow_connection(port) for _ in range(100)))
            # Past 1,000 open connections the oldest idle ones were closed to make room.
            await until_metric(
                s.hl, 'highlightd_webhook_rejected_total{reason="evicted"}', SLOW - 1000
            )
            async with asyncio.timeout(5):
                status, body = await s.hl.healthz()
            assert (status, body["status"]) == (200, "ok")
            await s.hl.sms("through the crowd")
            line = await s.bob.expect_privmsg(from_nick=BOT, target="bob")
            assert line.text == "alice (SMS): through the crowd"
        finally:
            for sock in slow:
                sock.close()


async def slow_connection(port: int, head: bytes = b"") -> socket.socket:
    """A connection that starts a request and never finishes its header."""
    loop = asyncio.get_running_loop()
    sock = socket.socket()
    sock.setblocking(False)
    await loop.sock_connect(sock, ("127.0.0.1", port))
    await loop.sock_sendall(sock, head or b"POST /twilio/sms HTTP/1.1\r\nHost: x\r\n")
    return sock


async def test_a_slow_header_is_closed_and_a_slow_body_gets_408(scene: MakeScene) -> None:
    async with scene(header_timeout=0.5, body_timeout=0.5) as s:
        port = s.hl.daemon.web_port
        assert port is not None
        loop = asyncio.get_running_loop()
        header = await slow_connection(port)
        head = (
            b"POST /twilio/sms HTTP/1.1\r\nHost: x\r\nX-Twilio-Signature: bm9wZQ==\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n"
            b"Body=half"
        )
        body = await slow_connection(port, head)
        try:
            async with asyncio.timeout(10):
                assert await loop.sock_recv(header, 1024) == b""  # closed by the server
                answer = await loop.sock_recv(body, 1024)
            assert answer.startswith(b"HTTP/1.1 408 ")
        finally:
            header.close()
            body.close()
        assert await metric(s.hl, 'highlightd_webhook_rejected_total{reason="slow_body"}') == 1


async def test_the_claim_of_a_messagesid_is_atomic(tmp_path: Path) -> None:
    store = await Store.open(tmp_path / "highlightd.sqlite3")
    try:
        sms = IncomingSms("SM" + "1" * 32, ALICE_PHONE, "STATUS", 1.0)
        claims = await asyncio.gather(*(store.received.claim(sms) for _ in range(10)))
        assert sorted(claims) == [False] * 9 + [True]
        assert await store.received.unconfirmed() == []  # held back until released
        await store.received.release(sms.sid)
        assert [x.sid for x in await store.received.unconfirmed()] == [sms.sid]
    finally:
        await store.close()
