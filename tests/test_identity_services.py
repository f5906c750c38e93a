"""Whose highlights a nick reaches on a network with accounts (InspIRCd + Atheme): the
account decides, wherever the network tells it (account-tag, account-notify,
extended-join, WHOX), and away-notify spares the WHO for /away."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pytest

from fake_twilio import FakeTwilio
from harness import (
    ALICE_PHONE,
    NETWORK,
    Highlightd,
    running,
    settings_dict,
    until_metric,
    wait_for_bot,
    web_port,
)
from highlightd.config import Settings
from highlightd.core.ircnames import nick_key
from highlightd.irc.network import Network
from highlightd.store import Store
from scene import settled
from servers import IrcServer, IrcTestClient, RedisServer
from services import Account, ServicesClients, ServicesNetwork
from tls_proxy import TlsRecordingProxy
from waiting import eventually

pytestmark = pytest.mark.timeout(90)

MALLORY_PHONE = "+12015550666"
DECOY_PHONE = "+12015550777"


@dataclass
class Services:
    """highlightd on the services network over TLS (our private CA), through a proxy that
    records what it sends."""

    hl: Highlightd
    net: ServicesNetwork
    connect: ServicesClients
    twilio: FakeTwilio
    proxy: TlsRecordingProxy
    channel: str
    bot: str
    bob: IrcTestClient

    @property
    def network(self) -> Network:
        assert self.hl.daemon.irc is not None
        return self.hl.daemon.irc.networks[NETWORK]

    async def client(self, nick: str, account: Account | None = None) -> IrcTestClient:
        """A client in the channel, once the bot sees it there."""
        client = await self.connect(nick, account=account)
        await client.join(self.channel)
        key = self.network.fold(nick)
        await eventually(
            lambda: self.network.present(self.channel),
            lambda present: key in present,
            what=f"the bot to see {nick} in {self.channel}",
        )
        return client

    async def ask(self, client: IrcTestClient, text: str) -> str:
        await client.privmsg(self.bot, text)
        line = await client.expect(lambda line: line.command == "NOTICE" and line.nick == self.bot)
        return line.text

    async def renamed(self, client: IrcTestClient, new: str) -> None:
        old = client.nick
        await client.send_raw(f"NICK {new}")
        await self.bob.expect(lambda line: line.command == "NICK" and line.nick == old)
        client.nick = new

    def sent_lines(self, command: str) -> list[str]:
        """The lines the bot sent with this command, as the server received them."""
        lines = [line for connection in self.proxy.connections for line in connection]
        return [line for line in lines if line.upper().startswith(command + " ")]


ServicesScene = Callable[..., contextlib.AbstractAsyncContextManager[Services]]


@pytest.fixture
def services_scene(
    tmp_path: Path,
    services_network: ServicesNetwork,
    services_client: ServicesClients,
    redis_server: RedisServer,
    fake_twilio: FakeTwilio,
) -> ServicesScene:
    @contextlib.asynccontextmanager
    async def start(
        users: Mapping[str, tuple[str, str | None]],
        policy: Mapping[str, Any] | None = None,
        network: Mapping[str, Any] | None = None,
    ) -> AsyncIterator[Services]:
        """users: nick -> (phone, services account the registration is bound to)."""
        net = services_network
        assert net.server_cert is not None
        proxy = TlsRecordingProxy(
            (net.host, net.tls_port), net.server_cert.cert, net.server_cert.key, net.ca_file
        )
        await proxy.start()
        channel, bot = "#" + services_network.unique("chan"), services_network.unique("hl")
        # settings_dict reads only .host and .port of the server it is given.
        data = settings_dict(
            tmp_path,
            cast(IrcServer, proxy),
            redis_server.url,
            fake_twilio,
            web_port(),
            **(policy or {}),
        )
        data["networks"][0].update(
            nick=bot,
            channels=[channel],
            tls=True,
            tls_ca_file=str(net.ca_file),
            **(network or {}),
        )
        settings = Settings(**data)
        store = await Store.open(settings.storage.path)
        try:
            for nick, (phone, account) in users.items():
                await store.users.save(NETWORK, nick, nick_key(nick), phone, account)
        finally:
            await store.close()
        bob = await services_client(services_network.unique("bob"))
        await bob.join(channel)
        try:
            async with running(settings) as hl:
                await wait_for_bot(bob, channel, bot)
                yield Services(
                    hl, services_network, services_client, fake_twilio, proxy, channel, bot, bob
                )
        finally:
            await proxy.stop()

    return start


@dataclass
class Cast:
    """alice and mallory, each with a NickServ account, and their nicks."""

    alice: str
    alice_account: Account
    mallory: str
    mallory_account: Account

    def users(self, **more: tuple[str, str | None]) -> dict[str, tuple[str, str | None]]:
        return {
            self.alice: (ALICE_PHONE, self.alice_account.name),
            self.mallory: (MALLORY_PHONE, self.mallory_account.name),
            **more,
        }


@pytest.fixture
async def cast_(services_network: ServicesNetwork) -> Cast:
    net = services_network
    return Cast(
        net.unique("alice"), await net.register("alice"), net.unique("mal"), await net.register()
    )


async def test_mallorys_phone_gets_nothing_for_alice_after_nick(
    services_scene: ServicesScene, cast_: Cast
) -> None:
    async with services_scene(cast_.users()) as s:
        mallory = await s.client(cast_.mallory, cast_.mallory_account)
        await s.renamed(mallory, cast_.alice)  # alice is offline
        await s.bob.privmsg(s.channel, f"{cast_.alice}: the door code is 4321")
        await s.twilio.wait_for_messages(1)
        [sms] = await settled(s.hl, s.twilio, send=1)
        assert sms.to == ALICE_PHONE


async def test_a_rename_under_another_account_texts_only_the_new_nicks_owner(
    services_scene: ServicesScene, cast_: Cast
) -> None:
    decoy = cast_.mallory + "d"  # registered, offline
    async with services_scene(cast_.users(**{decoy: (DECOY_PHONE, None)})) as s:
        # mallory, logged in as mallory, holds nick alice and renames to the decoy.
        mallory = await s.client(cast_.alice, cast_.mallory_account)
        await s.renamed(mallory, decoy + "x")
        await s.bob.privmsg(s.channel, f"{decoy}x: psst")
        await s.bob.privmsg(s.channel, f"{decoy}: and you")
        await s.bob.privmsg(s.channel, f"{cast_.alice}: marker")
        await s.twilio.wait_for_messages(2)
        messages = await settled(s.hl, s.twilio, send=2)
        assert sorted(m.to for m in messages) == sorted([ALICE_PHONE, DECOY_PHONE])


async def test_mallory_talking_as_alice_does_not_make_alice_active(
    services_scene: ServicesScene, cast_: Cast
) -> None:
    async with services_scene(cast_.users(), policy={"active_window": 300}) as s:
        mallory = await s.client(cast_.alice, cast_.mallory_account)
        await mallory.privmsg(s.channel, "morning all")
        await s.bob.expect(lambda line: line.text == "morning all")
        await s.bob.privmsg(s.channel, f"{cast_.alice}: are you there?")
        await s.twilio.wait_for_messages(1)
        [sms] = await settled(s.hl, s.twilio, send=1)
        assert sms.to == ALICE_PHONE


async def test_require_account_refuses_the_logged_out_and_sees_a_later_login(
    services_scene: ServicesScene, services_network: ServicesNetwork
) -> None:
    account = await services_network.register("late")
    async with services_scene({}, network={"require_account": True}) as s:
        nick = services_network.unique("late")
        late = await s.client(nick)
        refused = await s.ask(late, f"REGISTER {ALICE_PHONE}")
        assert refused.startswith("refused:") and "logged in to services" in refused
        assert s.network.account_of(nick) == ""
        await late.privmsg("NickServ", f"IDENTIFY {account.name} {account.password}")
        # account-notify: the bot learns of the login without asking anything.
        await eventually(
            lambda: s.network.account_of(nick),
            lambda seen: seen == account.name,
            what=f"the bot to see {nick} logged in as {account.name}",
        )
        assert "I texted a code" in await s.ask(late, f"REGISTER {ALICE_PHONE}")
        assert [line for line in s.sent_lines("WHOIS") if nick in line] == []


async def test_away_notify_texts_an_away_user_without_a_who(
    services_scene: ServicesScene, cast_: Cast
) -> None:
    async with services_scene(cast_.users(), policy={"active_window": 300}) as s:
        alice = await s.client(cast_.alice, cast_.alice_account)
        await alice.privmsg(s.channel, "morning all")
        await s.bob.privmsg(s.channel, f"{cast_.alice}: you see this anyway")
        await until_metric(s.hl, 'decision="active"')
        await alice.send_raw("AWAY :lunch")
        await alice.expect(lambda line: line.command == "306")
        await s.bob.privmsg(s.channel, f"{cast_.alice}: now you are away")
        [sms] = await s.twilio.wait_for_messages(1)
        assert sms.body.endswith("now you are away")
        await settled(s.hl, s.twilio, active=1, send=1)
        # One WHOX for the channel at JOIN; no WHO about anyone.
        assert s.sent_lines("WHO") == [f"WHO {s.channel} %tcuhnfa,71"]


async def test_the_registrations_account_moves_and_ends_it_without_the_old_phone(
    services_scene: ServicesScene, cast_: Cast
) -> None:
    async with services_scene(cast_.users()) as s:
        alice = await s.client(cast_.alice, cast_.alice_account)
        answer = await s.ask(alice, f"REGISTER {MALLORY_PHONE}")  # her new phone
        assert answer.startswith("I texted a code to +1•••••0666")
        [sms] = await s.twilio.wait_for_messages(1)
        assert sms.to == MALLORY_PHONE  # the new phone proves itself; her account consents
        code = re.search(r"\b(\d{6})\b", sms.body)
        assert code is not None
        assert (await s.ask(alice, f"VERIFY {code[1]}")).startswith("done:")
        assert await s.ask(alice, "UNREGISTER") == f"{cast_.alice} is unregistered; no more SMS"
        assert len(s.twilio.messages) == 1
