"""The bus consumer: says SMS answers on IRC once they can be delivered, then confirms them.

An answer is routed when its network is connected and knows who is in its channels,
so `carol: text` reaches carol when she is there, whatever the link did meanwhile.
Answers wait in order, one lane per network: a network that is down holds up only
its own. What cannot be said (a nick or channel the server refuses, a network down
longer than `relay.max_delay`) is bounced: one SMS back saying why. Either way the
outcome is recorded in the store before it is confirmed on the bus, so a copy of
the answer (the accepting side re-publishes what it has not seen confirmed) is
confirmed again, never said twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping

from highlightd.config import RelaySettings
from highlightd.core.phones import mask_phone
from highlightd.core.smstext import fit
from highlightd.infra.bus import REDIS_DOWN, Bus, Reply
from highlightd.infra.consumer import Consumer
from highlightd.infra.guard import guard
from highlightd.infra.metrics import Metrics
from highlightd.infra.retry import Backoff
from highlightd.irc.answerlane import AnswerLane, Taken
from highlightd.irc.delivery import DeliveryRefused
from highlightd.irc.network import Network
from highlightd.irc.routing import EMPTY, Delivery, route
from highlightd.store import Store
from highlightd.store.relayed import Lookup

log = logging.getLogger(__name__)

Bounce = Callable[[str, str], Awaitable[None]]
# Said records outlive any re-publication of the same answer by far.
FORGET_AFTER = 30 * 24 * 3600
# Once routed on a connected network, a send may wait this long for a dropped link.
SEND_GRACE = 60.0
CONFIRM_EVERY = 50


class _TooLate(Exception):
    """The answer's network stayed unreachable past relay.max_delay."""

    def __init__(self, network: str) -> None:
        super().__init__(network)
        self.network = network


class Relay:
    def __init__(
        self,
        bus: Bus,
        store: Store,
        networks: Mapping[str, Network],
        metrics: Metrics,
        bounce: Bounce,
        settings: RelaySettings,
    ) -> None:
        self._bus = bus
        self._store = store
        self._networks = networks
        self._metrics = metrics
        self._bounce = bounce
        self._settings = settings
        self._backoff = Backoff("redis (relay)", log)
        self._consumer: Consumer | None = None
        self._lanes: dict[str, AnswerLane] = {}
        # Answers taken and not done yet: by MessageSid, and their entries.
        self._sids: set[str] = set()
        self._entries: set[str] = set()
        # While a read batch is being taken: the answers done meanwhile, whose lookup
        # from before may say "not said" of what was just said.
        self._done_meanwhile: set[str] | None = None
        self._started = time.time()

    async def run(self) -> None:
        name = self._settings.consumer or await self._store.relayed.consumer_name()
        self._consumer = Consumer(self._bus.client, name)
        await self._store.relayed.forget_before(time.time() - FORGET_AFTER)
        log.info("relay: reading answers as consumer %s", name)
        async with asyncio.TaskGroup() as lanes:
            await self._read(self._consumer, lanes)

    async def _read(self, consumer: Consumer, lanes: asyncio.TaskGroup) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                # What we had taken but not acknowledged when we stopped comes first,
                # then what a consumer that is gone left behind.
                after = "0"
                while batch := await consumer.pending(after):
                    await self._take_all(batch, lanes)
                    after = batch[-1].entry_id
                await self._claim(consumer, lanes)
                claimed = loop.time()
                self._backoff.succeeded()
                every = self._settings.claim_after / 2
                while True:
                    await self._take_all(await consumer.next(block=every), lanes)
                    if loop.time() - claimed >= every:
                        await self._claim(consumer, lanes)
                        claimed = loop.time()
                    self._backoff.succeeded()
            except REDIS_DOWN as exc:
                await self._backoff.wait(exc)

    async def _claim(self, consumer: Consumer, lanes: asyncio.TaskGroup) -> None:
        start = "0-0"
        while True:
            start, batch = await consumer.claim(self._settings.claim_after, start)
            await self._take_all(batch, lanes)
            if start == "0-0":
                return

    async def _take_all(self, batch: list[Reply], lanes: asyncio.TaskGroup) -> None:
        """`_take` each answer read, their lookups in one trip to the store."""
        new = [r for r in batch if r.entry_id not in self._entries and r.sid not in self._sids]
        found: dict[str, Lookup] = {}
        done: set[str] = set()
        self._done_meanwhile = done
        try:
            with contextlib.suppress(Exception):  # then each looks itself up, and logs why
                if new:
                    lookups = await self._look_up_many(new)
                    found = dict(zip([r.entry_id for r in new], lookups, strict=True))
            for reply in batch:
                # A copy of an answer said since the lookup looks again: it sees the record.
                lookup = None if reply.sid in done else found.get(reply.entry_id)
                await self._take(reply, lanes, lookup)
        finally:
            self._done_meanwhile = None

    async def _take(self, reply: Reply, lanes: asyncio.TaskGroup, lookup: Lookup | None) -> None:
        """Put an answer in its network's lane, unless it is in hand or done already."""
        assert self._consumer is not None
        if reply.entry_id in self._entries:
            return  # ours, waiting in a lane: claimed back by our own XAUTOCLAIM
        if reply.sid in self._sids:
            # A copy of an answer in hand: its confirmation will cover both.
            await self._consumer.ack(reply)
            return
        try:
            # One trip to the store: the lane routes with what this read, while fresh.
            lookup = lookup or await self._store.relayed.look_up(reply.sid, reply.phone)
        except Exception:
            log.exception("reply %s: cannot look it up; it is retried later", reply.sid)
            return
        if (outcome := lookup.outcome) is not None:
            self._metrics.replies.labels("duplicate").inc()
            log.info("reply %s was %s before; confirming it again", reply.sid, outcome)
            await self._consumer.confirm(reply, outcome)
            return
        delivery = route(self._networks, reply, lookup)[0]
        name = delivery.network.name if delivery else ""
        if name not in self._lanes:
            self._lanes[name] = AnswerLane(self._look_up_many)
            lanes.create_task(self._lane(self._lanes[name]))
        self._sids.add(reply.sid)
        self._entries.add(reply.entry_id)
        self._lanes[name].put(Taken(reply, lookup, time.monotonic()))

    async def _look_up_many(self, replies: list[Reply]) -> list[Lookup]:
        return await self._store.relayed.look_up_many([(r.sid, r.phone) for r in replies])

    async def _lane(self, queue: AnswerLane) -> None:
        # One answer at a time up to its record: a kill repeats at most the one line
        # the server took and we had not recorded. The confirmation on the bus (after
        # the record, so a copy is confirmed, never said) need not hold up the next.
        # In a backlog, confirmations go CONFIRM_EVERY at a time: one command for them.
        done: list[tuple[Reply, str]] = []
        async with asyncio.TaskGroup() as confirming:
            while True:
                taken = await queue.next()
                reply = taken.reply
                outcome = ""
                # A failed one is left pending: claimed again after relay.claim_after,
                # and re-published by the outbox.
                try:
                    async with guard(log, "reply %s", reply.sid) as unit:
                        outcome = await self._handle(taken)
                        await self._store.relayed.record(reply.sid, outcome)
                finally:
                    self._sids.discard(reply.sid)
                    self._entries.discard(reply.entry_id)
                    if self._done_meanwhile is not None:
                        self._done_meanwhile.add(reply.sid)
                if not unit.failed:
                    done.append((reply, outcome))
                if done and (not queue.waiting or len(done) >= CONFIRM_EVERY):
                    for said, what in done:
                        confirming.create_task(self._confirm(said, what))
                    done.clear()

    async def _confirm(self, reply: Reply, outcome: str) -> None:
        assert self._consumer is not None
        try:
            await self._consumer.confirm(reply, outcome)
        except REDIS_DOWN as exc:
            # The outcome is in the store: the next copy of the answer is confirmed.
            log.info(
                "reply %s %s; redis is unavailable to confirm it (%s)", reply.sid, outcome, exc
            )

    async def _handle(self, taken: Taken) -> str:
        """Say an answer, or tell its sender why not; what became of it."""
        reply = taken.reply
        # Counted from our own start too: a network that is connecting after a restart
        # is not one that has been down for long.
        deadline = max(reply.received_at, self._started) + self._settings.max_delay
        delivery, problem = None, ""
        try:
            delivery, problem = await self._route_when_settled(taken, deadline)
            if delivery is None:
                return await self._undeliverable(reply, problem)
            async with asyncio.timeout(max(deadline - time.time(), SEND_GRACE)):
                await delivery.network.send(delivery.target, delivery.line)
        except DeliveryRefused as exc:
            return await self._undeliverable(reply, f"not said to {exc.target}: {exc.reason}")
        except (_TooLate, TimeoutError) as exc:
            if isinstance(exc, _TooLate):
                network = exc.network
            else:
                network = delivery.network.name if delivery else "IRC"
            why = f"{network} unreachable for {_duration(self._settings.max_delay)}"
            return await self._undeliverable(reply, f"{why}; not said: {reply.body}")
        self._metrics.replies.labels("said").inc()
        self._metrics.observe_sms_to_irc(reply.received_at, time.time())
        log.info("reply %s said on %s to %s", reply.sid, delivery.network.name, delivery.target)
        return "said"

    async def _route_when_settled(
        self, taken: Taken, deadline: float
    ) -> tuple[Delivery | None, str]:
        """Route once the network knows who is where: presence is only known then."""
        reply = taken.reply
        lookup = taken.lookup if taken.fresh() else None
        while True:
            if lookup is None:
                lookup = await self._store.relayed.look_up(reply.sid, reply.phone)
            delivery, problem = route(self._networks, reply, lookup)
            lookup = None  # after a wait, read again
            if delivery is None or delivery.network.settled:
                return delivery, problem
            log.info("reply %s waits for %s", reply.sid, delivery.network.name)
            try:
                async with asyncio.timeout(deadline - time.time()):
                    await delivery.network.until_settled()
            except TimeoutError:
                raise _TooLate(delivery.network.name) from None

    async def _undeliverable(self, reply: Reply, problem: str) -> str:
        self._metrics.replies.labels("undeliverable").inc()
        log.warning("reply %s from %s not said: %s", reply.sid, mask_phone(reply.phone), problem)
        if problem == EMPTY:  # a picture-only MMS: nothing to say, nothing to pay for
            return "empty"
        await self._bounce(reply.phone, fit(f"highlightd: {problem}"))
        return "bounced"


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.3g} h"
    return f"{seconds / 60:.3g} min" if seconds >= 60 else f"{seconds:.3g} s"
