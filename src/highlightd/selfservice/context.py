"""What a command's handler is given: the store, the time, the registrations it acts on,
and, when it came from IRC, who asked there."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from highlightd.core.codes import CodeRules
from highlightd.core.identity import refusal
from highlightd.core.records import User
from highlightd.sms.gateway import SmsGateway
from highlightd.store import Store


@dataclass(frozen=True, slots=True)
class Asker:
    """Who sent a private message, and what of their IRC network a command needs."""

    network: str
    nick: str
    account: str | None  # what the network says of the sender (see core.identity)
    own_nick: str  # the bot's nick there, for "/msg <bot> VERIFY <code>"
    require_account: bool
    fold: Callable[[str], str]  # the network's casemapping
    host: str | None = None  # the sender's host as the server shows it, when known
    channels: tuple[str, ...] | None = None  # where the bot is; None: not known
    # The sender renamed into this registered nick from another registration's: the
    # nick's registration is not theirs (core.identity).
    holds_anothers: bool = False

    def refused(self, bound_to: str | None, registering: bool = False) -> list[str] | None:
        """The answer when the sender may not act for this registration, else None."""
        reason = refusal(
            registering=registering,
            bound_to=bound_to,
            current=self.account,
            require_account=self.require_account,
            fold=self.fold,
        )
        return [f"refused: {reason}"] if reason else None


@dataclass(frozen=True, slots=True)
class Context:
    store: Store
    gateway: SmsGateway | None  # texts REGISTER's code; the web side has none
    now: float
    # The registrations the command acts on: on IRC the sender's (none before REGISTER),
    # by SMS every registration of the phone.
    users: list[User]
    asker: Asker | None  # None by SMS
    codes: CodeRules = field(default_factory=CodeRules)  # what REGISTER obeys

    @property
    def user(self) -> User:
        """The registration the answer speaks of (the sender's, on IRC)."""
        return self.users[0]

    @property
    def irc(self) -> Asker:
        """Who asked on IRC; only commands accepted on IRC alone may ask for it."""
        if self.asker is None:
            raise RuntimeError("an IRC-only command ran without an IRC asker")
        return self.asker


class Command(Protocol):
    """A parsed command: it runs in a context and answers with lines (NOTICEs on IRC)."""

    async def run(self, ctx: Context) -> list[str]: ...
