"""How many verification codes may go out, and to whom: the limits, and which one is hit. Pure.

A code costs an SMS and lands on someone's phone, so it has a budget of its own
(never the highlights' segments), counted over the last 24 hours:

- everyone together: `total` (policy.daily_codes);
- one requester (the same nick, services account or host on a network): `per_nick`,
  `per_account`, `per_host` codes to any phones;
- one phone: `per_phone_requester` codes asked by one requester, and `per_phone` from
  everyone. What strangers ask for a phone does not spend its owner's share: one
  requester alone can never use up a phone's codes, and `per_phone` (the bound on how
  often a phone can be bothered) takes requests from several hosts.
"""

from __future__ import annotations

from dataclasses import dataclass

DAY = 86400.0


@dataclass(frozen=True, slots=True)
class CodeLimits:
    total: int = 50
    per_phone: int = 10
    per_phone_requester: int = 3
    per_nick: int = 3
    per_account: int = 3
    per_host: int = 10


@dataclass(frozen=True, slots=True)
class CodeRules:
    """Everything REGISTER obeys before texting a code."""

    limits: CodeLimits = CodeLimits()
    regions: frozenset[str] = frozenset()  # countries codes may go to; empty: any
    timezone: str = "UTC"  # for "a code was sent at 14:05 UTC"


@dataclass(frozen=True, slots=True)
class CodeCounts:
    """Codes sent in the last 24 hours, counted the ways the limits need."""

    total: int = 0
    phone: int = 0  # to this phone, asked by anyone
    phone_requester: int = 0  # to this phone, asked by this nick, account or host
    nick: int = 0
    account: int = 0  # 0 when the account is not known
    host: int = 0  # 0 when the host is not known


@dataclass(frozen=True, slots=True)
class Requester:
    """Who asked for a code: a nick, and what the network told of them."""

    nick: str
    account: str | None  # services account, when logged in and the network says so
    host: str | None


def over_limit(
    counts: CodeCounts, limits: CodeLimits, phone_mask: str, who: Requester
) -> str | None:
    """The answer when another code would pass a limit, else None (a code may go)."""
    if limits.total == 0:
        return "REGISTER is turned off here; ask the operator"
    if counts.phone_requester >= limits.per_phone_requester:
        return f"{phone_mask} had {limits.per_phone_requester} codes today; try tomorrow"
    if counts.nick >= limits.per_nick:
        return f"{who.nick} asked for {limits.per_nick} codes today; try tomorrow"
    if who.account and counts.account >= limits.per_account:
        return f"account {who.account} asked for {limits.per_account} codes today; try tomorrow"
    if who.host and counts.host >= limits.per_host:
        return f"your host asked for {limits.per_host} codes today; try tomorrow"
    if counts.phone >= limits.per_phone:
        return (
            f"{phone_mask} had {limits.per_phone} codes today, asked by several people; "
            "try tomorrow, or ask the operator"
        )
    if counts.total >= limits.total:
        return "no more codes today: the daily limit for everyone is reached; try tomorrow"
    return None
