"""From an IRC line to a decision: whom it highlights, and what the policy says for each.

The facts come from core.facts, as for `highlightd explain`; the sending is the
Sender's, the keeping of held highlights the Digests'.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from functools import partial

from highlightd.config import Settings
from highlightd.core.digest import Held
from highlightd.core.events import IrcMessage
from highlightd.core.facts import Context, Heard, facts_for, hear, said
from highlightd.core.policy import Decision, Reason, Rules, rules_for
from highlightd.core.records import Highlight, User
from highlightd.infra.guard import guard
from highlightd.infra.metrics import Metrics
from highlightd.irc.digests import Digests
from highlightd.irc.directory import Directory
from highlightd.irc.network import Network
from highlightd.sms.budget import spend_of
from highlightd.sms.sender import Sender
from highlightd.store import Store

log = logging.getLogger(__name__)


class Notifier:
    """Consumes IRC lines in wire order and decides, for each highlight, send, hold or drop."""

    def __init__(
        self,
        store: Store,
        directory: Directory,
        networks: Mapping[str, Network],
        sender: Sender,
        digests: Digests,
        metrics: Metrics,
        settings: Settings,
        clock: Callable[[], float],
    ) -> None:
        self._store = store
        self._directory = directory
        self._networks = networks
        self._sender = sender
        self._digests = digests
        self._metrics = metrics
        self._settings = settings
        self._clock = clock
        self._lines: asyncio.Queue[IrcMessage] = asyncio.Queue()
        # Each network's rules, made once for what they are made from: folding every
        # ignored nick for every line was a fifth of the CPU of ordinary chatter.
        self._rules: dict[str, tuple[tuple[object, ...], Rules]] = {}

    def submit(self, event: IrcMessage) -> None:
        """Called by the IRC side for every channel line, in the order the server sent them."""
        self._lines.put_nowait(event)

    def use_settings(self, settings: Settings) -> None:
        """Reloaded settings (SIGHUP): [policy] applies from the next line."""
        self._settings = settings

    def rules(self, network: Network) -> Rules:
        made_from = (self._settings.policy, network.settings, network.casemapping)
        cached = self._rules.get(network.name)
        if cached is not None and all(a is b for a, b in zip(cached[0], made_from, strict=True)):
            return cached[1]
        rules = rules_for(self._settings.policy, network.settings, network.fold)
        self._rules[network.name] = (made_from, rules)
        return rules

    async def run(self) -> None:
        while True:
            event = await self._lines.get()
            network = self._networks.get(event.network)
            if network is None:
                continue
            async with guard(log, "%s: line %r", network.name, event):
                await self._consider(event, network)

    async def _consider(self, message: IrcMessage, network: Network) -> None:
        # No I/O when nothing changed: this process's writes apply at once, another's
        # (the CLI, the web role) within the Directory's poll interval.
        await self._directory.catch_up()
        index = self._directory.network(network.name, network.casemapping)
        rules = self.rules(network)
        heard = hear(message, index, partial(network.present, message.channel), rules)
        if heard is None:
            return
        now = self._clock()
        for user in heard.users:
            known, in_flight = spend_of(self._sender.book, user, now, rules)  # no I/O
            nick = index.current_nick(user)
            ctx = Context(
                now=now,
                bot_nick=network.own_nick,
                muted=index.muted(user.id),  # loaded with the users
                known=known,
                in_flight=in_flight,
                seen=network.seen(nick),
            )
            decision = facts_for(heard, user, index, ctx).decide(rules)
            if decision.reason is Reason.ACTIVE:
                # Only now is /away worth asking: here and talking, unless away.
                away = await network.away(nick)
                if away:
                    ctx = replace(ctx, seen=replace(ctx.seen, away=away))
                    decision = facts_for(heard, user, index, ctx).decide(rules)
            await self._act(decision, user, heard, rules, now)

    async def _act(
        self, decision: Decision, user: User, heard: Heard, rules: Rules, now: float
    ) -> None:
        message = heard.message
        self._metrics.highlights.labels(user.network, decision.reason.value).inc()
        log.debug(
            "%s/%s highlighted by %s in %s: %s",
            user.network,
            user.nick,
            message.sender,
            message.channel,
            decision,
        )
        if decision.action == "send":
            # The last highlight with it, in line order: replies go to the latest mentioner.
            at = Highlight(user.id, message.channel, message.sender, message.at)
            await self._sender.send(user, heard.body, "highlight", highlight=at)
        elif decision.action == "hold":
            held = Held(message.channel, message.sender, said(message), message.at)
            await self._digests.hold(decision, user, held, rules, now)
