"""What the IRC side hands the rest of the daemon, in the order the server sent it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class IrcMessage:
    """A PRIVMSG (or CTCP ACTION) someone sent; channel is "" for a private message."""

    network: str
    channel: str
    sender: str
    text: str
    at: float
    action: bool = False
    # The sender's services account as the network tells it: a name, "" for not
    # logged in, None when this network does not report accounts.
    account: str | None = None
    # The sender's host (nick!user@host) as the server shows it (often a cloak); None
    # when unknown. Verification codes are counted per host.
    host: str | None = None


@dataclass(frozen=True, slots=True)
class NickChange:
    network: str
    old: str
    new: str
    account: str | None = None  # the client's account, as for IrcMessage.account


@dataclass(frozen=True, slots=True)
class Quit:
    network: str
    nick: str


IrcEvent = IrcMessage | NickChange | Quit
