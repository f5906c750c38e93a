"""The records the store keeps and hands out: plain values, shared by every side. Pure."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class User:
    id: int
    network: str
    nick: str
    phone: str
    created_at: float
    timezone: str | None = None
    quiet: str | None = None  # "22:00-07:00"
    paused_until: float | None = None
    opted_out: bool = False
    account: str | None = None  # the services account the registration is bound to
    paused_reason: str | None = None  # set when highlightd paused it, not the user


@dataclass(frozen=True, slots=True)
class HeldHighlight:
    id: int
    user_id: int
    channel: str
    sender: str
    text: str
    at: float
    until: float


@dataclass(frozen=True, slots=True)
class Highlight:
    """Who mentioned a user, and where: where a default SMS reply goes."""

    user_id: int
    channel: str
    sender: str
    at: float


@dataclass(frozen=True, slots=True)
class IncomingSms:
    sid: str
    from_phone: str
    body: str
    received_at: float


@dataclass(frozen=True, slots=True)
class Keyword:
    user_id: int
    word: str
    exception: bool


@dataclass(frozen=True, slots=True)
class Pending:
    """A registration waiting for its code."""

    network: str
    nick: str
    phone: str
    code_hash: str
    account: str | None
    expires: float
    tries: int


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    """An accepted answer the IRC side has not confirmed yet, and when it last went on the bus.

    `epoch` names the Redis it went to (its run id and data set): another one may not have it.
    """

    sms: IncomingSms
    published_at: float | None
    epoch: str | None


@dataclass(frozen=True, slots=True)
class OutgoingSms:
    """An SMS decided and not sent yet: a row of the outbox."""

    id: int
    user_id: int | None  # None: not for a registration (a bounced answer)
    phone: str
    body: str
    kind: str  # for the log: "highlight", "limit", "digest of 3", "bounce"
    segments: int
    decided_at: float  # the daemon's clock: what budgets and sms.max_delay count from
    # "pending": no attempt can have created it, send it; "sending": one may have,
    # look it up in Twilio's list before any new attempt.
    state: str  # and "failed": given up
    attempts: int
    first_try_at: float | None  # wall clock, as Twilio dates its messages
    next_at: float  # wall clock: when to try next
