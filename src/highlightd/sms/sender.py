"""Sending the SMS that were decided: retries, the budget in flight, and the record of each.

`send` takes a decided SMS and returns at once: its cost counts against the
budget from that moment (the next decision sees it), and it goes out in a task
of its own, so that a slow or retried send never holds up the lines behind it.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass

from highlightd.core.facts import InFlight
from highlightd.core.phones import mask_phone
from highlightd.core.records import User
from highlightd.core.smstext import segments
from highlightd.infra.metrics import Metrics
from highlightd.infra.retry import Backoff
from highlightd.sms.gateway import SentSms, SmsError, SmsGateway
from highlightd.store import Store

log = logging.getLogger(__name__)

SEND_ATTEMPTS = 5
FIRST_RETRY = 1.0  # seconds; doubling: 1, 2, 4, 8
OPTED_OUT_ERROR = 21610  # Twilio: "Attempt to send to unsubscribed recipient"


@dataclass(frozen=True, slots=True)
class _Send:
    ticket: int
    user: User
    body: str
    kind: str  # for the log: "highlight", "limit", "digest of 3"
    cost: int
    at: float  # when it was decided


class Sender:
    """Sends SMS to registered users, keeping what is decided but not yet recorded."""

    def __init__(
        self, store: Store, gateway: SmsGateway, metrics: Metrics, clock: Callable[[], float]
    ) -> None:
        self._store = store
        self._gateway = gateway
        self._metrics = metrics
        self._clock = clock
        self._queue: asyncio.Queue[_Send] = asyncio.Queue()
        self._flying: dict[int, _Send] = {}
        self._tickets = itertools.count(1)

    async def send(self, user: User, body: str, kind: str) -> None:
        """Send body to user: counted against the budget now, sent in the background."""
        job = _Send(next(self._tickets), user, body, kind, segments(body), self._clock())
        self._flying[job.ticket] = job
        self._queue.put_nowait(job)

    def in_flight(self, user_id: int) -> InFlight:
        """What is decided but not recorded yet: the user's latest and cost, everyone's cost."""
        mine = [job for job in self._flying.values() if job.user.id == user_id]
        return InFlight(
            last_at=max((job.at for job in mine), default=None),
            user_segments=sum(job.cost for job in mine),
            all_segments=sum(job.cost for job in self._flying.values()),
        )

    async def run(self) -> None:
        async with asyncio.TaskGroup() as sends:
            while True:
                job = await self._queue.get()
                sends.create_task(self._deliver(job))

    async def bounce(self, phone: str, text: str) -> None:
        """Tell a registered user by SMS why their answer went nowhere (one segment)."""
        try:
            sent = await self._gateway.send(phone, text)
            await self._store.sent.record(
                sent.sid, None, phone, sent.status, segments(text), at=self._clock()
            )
        except SmsError as exc:
            log.warning(
                "could not tell %s about an undeliverable reply: %s", mask_phone(phone), exc
            )

    async def _deliver(self, job: _Send) -> None:
        """One send, in a boundary of its own: a failure is logged, the others go on."""
        try:
            await self._deliver_one(job)
        except Exception:
            log.exception(
                "SMS (%s) to %s for %s/%s: unexpected failure",
                job.kind,
                mask_phone(job.user.phone),
                job.user.network,
                job.user.nick,
            )
        finally:
            # Recorded, or not sent at all: either way no longer in flight.
            self._flying.pop(job.ticket, None)

    async def _deliver_one(self, job: _Send) -> None:
        user = job.user
        try:
            sent = await self._with_retries(user.phone, job.body)
        except SmsError as exc:
            self._metrics.sms_sent.labels("failed").inc()
            if exc.code == OPTED_OUT_ERROR:
                await self._opted_out(user)
            else:
                log.warning("SMS to %s failed: %s (code %s)", mask_phone(user.phone), exc, exc.code)
            return
        self._metrics.sms_sent.labels("sent").inc()
        await self._store.sent.record(
            sent.sid, user.id, user.phone, sent.status, job.cost, at=self._clock()
        )
        log.info(
            "SMS %s (%s, %d segment(s)) to %s for %s on %s",
            sent.sid,
            job.kind,
            job.cost,
            mask_phone(user.phone),
            user.nick,
            user.network,
        )

    async def _with_retries(self, phone: str, body: str) -> SentSms:
        """Send, retrying only what cannot have been sent (SmsError.retryable)."""
        backoff = Backoff(f"Twilio (SMS to {mask_phone(phone)})", log, FIRST_RETRY, cap=8.0)
        attempt = 1
        while True:
            try:
                sent = await self._gateway.send(phone, body)
            except SmsError as exc:
                if not exc.retryable or attempt == SEND_ATTEMPTS:
                    raise
                attempt += 1
                await backoff.wait(exc)
            else:
                backoff.succeeded()
                return sent

    async def _opted_out(self, user: User) -> None:
        # The carrier says this number answered STOP: honour it as our own STOP. The
        # IRC side sees it at its next look at the store (before the next line).
        await self._store.users.set_opted_out(user.phone, True)
        log.info(
            "%s opted out (Twilio error %d): no more SMS until START",
            mask_phone(user.phone),
            OPTED_OUT_ERROR,
        )
