"""End to end: a channel whose prefix only the server's CHANTYPES vouch for ("+chan", ngircd)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fake_twilio import FakeTwilio
from harness import ALICE_PHONE, BOT, add_user, ask, running, settings_dict, until_metric, web_port
from highlightd.config import Settings
from servers import IrcClientFactory, IrcServer, RedisServer

pytestmark = pytest.mark.timeout(60)

PLUS = "+plus"  # ngircd announces CHANTYPES=#&+; "#&" is all a silent server is granted


async def test_plus_channel_can_be_muted_and_answered_to(
    tmp_path: Path,
    irc_server: IrcServer,
    redis_server: RedisServer,
    fake_twilio: FakeTwilio,
    irc_client_factory: IrcClientFactory,
) -> None:
    if irc_server.kind != "ngircd":
        pytest.skip("needs a server that announces + in CHANTYPES (ngircd)")
    data = settings_dict(tmp_path, irc_server, redis_server.url, fake_twilio, web_port())
    data["networks"][0]["channels"] = [PLUS]
    settings = Settings(**data)
    await add_user(settings.storage.path, "alice", ALICE_PHONE)
    alice, bob = await irc_client_factory("alice"), await irc_client_factory("bob")
    for client in (alice, bob):
        await client.join(PLUS)
    async with running(settings) as hl:
        await bob.expect(lambda line: line.command == "JOIN" and line.nick == BOT)

        assert await ask(alice, f"MUTE {PLUS}") == f"no SMS for highlights in {PLUS}"
        await bob.privmsg(PLUS, "alice: muted?")  # a channel line, and that channel is muted
        await until_metric(hl, 'decision="muted_channel"')
        assert await ask(alice, f"UNMUTE {PLUS}") == f"{PLUS} unmuted"

        await bob.privmsg(PLUS, "alice: there?")
        [sms] = await fake_twilio.wait_for_messages(1)
        assert sms.body == f"[{PLUS}] <bob> alice: there?"

        await hl.sms(f"{PLUS} on my way")
        line = await bob.expect_privmsg(from_nick=BOT, target=PLUS)
        assert line.text == "alice (SMS): on my way"
