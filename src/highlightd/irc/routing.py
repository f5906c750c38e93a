"""Where an SMS answer is said: the channel or nick it names, else whoever mentioned
its sender last; or why it cannot be said."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from highlightd.core.records import User
from highlightd.core.replies import parse_reply
from highlightd.infra.bus import Reply
from highlightd.irc.network import Network
from highlightd.store.relayed import Lookup

EMPTY = "empty message"


@dataclass(frozen=True, slots=True)
class Delivery:
    network: Network
    target: str
    line: str


def route(
    networks: Mapping[str, Network], reply: Reply, lookup: Lookup
) -> tuple[Delivery | None, str]:
    """Where to say an answer, or why it cannot be said."""
    users = [u for u in lookup.users if u.network in networks]
    if not users:
        return None, "this number is not registered (any more)"
    ids = {u.id for u in users}
    # The most recent highlight among them (one phone may have several registrations).
    last = max((h for h in lookup.highlights if h.user_id in ids), key=lambda h: h.at, default=None)
    user = _pick(users, last.user_id if last else None)
    network = networks[user.network]
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
