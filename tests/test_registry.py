"""The command registry: one declaration gives a command its parser, usage, help and handler,
on IRC and by SMS, and the dispatchers run it with the right registrations."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from highlightd.core.commands import Args, NoArguments, Registry, Where
from highlightd.core.ircnames import nick_key
from highlightd.core.records import User
from highlightd.selfservice.commands import HELP, REGISTRY
from highlightd.selfservice.context import Asker, Command, Context
from highlightd.selfservice.dispatch import Desk, answer_irc, answer_sms
from highlightd.store import Store

PHONE = "+15551230001"
NOW = 1_800_000_000.0


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = await Store.open(tmp_path / "db.sqlite3")
    await store.users.add("testnet", "alice", nick_key("alice"), PHONE)
    await store.users.add("othernet", "alice", nick_key("alice"), PHONE)
    try:
        yield store
    finally:
        await store.close()


def asker(nick: str) -> Asker:
    return Asker("testnet", nick, None, "hlbot", False, str.lower)


def with_echo(ran: list[list[str]]) -> Registry[Command]:
    """The real commands plus ECHO, declared the one way any command is."""
    registry: Registry[Command] = Registry(REGISTRY)

    @registry.command("ECHO <text>", Where.IRC | Where.SMS, by_sms=lambda words: bool(words))
    @dataclass(frozen=True, slots=True)
    class Echo:
        """say the text back"""

        text: str

        @classmethod
        def parse(cls, args: Args) -> Echo:
            if not args.words:
                raise args.error()
            return cls(args.text)

        async def run(self, ctx: Context) -> list[str]:
            ran.append([f"{u.nick} on {u.network}" for u in ctx.users])
            return [f"{ctx.user.nick} said {self.text}"]

    return registry


async def test_one_declaration_is_all_a_new_command_needs(store: Store) -> None:
    ran: list[list[str]] = []
    registry = with_echo(ran)
    desk = Desk(store, gateway=None)

    async def alice() -> User | None:
        return await store.users.get("testnet", nick_key("alice"))

    answer = await answer_irc(
        desk, asker("alice"), "echo hi  there", NOW, find_user=alice, registry=registry
    )
    assert answer == ["alice said hi there"]
    assert ran == [["alice on testnet"]]
    usage = await answer_irc(desk, asker("alice"), "ECHO", NOW, find_user=alice, registry=registry)
    assert usage == ["usage: ECHO <text>"]

    # By SMS it acts for every registration of the phone, and answers with their state.
    assert await answer_sms(desk, PHONE, "Echo hi", NOW, registry) == [
        "highlightd: SMS on (alice on testnet, alice on othernet)"
    ]
    assert ran[-1] == ["alice on testnet", "alice on othernet"]
    assert await answer_sms(desk, PHONE, "echo", NOW, registry) is None  # an answer to relay

    assert registry.help_lines("echo") == ["ECHO <text> - say the text back; also works by SMS"]
    short = registry.help_lines(None)
    assert "ECHO <text>" in short[0] and "ECHO <text>" in short[1]
    assert "ECHO" not in REGISTRY.specs and "ECHO" not in HELP  # the real set is untouched


async def test_only_registered_senders_reach_a_handler(store: Store) -> None:
    ran: list[list[str]] = []
    registry = with_echo(ran)

    async def nobody() -> User | None:
        return None

    answer = await answer_irc(
        Desk(store, None), asker("bob"), "ECHO hi", NOW, find_user=nobody, registry=registry
    )
    assert answer == ["bob is not registered here; REGISTER <phone> first (HELP)"]
    assert ran == []


async def test_a_registration_bound_to_an_account_refuses_others(store: Store) -> None:
    user = await store.users.save("testnet", "alice", nick_key("alice"), PHONE, "alice_acct")

    async def alice() -> User | None:
        return user

    intruder = Asker("testnet", "alice", "mallory", "hlbot", False, str.lower)
    answer = await answer_irc(Desk(store, None), intruder, "PAUSE", NOW, find_user=alice)
    assert answer == ["refused: this registration belongs to the account alice_acct, not mallory"]
    after = await store.users.get("testnet", nick_key("alice"))
    assert after is not None and after.paused_until is None


async def test_irc_only_commands_by_sms_are_answers_to_relay(store: Store) -> None:
    for body in ["MUTE #chan", "KEYWORDS", "REGISTER +15551230002", "HELP", "QUIET OFF"]:
        assert await answer_sms(Desk(store, None), PHONE, body, NOW) is None


def test_a_command_is_declared_once_with_its_help() -> None:
    registry: Registry[Command] = Registry(REGISTRY)
    with pytest.raises(ValueError, match="PAUSE is declared twice"):

        @registry.command("PAUSE")
        class Again:
            """again"""

            @staticmethod
            def parse(args: Args) -> Again:
                return Again()

    with pytest.raises(ValueError, match="without a docstring"):

        @registry.command("NODOC")
        class NoDoc(NoArguments):
            pass  # NoArguments' docstring is not NODOC's help

    with pytest.raises(ValueError, match="without a docstring"):

        @registry.command("NODOC")
        @dataclass(frozen=True)
        class NoDocData(NoArguments):
            pass  # nor is the one dataclass writes


@pytest.mark.parametrize("name", sorted(HELP))
def test_help_is_the_declarations_docstring(name: str) -> None:
    spec = REGISTRY.specs[name]
    assert HELP[name] == REGISTRY.help_lines(name)[0]
    assert HELP[name].startswith(f"{spec.usage} - {spec.summary}")
    assert ("also works by SMS" in HELP[name]) == (Where.SMS in spec.where)
