"""Running a command from either side: a private message on IRC, or an SMS."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from highlightd.core.codes import CodeRules
from highlightd.core.commands import CommandError, Registry
from highlightd.core.ircnames import DEFAULT_CHANTYPES
from highlightd.core.records import User
from highlightd.core.smstext import fit
from highlightd.core.status import state_of
from highlightd.selfservice.commands import REGISTRY
from highlightd.selfservice.context import Asker, Command, Context
from highlightd.sms.gateway import SmsGateway
from highlightd.store import Store


@dataclass(frozen=True, slots=True)
class Desk:
    """What commands work with, whichever side they came from."""

    store: Store
    gateway: SmsGateway | None  # texts REGISTER's code; None where no SMS is sent (web)
    codes: CodeRules = field(default_factory=CodeRules)  # where, how many codes REGISTER texts


async def answer_irc(
    desk: Desk,
    asker: Asker,
    text: str,
    now: float,
    *,
    find_user: Callable[[], Awaitable[User | None]],
    region: str | None = None,
    chantypes: str = DEFAULT_CHANTYPES,
    registry: Registry[Command] = REGISTRY,
) -> list[str]:
    """The answer to a private message to the bot, as NOTICE lines.

    find_user looks up the sender's registration, asked only for commands that need one.
    """
    try:
        spec, command = registry.read_irc(text, region, chantypes)
    except CommandError as exc:
        return [str(exc)]
    users: list[User] = []
    if not spec.anyone:
        user = await find_user()
        if user is None and asker.holds_anothers:
            return [
                f"refused: you came to the nick {asker.nick} from another registration's "
                "nick; its registration is not yours"
            ]
        if user is None:
            return [f"{asker.nick} is not registered here; REGISTER <phone> first (HELP)"]
        if refused := asker.refused(user.account):
            return refused
        users.append(user)
    try:
        return await command.run(Context(desk.store, desk.gateway, now, users, asker, desk.codes))
    except CommandError as exc:
        return [str(exc)]


async def answer_sms(
    desk: Desk, phone: str, body: str, now: float, registry: Registry[Command] = REGISTRY
) -> list[str] | None:
    """The answer to an SMS command from a registered phone; None when body is no command.

    A command by SMS acts on every registration of the phone, and is answered with
    the state it leaves them in, in one segment: SMS cost money and have no room.
    """
    try:
        read = registry.read_sms(body)
    except CommandError as exc:
        return [fit(f"highlightd: {exc}")]
    if read is None:
        return None
    _spec, command = read
    users = await desk.store.users.by_phone(phone)
    if users:
        await command.run(Context(desk.store, desk.gateway, now, users, None))
    fresh = await desk.store.users.by_phone(phone)
    if not fresh:
        return []
    names = ", ".join(f"{u.nick} on {u.network}" for u in fresh)
    # No masked phone here: its dots are not GSM-7, and would halve what fits.
    return [fit(f"highlightd: {state_of(fresh[0], now)} ({names})")]
