"""Held highlights: kept when the policy says "later", sent as one digest SMS when due."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping

from highlightd.config import Settings
from highlightd.core.digest import Held, digest_text
from highlightd.core.facts import person_of, spend_with
from highlightd.core.policy import Decision, Rules, hold_or_send, rules_for
from highlightd.core.records import Highlight, User
from highlightd.core.smstext import segments
from highlightd.infra.guard import guard
from highlightd.infra.metrics import Metrics
from highlightd.irc.directory import Directory
from highlightd.irc.network import Network
from highlightd.sms.budget import LimitNotices, spend_of
from highlightd.sms.sender import Sender
from highlightd.store import Store

log = logging.getLogger(__name__)

DIGEST_CHECK = 60.0  # seconds between looks at held highlights, at the longest


def clock_time(at: float, now: float) -> str:
    """A moment as the log's own clock reads it (local time, like its timestamps)."""
    same_day = time.localtime(at)[:3] == time.localtime(now)[:3]
    return time.strftime("%H:%M:%S" if same_day else "%Y-%m-%d %H:%M:%S", time.localtime(at))


class Digests:
    """Keeps held highlights, and sends each user's as one SMS once what held them passed."""

    def __init__(
        self,
        store: Store,
        directory: Directory,
        networks: Mapping[str, Network],
        sender: Sender,
        metrics: Metrics,
        settings: Settings,
        clock: Callable[[], float],
    ) -> None:
        self._store = store
        self._directory = directory
        self._networks = networks
        self._sender = sender
        self._metrics = metrics
        self._settings = settings
        self._clock = clock
        self.notices = LimitNotices(store, sender)
        self._changed = asyncio.Event()

    async def hold(
        self, decision: Decision, user: User, heard: Held, rules: Rules, now: float
    ) -> None:
        """Keep a highlight the policy held, until decision.until (or the next look)."""
        until = decision.until if decision.until is not None else now + DIGEST_CHECK
        await self._store.held.add(
            user.id, heard.channel, heard.sender, heard.text, heard.at, until
        )
        log.info(
            "%s/%s: highlight by %s in %s held (%s: %s); digest at %s at the earliest",
            user.network,
            user.nick,
            heard.sender,
            heard.channel,
            decision.reason,
            decision.detail,
            clock_time(until, now),
        )
        self._changed.set()
        await self.notices.held(decision, user, rules, now)

    async def run(self) -> None:
        while True:
            self._changed.clear()
            holds = await self._store.held.until()
            now = self._clock()
            due = [uid for uid, until in holds.items() if until <= now]
            failed = False
            for uid in due:
                # A failed one stays held: tried again at the next look.
                async with guard(log, "digest for user %d", uid) as unit:
                    await self._release(uid, now)
                failed = failed or unit.failed
            if due and not failed:
                continue
            soonest = min((until - now for until in holds.values()), default=DIGEST_CHECK)
            wait = DIGEST_CHECK if failed else min(soonest, DIGEST_CHECK)
            try:
                await asyncio.wait_for(self._changed.wait(), timeout=wait)
            except TimeoutError:
                pass

    def _rules(self, network: Network) -> Rules:
        return rules_for(self._settings.policy, network.settings, network.fold)

    async def _release(self, user_id: int, now: float) -> None:
        await self._directory.refresh()  # an opt-out or a pause since the hold counts
        user = self._directory.user(user_id)
        held = await self._store.held.of(user_id)
        network = self._networks.get(user.network) if user else None
        if user is None or network is None or not held:
            if held:  # the user or their network is gone from the configuration
                await self._store.held.release([h.id for h in held])
            return
        ids = [h.id for h in held]
        person = person_of(user)
        if person.opted_out or (person.paused_until is not None and now < person.paused_until):
            await self._store.held.release(ids)
            log.info(
                "%s/%s: %d held highlight(s) dropped (opted out or paused)",
                user.network,
                user.nick,
                len(held),
            )
            return
        rules = self._rules(network)
        body = digest_text(
            [Held(h.channel, h.sender, h.text, h.at) for h in held], rules.max_segments
        )
        spend = spend_with(*spend_of(self._sender.book, user, now, rules))
        decision = hold_or_send(now, segments(body), person, spend, rules)
        if decision.action != "send":
            until = decision.until if decision.until is not None else now + DIGEST_CHECK
            await self._store.held.postpone(user_id, until)
            log.info(
                "%s/%s: digest of %d waits (%s: %s); next look at %s",
                user.network,
                user.nick,
                len(held),
                decision.reason,
                decision.detail,
                clock_time(until, now),
            )
            await self.notices.held(decision, user, rules, now)
            return
        latest = held[-1]
        # The held rows go with the digest's outbox row, in one transaction: a digest
        # that cannot be sent now is sent later, whole.
        at = Highlight(user.id, latest.channel, latest.sender, latest.at)
        kind = f"digest of {len(held)}"
        await self._sender.send(user, body, kind, releasing=tuple(ids), highlight=at)
        self._metrics.highlights.labels(user.network, "digest").inc()
