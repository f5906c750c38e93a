"""The registered users of one network by id, as the index holds them. Pure.

Start-up keeps each user as the store's row and makes its User the first time
one is asked for: with 100,000 users, making every record up front was a third
of the start-up, and most are never asked for between two reloads.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from highlightd.core.records import User

Row = tuple[Any, ...]  # a user's columns without the network: see user_row


def user_row(network: str, row: Sequence[Any]) -> User:
    """A User from the store's columns (id, nick, phone, created_at, timezone, quiet,
    paused_until, opted_out, account, paused_reason) and its network's name."""
    uid, nick, phone, created, tz, quiet, paused, opted_out, account, reason = row
    return User(
        uid, network, nick, phone, created, tz, quiet, paused, bool(opted_out), account, reason
    )


class People:
    """One network's users by id: each a User, or the row it is made from when asked."""

    __slots__ = ("_by_id", "network")

    def __init__(self, network: str) -> None:
        self.network = network
        self._by_id: dict[int, User | Row] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, user_id: object) -> bool:
        return user_id in self._by_id

    def __iter__(self) -> Iterator[int]:
        return iter(self._by_id)

    def put(self, user: User) -> None:
        self._by_id[user.id] = user

    def remove(self, user_id: int) -> None:
        self._by_id.pop(user_id, None)

    def put_rows(self, ids: Sequence[int], rows: Sequence[Row]) -> None:
        """Rows as user_row takes them, each under its id (ids[i] is rows[i][0])."""
        self._by_id.update(zip(ids, rows, strict=True))

    def nick(self, user_id: int) -> str:
        """The registered nick of a user here, without making its User."""
        held = self._by_id[user_id]
        return held.nick if isinstance(held, User) else str(held[1])

    def get(self, user_id: int) -> User | None:
        held = self._by_id.get(user_id)
        if held is None or isinstance(held, User):
            return held
        user = self._by_id[user_id] = user_row(self.network, held)
        return user
