"""Sending the SMS that were decided: a durable outbox, retries, and never one SMS twice.

`send` writes the SMS to the outbox (store.outgoing) and returns: from then on it
counts against the budgets (the next decision sees it, a restart does not forget
it); if its phone is free, marked "sending" in that commit and its request started
at once, else the run task delivers it, retrying for up to `sms.max_delay`.

A failure that proves nothing was created (a 4xx saying so, a refused connection)
is retried as it is. One that does not (a 5xx, no answer, a broken or unreadable
one, a process killed before or in the request) leaves the SMS "sending": before any
new attempt it is looked up in Twilio's Messages list, and recorded if found. Each
phone's SMS go out one at a time and in order: two alike never claim one message.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable

from highlightd.config import SmsSettings
from highlightd.core.delivery import OPTED_OUT, retry_delay
from highlightd.core.phones import mask_phone
from highlightd.core.records import Highlight, OutgoingSms, User
from highlightd.core.smstext import segments
from highlightd.infra.metrics import Metrics
from highlightd.infra.retry import Backoff
from highlightd.sms.delivery import opt_out
from highlightd.sms.gateway import SentSms, SmsError, SmsGateway
from highlightd.sms.recording import SentRecorder
from highlightd.sms.spending import SpendBook
from highlightd.store import Store

log = logging.getLogger(__name__)

IDLE_LOOK = 60.0  # seconds between looks at the outbox when nothing wakes the sender
# How far Twilio's clock may be behind ours when matching a message to an attempt.
CLOCK_SLACK = 120.0


class Sender:
    """Delivers the outbox: each SMS once, through outages and restarts."""

    def __init__(
        self,
        store: Store,
        gateway: SmsGateway,
        metrics: Metrics,
        clock: Callable[[], float],
        settings: SmsSettings,
    ) -> None:
        self._store = store
        self._gateway = gateway
        self._metrics = metrics
        self._clock = clock  # the daemon's: decisions, budgets, sms.max_delay
        self._settings = settings
        # What is spent and on its way, for the decisions: every change to it is made here.
        self.book = SpendBook(store, clock)
        self._recorder = SentRecorder(store)  # what was sent, a moment's in one write
        self._wake = asyncio.Event()
        self._busy: set[str] = set()  # phones with an attempt under way
        self._skipped = False  # run's last look passed over a busy phone's SMS
        self._attempts: asyncio.TaskGroup | None = None  # run's, once it runs
        # Says once that Twilio is failing, and once that it is back.
        self._outage = Backoff("Twilio", log, settings.retry_delay, settings.retry_delay_max)

    async def send(
        self,
        user: User,
        body: str,
        kind: str,
        releasing: tuple[int, ...] = (),
        highlight: Highlight | None = None,
    ) -> None:
        """Send body to user: in the outbox now (with the held highlights it releases, and
        the highlight it is about: where the user's answers go), in one group commit."""
        at, count = self._clock(), segments(body)
        attempts = self._attempts
        if releasing or attempts is None or user.phone in self._busy:
            sms_id = await self._store.outgoing.add(
                user.id, user.phone, body, kind, count, at, releasing, highlight
            )
            self.book.decided(sms_id, user.id, at, count)
            self._wake.set()
            return
        self._busy.add(user.phone)  # reserved before the commit: run leaves it to us
        trying_at = time.time()
        try:
            sms_id, trying = await self._store.outgoing.add_trying(
                user.id, user.phone, body, kind, count, at, highlight, trying_at
            )
        except BaseException:
            self._busy.discard(user.phone)
            raise
        self.book.decided(sms_id, user.id, at, count)
        if not trying:  # after an older SMS to the phone, or dropped (a STOP since): by run
            self._busy.discard(user.phone)
            self._wake.set()
            return
        sms = OutgoingSms(
            sms_id, user.id, user.phone, body, kind, count, at, "sending", 0, trying_at, 0
        )
        attempts.create_task(self._attempt(sms, user))

    async def bounce(self, phone: str, text: str) -> None:
        """Tell a registered user by SMS why their answer went nowhere (one segment)."""
        at, count = self._clock(), segments(text)
        sms_id = await self._store.outgoing.add(None, phone, text, "bounce", count, at)
        self.book.decided(sms_id, None, at, count)
        self._wake.set()

    async def run(self) -> None:
        try:
            async with asyncio.TaskGroup() as attempts:
                self._attempts = attempts
                while True:
                    self._wake.clear()
                    try:
                        wait = await self._start_due(attempts)
                    except Exception:
                        log.exception("SMS outbox unreadable; looking again in %.0f s", IDLE_LOOK)
                        wait = IDLE_LOOK
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(wait):
                            await self._wake.wait()
        finally:
            self._attempts = None  # what send puts in the outbox waits for the next run
            await self._recorder.idle()  # before the store closes

    async def _start_due(self, attempts: asyncio.TaskGroup) -> float:
        """Start an attempt for each due SMS whose phone is free; seconds until the next."""
        now = time.time()
        self._skipped = False
        due, waiting, next_try = await self._store.outgoing.look(now)
        for sms in due:
            if sms.phone in self._busy:
                self._skipped = True  # its attempt wakes run when it ends
                continue
            self._busy.add(sms.phone)
            attempts.create_task(self._attempt(sms))
        self._metrics.sms_waiting.set(waiting)
        return IDLE_LOOK if next_try is None else min(max(next_try - now, 0.0), IDLE_LOOK)

    async def _attempt(self, listed: OutgoingSms, marked: User | None = None) -> None:
        """One attempt, in a boundary of its own: a failure is logged, the others go on."""
        sms = listed
        quiet = False  # sent, and nothing passed over meanwhile: no need for run to look
        try:
            if marked is not None:  # its user: marked "sending" as it went in the outbox
                quiet = await self._request(sms, marked)
                return
            # Read again: the list may predate the end of the phone's last attempt.
            fresh = await self._store.outgoing.get(listed.id)
            if fresh is None or fresh.state == "failed" or fresh.next_at > time.time():
                return
            if (fresh.phone, fresh.decided_at, fresh.body) != (
                listed.phone,
                listed.decided_at,
                listed.body,
            ):
                return  # sent since, and its id taken by a newer SMS: not ours to try
            sms = fresh
            await self._deliver(sms)
        except Exception:
            s = self._settings
            delay = retry_delay(sms.attempts + 1, s.retry_delay, s.retry_delay_max)
            log.exception(
                "SMS %d (%s) to %s: unexpected failure; trying again in %.1f s",
                sms.id, sms.kind, mask_phone(sms.phone), delay,
            )  # fmt: skip
            await asyncio.sleep(delay)  # the phone stays busy: no tight loop on a bug
        finally:
            self._busy.discard(listed.phone)  # the phone reserved for this attempt
            if not quiet or self._skipped:  # a look per SMS was a third of its database jobs
                self._wake.set()

    async def _deliver(self, sms: OutgoingSms) -> None:
        user = await self._store.users.by_id(sms.user_id) if sms.user_id is not None else None
        expired = self._clock() - sms.decided_at >= self._settings.max_delay
        if sms.state == "sending":
            try:
                found = await self._look_up(sms)
            except SmsError as exc:
                await self._not_now(sms, "sending", exc, expired)
                return
            if found is not None:
                await self._sent(sms, user, found, "found in Twilio's list after an unclear answer")
                return
        if user is not None and not _wants_sms(user, self._clock()):
            await self._fail(sms, "opted out or paused before it went out")
            log.info(
                "SMS %d (%s) to %s dropped: opted out or paused",
                sms.id,
                sms.kind,
                mask_phone(sms.phone),
            )
            return
        if expired:
            await self._give_up(sms, "no attempt went through", maybe_sent=False)
            return
        await self._store.outgoing.trying(sms.id, time.time())
        await self._request(sms, user)

    async def _request(self, sms: OutgoingSms, user: User | None) -> bool:
        """The request, once the SMS is marked "sending" (committed); whether it was sent."""
        try:
            sent = await self._gateway.send(sms.phone, sms.body)
        except SmsError as exc:
            await self._failed(sms, user, exc)
            return False
        await self._sent(sms, user, sent, None)
        return True

    async def _fail(self, sms: OutgoingSms, why: str) -> None:
        """Given up: kept in the outbox for the record, no longer counted."""
        await self._store.outgoing.fail(sms.id, why)
        self.book.dropped(sms.id)

    async def _look_up(self, sms: OutgoingSms) -> SentSms | None:
        """The message an earlier attempt created, if any, and not another SMS's."""
        since = (sms.first_try_at or time.time()) - CLOCK_SLACK
        candidates = await self._gateway.find_sent(sms.phone, sms.body, since)
        known = await self._store.outgoing.known([c.sid for c in candidates])
        return next((c for c in candidates if c.sid not in known), None)

    async def _failed(self, sms: OutgoingSms, user: User | None, exc: SmsError) -> None:
        if exc.retryable or exc.may_have_sent:
            # Retryable: nothing was created. Otherwise it may have been: look first.
            state = "pending" if exc.retryable else "sending"
            expired = self._clock() - sms.decided_at >= self._settings.max_delay
            await self._not_now(sms, state, exc, expired and exc.retryable)
            return
        if exc.code == OPTED_OUT:
            # First: once the failure shows (the outbox, the metric), the opt-out is
            # committed, and the next line is decided with it (decisions read memory,
            # kept in step with each commit, and no longer wait behind the database).
            await opt_out(self._store, sms.phone, "Twilio refused to send: error 21610")
        await self._fail(sms, str(exc))
        # Counted once its consequences are stored: whoever waits on the count (a test,
        # an alert) sees the opt-out and the failed row too.
        self._metrics.sms_sent.labels("failed").inc()
        if exc.code != OPTED_OUT:
            log.warning(
                "SMS %d (%s) to %s failed: %s (code %s)",
                sms.id, sms.kind, mask_phone(sms.phone), exc, exc.code,
            )  # fmt: skip

    async def _not_now(self, sms: OutgoingSms, state: str, exc: SmsError, expired: bool) -> None:
        """A passing failure: try again later, unless sms.max_delay has passed."""
        self._outage.failed(exc)
        if expired:
            await self._give_up(sms, str(exc), maybe_sent=state == "sending")
            return
        s = self._settings
        # Spread: the phones that failed together do not all try again together, and
        # the first to get through brings the others forward (_sent).
        delay = retry_delay(sms.attempts + 1, s.retry_delay, s.retry_delay_max)
        delay *= random.uniform(0.5, 1.0)
        await self._store.outgoing.later(sms.id, state, time.time() + delay, str(exc))
        log.debug("SMS %d to %s: %s; next try in %.1f s", sms.id, mask_phone(sms.phone), exc, delay)

    async def _give_up(self, sms: OutgoingSms, why: str, maybe_sent: bool) -> None:
        self._metrics.sms_sent.labels("expired").inc()
        await self._fail(sms, why)
        log.warning(
            "SMS %d (%s) to %s not sent within sms.max_delay (%g s): %s; given up%s",
            sms.id, sms.kind, mask_phone(sms.phone), self._settings.max_delay, why,
            " (it may have been sent)" if maybe_sent else "",
        )  # fmt: skip

    async def _sent(
        self, sms: OutgoingSms, user: User | None, sent: SentSms, how: str | None
    ) -> None:
        # Said and counted at Twilio's answer, before the record (up to recording.LINGER).
        if log.isEnabledFor(logging.INFO):  # masking the phone costs: only when logged
            whose = f" for {user.nick} on {user.network}" if user is not None else ""
            log.info(
                "SMS %s (%s, %d segment(s)) to %s%s%s", sent.sid, sms.kind, sms.segments,
                mask_phone(sms.phone), whose, f": {how}" if how else "",
            )  # fmt: skip
        self._metrics.sms_sent.labels("sent").inc()
        now = self._clock()
        await self._recorder.record(sms, sent.sid, sent.status, now)
        self.book.sent(sms.id, sent.sid, sms.user_id, now, sms.segments)
        if sms.kind == "highlight":  # decided on the line it is about
            self._metrics.observe_irc_to_sms(sms.decided_at, now)
        if self._outage.down:
            # Twilio answers again: what waits for its next try need not wait longer.
            self._outage.succeeded()
            await self._store.outgoing.retry_now()
            self._wake.set()


def _wants_sms(user: User, now: float) -> bool:
    return not user.opted_out and not (user.paused_until is not None and now < user.paused_until)
