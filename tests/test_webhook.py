"""The HTTP side on its own (--role web), and the two roles split over one Redis."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from fake_twilio import TEST_AUTH_TOKEN, twilio_signature
from harness import (
    ALICE_PHONE,
    BOT,
    CHANNEL,
    Highlightd,
    new_sid,
    until_healthz,
)
from highlightd.core.records import IncomingSms
from highlightd.infra.bus import STREAM
from highlightd.store import Store
from scene import SceneFactory
from servers import RedisServer
from waiting import eventually

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
async def web(scene: SceneFactory) -> AsyncIterator[Highlightd]:
    """highlightd --role web, alice registered; no IRC client, no bot."""
    async with scene(clients=(), roles=("web",)) as s:
        yield s.hl


async def stream_length(redis_server: RedisServer) -> int:
    client = aioredis.Redis.from_url(redis_server.url)
    try:
        return int(await client.xlen(STREAM))
    finally:
        await client.aclose()


async def stream_bodies(redis_server: RedisServer) -> list[str]:
    client = aioredis.Redis.from_url(redis_server.url, decode_responses=True)
    try:
        entries = await client.xrange(STREAM)
        assert entries is not None
        bodies = []
        for _id, fields in entries:
            assert fields is not None
            bodies.append(str(fields["body"]))
        return bodies
    finally:
        await client.aclose()


@pytest.mark.parametrize(
    ("form", "missing"),
    [
        ({"From": ALICE_PHONE, "Body": "hi"}, "MessageSid"),
        ({"MessageSid": "SM1", "Body": "hi"}, "From"),
        ({"MessageSid": "SM1", "From": ALICE_PHONE}, "Body"),
    ],
)
async def test_signed_form_without_a_field_is_400_naming_it(
    web: Highlightd, redis_server: RedisServer, form: dict[str, str], missing: str
) -> None:
    async with web.http.post(
        web.base_url + "/twilio/sms",
        data=form,
        headers={"X-Twilio-Signature": _sign(web, "/twilio/sms", form)},
    ) as resp:
        assert resp.status == 400
        assert missing in await resp.text()
    assert await stream_length(redis_server) == 0


async def test_body_over_64_kib_is_413(web: Highlightd, redis_server: RedisServer) -> None:
    form = {"MessageSid": new_sid(), "From": ALICE_PHONE, "Body": "x" * 70_000}
    resp = await web.post("/twilio/sms", form)
    assert resp.status == 413
    assert await stream_length(redis_server) == 0


async def test_missing_signature_is_403_before_the_body_is_read(web: Highlightd) -> None:
    form = {"MessageSid": new_sid(), "From": ALICE_PHONE, "Body": "x" * 70_000}
    assert (await web.post("/twilio/sms", form, sign=False)).status == 403


async def test_signature_over_another_url_is_403(web: Highlightd) -> None:
    form = {"MessageSid": new_sid(), "From": ALICE_PHONE, "Body": "hi"}
    https = _sign_url(web.base_url.replace("http://", "https://") + "/twilio/sms", form)
    assert (await web.post("/twilio/sms", form, signature=https)).status == 403
    assert (await web.post("/twilio/sms", form)).status == 200  # the same form, signed right


async def test_accepted_sms_is_answered_with_empty_twiml_and_put_on_the_bus(
    web: Highlightd, redis_server: RedisServer
) -> None:
    form = {"MessageSid": new_sid(), "From": ALICE_PHONE, "Body": "hello"}
    async with web.http.post(
        web.base_url + "/twilio/sms",
        data=form,
        headers={"X-Twilio-Signature": _sign(web, "/twilio/sms", form)},
    ) as resp:
        assert resp.status == 200
        assert resp.content_type == "application/xml"
        text = await resp.text()
    assert "<Response />" in text and "<Message" not in text
    await eventually(
        lambda: stream_length(redis_server), lambda n: n >= 1, what="one entry on the bus"
    )


async def test_answers_streaming_in_across_sweeps_go_on_the_bus_once_each(
    web: Highlightd, redis_server: RedisServer
) -> None:
    # Nothing confirms them (no IRC side): each sweep goes through all of them while
    # new ones are handed to the publisher. Neither may put one on the bus twice.
    bodies = [f"stream {n}" for n in range(60)]

    async def post(body: str) -> None:
        form = {"MessageSid": new_sid(), "From": ALICE_PHONE, "Body": body}
        headers = {"X-Twilio-Signature": _sign(web, "/twilio/sms", form)}
        async with web.http.post(web.base_url + "/twilio/sms", data=form, headers=headers) as r:
            assert r.status == 200

    for body in bodies:  # about 2.5 s: across two sweeps at least
        await asyncio.gather(post(body), asyncio.sleep(0.04))
    await eventually(
        lambda: stream_bodies(redis_server), lambda b: len(b) >= len(bodies), what="all on the bus"
    )
    await asyncio.sleep(1.5)  # one more sweep, which re-publishes nothing
    assert sorted(await stream_bodies(redis_server)) == sorted(bodies)


async def test_stop_keyword_is_not_put_on_the_bus(
    web: Highlightd, redis_server: RedisServer
) -> None:
    await web.sms("STOP")
    await web.sms("hello")
    # The outbox forwards in arrival order: a relayed STOP would stand before hello.
    await eventually(
        lambda: stream_length(redis_server), lambda n: n >= 1, what="one entry on the bus"
    )
    assert await stream_bodies(redis_server) == ["hello"]


async def test_status_callback_updates_the_sent_sms(web: Highlightd) -> None:
    store = await Store.open(web.settings.storage.path)
    try:
        await store.sent.record("SMabc00000000000000000000000000000", None, ALICE_PHONE, "queued")
        form = {"MessageSid": "SMabc00000000000000000000000000000", "MessageStatus": "delivered"}
        assert (await web.post("/twilio/status", form)).status == 204
        assert await store.sent.status("SMabc00000000000000000000000000000") == "delivered"
        assert (
            await web.post("/twilio/status", {**form, "MessageStatus": "x"}, sign=False)
        ).status == 403
        assert await store.sent.status("SMabc00000000000000000000000000000") == "delivered"
    finally:
        await store.close()


async def test_metrics_count_what_the_webhook_saw(web: Highlightd) -> None:
    await web.sms("hello")
    await web.post("/twilio/sms", {"MessageSid": new_sid(), "From": "+15559990000", "Body": "x"})
    async with web.http.get(web.base_url + "/metrics") as resp:
        assert resp.status == 200
        text = await resp.text()
    assert 'highlightd_sms_received_total{outcome="accepted"} 1.0' in text
    assert 'highlightd_sms_received_total{outcome="unknown_sender"} 1.0' in text


async def test_split_roles_relay_through_redis(scene: SceneFactory) -> None:
    async with scene(clients=("bob",), roles=("irc", "web")) as s:
        web = s.daemons[1]
        body = await until_healthz(web, 200)
        assert body["networks"] == {"testnet": "connected"}
        await s.bob.privmsg(CHANNEL, "alice: split?")
        await s.twilio.wait_for_messages(1)
        await web.sms("works")
        line = await s.bob.expect_privmsg(from_nick=BOT, target="bob")
        assert line.text == "alice (SMS): works"


def _sign(hl: Highlightd, path: str, form: dict[str, str]) -> str:
    return _sign_url(hl.base_url + path, form)


def _sign_url(url: str, form: dict[str, str]) -> str:
    return twilio_signature(TEST_AUTH_TOKEN, url, form)


async def test_an_sms_whose_handling_died_midway_is_handled_on_twilios_retry(
    web: Highlightd, redis_server: RedisServer
) -> None:
    # As left by a process killed between taking the SMS and deciding what it is:
    # held back from the outbox, and Twilio, which got no answer, sends it again.
    sid = new_sid()
    store = await Store.open(web.settings.storage.path)
    try:
        left = IncomingSms(sid, ALICE_PHONE, "on my way", 1.0)
        assert await store.received.claim(left)
        assert not await store.received.claim(left)  # a plain claim never takes it over
    finally:
        await store.close()
    await web.sms("on my way", sid=sid)
    await eventually(
        lambda: stream_bodies(redis_server), lambda b: b == ["on my way"], what="the answer"
    )
    await web.sms("on my way", sid=sid)  # handled now: a further retry is a duplicate
    await web.sms("marker")
    await eventually(lambda: stream_bodies(redis_server), lambda b: len(b) >= 2, what="the marker")
    assert await stream_bodies(redis_server) == ["on my way", "marker"]
