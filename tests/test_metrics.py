"""/metrics as Prometheus sees it right after start: every series there, at 0."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from fake_twilio import FakeTwilio
from harness import (
    ALICE_PHONE,
    BOT,
    CHANNEL,
    NETWORK,
    add_user,
    in_channel,
    running,
    settings_dict,
    until_metric,
    wait_for_bot,
    web_port,
)
from highlightd import __version__
from highlightd.config import Settings
from highlightd.core.policy import Reason
from servers import IrcClientFactory, IrcServer, RedisServer


async def test_every_series_exists_at_zero_right_after_start(
    tmp_path: Path, irc_server: IrcServer, redis_server: RedisServer
) -> None:
    settings = Settings(**settings_dict(tmp_path, irc_server, redis_server.url, None, web_port()))
    async with running(settings) as hl, hl.http.get(hl.base_url + "/metrics") as resp:
        assert resp.status == 200
        text = await resp.text()
    families = {f.name: f for f in text_string_to_metric_families(text)}
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in families.values()
        for s in f.samples
    }

    def value(name: str, **labels: str) -> float:
        return samples[(name, tuple(sorted(labels.items())))]

    decisions = [reason.value for reason in Reason] + ["digest"]
    for decision in decisions:
        assert value("highlightd_highlights_total", network=NETWORK, decision=decision) == 0
    for result in ("sent", "failed"):
        assert value("highlightd_sms_sent_total", result=result) == 0
    for outcome in ("accepted", "command", "duplicate", "unknown_sender"):
        assert value("highlightd_sms_received_total", outcome=outcome) == 0
    for outcome in ("said", "duplicate", "undeliverable"):
        assert value("highlightd_replies_total", outcome=outcome) == 0
    assert value("highlightd_irc_connected", network=NETWORK) in (0, 1)
    for histogram in ("highlightd_irc_to_sms_seconds", "highlightd_sms_to_irc_seconds"):
        assert families[histogram].type == "histogram"
        assert value(histogram + "_count") == 0
        assert value(histogram + "_bucket", le="+Inf") == 0
    assert value("highlightd_build_info", version=__version__) == 1
    # The process and Python collectors, on our own registry.
    assert value("process_resident_memory_bytes") > 0
    assert "python_info" in families
    assert "python_gc_objects_collected" in families
    assert not [name for name, _ in samples if name.endswith("_created")]


async def test_an_answer_said_on_irc_is_one_webhook_to_irc_latency(
    tmp_path: Path,
    irc_server: IrcServer,
    redis_server: RedisServer,
    irc_client_factory: IrcClientFactory,
    fake_twilio: FakeTwilio,
) -> None:
    data = settings_dict(tmp_path, irc_server, redis_server.url, fake_twilio, web_port())
    settings = Settings(**data)
    await add_user(settings.storage.path, "alice", ALICE_PHONE)
    [bob] = await in_channel(irc_client_factory, "bob")
    async with running(settings) as hl:
        await wait_for_bot(bob)
        await hl.sms(f"{CHANNEL} on my way")
        await bob.expect_privmsg(from_nick=BOT, target=CHANNEL)
        await until_metric(hl, "highlightd_sms_to_irc_seconds_count", 1)
        async with hl.http.get(hl.base_url + "/metrics") as resp:
            text = await resp.text()
    counts = {
        s.name: s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name.endswith("_seconds_count")
    }
    assert counts == {
        "highlightd_irc_to_sms_seconds_count": 0,  # nobody was texted
        "highlightd_sms_to_irc_seconds_count": 1,
    }


async def test_a_highlight_texted_is_one_irc_to_sms_latency(
    tmp_path: Path,
    irc_server: IrcServer,
    redis_server: RedisServer,
    irc_client_factory: IrcClientFactory,
    fake_twilio: FakeTwilio,
) -> None:
    data = settings_dict(tmp_path, irc_server, redis_server.url, fake_twilio, web_port())
    settings = Settings(**data)
    await add_user(settings.storage.path, "alice", ALICE_PHONE)
    [bob] = await in_channel(irc_client_factory, "bob")
    async with running(settings) as hl:
        await wait_for_bot(bob)
        await bob.privmsg(CHANNEL, "alice: lunch?")
        await fake_twilio.wait_for_messages(1)
        await until_metric(hl, "highlightd_irc_to_sms_seconds_count", 1)
        async with hl.http.get(hl.base_url + "/metrics") as resp:
            text = await resp.text()
    counts = {
        s.name: s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name.endswith("_seconds_count")
    }
    assert counts["highlightd_irc_to_sms_seconds_count"] == 1
