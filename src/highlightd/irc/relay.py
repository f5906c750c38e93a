"""The bus consumer: says SMS answers on IRC, then acknowledges them."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

from highlightd.core.phones import mask_phone
from highlightd.core.records import User
from highlightd.core.replies import parse_reply
from highlightd.infra.bus import REDIS_DOWN, Bus, Reply
from highlightd.infra.guard import guarded
from highlightd.infra.metrics import Metrics
from highlightd.infra.retry import Backoff
from highlightd.irc.network import Network
from highlightd.store import Store

log = logging.getLogger(__name__)

Bounce = Callable[[str, str], Awaitable[None]]
EMPTY = "empty message"


@dataclass(frozen=True, slots=True)
class Delivery:
    network: Network
    target: str
    line: str


class Relay:
    def __init__(
        self,
        bus: Bus,
        store: Store,
        networks: Mapping[str, Network],
        metrics: Metrics,
        bounce: Bounce,
    ) -> None:
        self._bus = bus
        self._store = store
        self._networks = networks
        self._metrics = metrics
        self._bounce = bounce
        self._backoff = Backoff("redis (relay)", log)

    async def run(self) -> None:
        while True:
            try:
                # What we had taken but not acknowledged when we stopped comes first.
                for reply in await self._bus.pending():
                    await guarded(
                        self._handle(reply), log, "reply %s", reply.sid, passes=REDIS_DOWN
                    )
                self._backoff.succeeded()
                while True:
                    for reply in await self._bus.next():
                        await guarded(
                            self._handle(reply), log, "reply %s", reply.sid, passes=REDIS_DOWN
                        )
                    self._backoff.succeeded()
            except REDIS_DOWN as exc:
                await self._backoff.wait(exc)

    async def _handle(self, reply: Reply) -> None:
        if await self._bus.already_said(reply.sid):
            self._metrics.replies.labels("duplicate").inc()
            log.info("reply %s was said before; dropping the copy", reply.sid)
            await self._bus.done(reply)
            return
        delivery, problem = await self.route(reply)
        if delivery is None:
            self._metrics.replies.labels("undeliverable").inc()
            log.warning(
                "reply %s from %s not said: %s", reply.sid, mask_phone(reply.phone), problem
            )
            if problem != EMPTY:  # a picture-only MMS: nothing to say, nothing to pay for
                await self._bounce(reply.phone, f"highlightd: {problem}")
        else:
            # Waits while the network is down: the entry stays pending until said.
            await delivery.network.send(delivery.target, delivery.line)
            self._metrics.replies.labels("said").inc()
            log.info("reply %s said on %s to %s", reply.sid, delivery.network.name, delivery.target)
        await self._bus.done(reply)

    async def route(self, reply: Reply) -> tuple[Delivery | None, str]:
        """Where to say an answer, or why it cannot be said."""
        users = [
            u for u in await self._store.users.by_phone(reply.phone) if u.network in self._networks
        ]
        if not users:
            return None, "this number is not registered (any more)"
        last = await self._store.users.last_highlight([u.id for u in users])
        user = _pick(users, last.user_id if last else None)
        network = self._networks[user.network]
        route = parse_reply(reply.body, network.chantypes)
        if not route.text:
            return None, EMPTY
        line = f"{user.nick} (SMS): {route.text}"
        if route.kind == "channel":
            wanted = {network.fold(c) for c in network.settings.channels}
            if network.fold(route.target) not in wanted:
                return None, f"I am not in {route.target} on {network.name}"
            return Delivery(network, route.target, line), ""
        if route.kind == "nick" and (not route.addressed or network.visible(route.target)):
            return Delivery(network, route.target, line), ""
        if route.addressed:
            # "Note: buy milk" is not an address when no Note is around.
            line = f"{user.nick} (SMS): {reply.body.strip()}"
        if last is None:
            return None, "nobody mentioned you yet; start with #channel or nick: to say where"
        return Delivery(network, last.sender, line), ""


def _pick(users: list[User], user_id: int | None) -> User:
    return next((u for u in users if u.id == user_id), users[0])
