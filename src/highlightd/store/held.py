"""Highlights held for a digest, until what held them has passed."""

from __future__ import annotations

from collections.abc import Sequence

from highlightd.core.records import HeldHighlight
from highlightd.store.database import Database


class HeldHighlights:
    """Held highlights, per user, with the moment each hold may end."""

    def __init__(self, db: Database) -> None:
        self._db = db.conn
        self._database = db

    async def add(
        self, user_id: int, channel: str, sender: str, text: str, at: float, until: float
    ) -> None:
        await self._db.execute(
            "INSERT INTO held (user_id, channel, sender, text, at, until)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (user_id, channel, sender, text, at, until),
        )

    async def of(self, user_id: int) -> list[HeldHighlight]:
        async with self._db.execute(
            "SELECT id, user_id, channel, sender, text, at, until FROM held"
            " WHERE user_id = ? ORDER BY at",
            (user_id,),
        ) as cur:
            return [HeldHighlight(*row) async for row in cur]

    async def until(self) -> dict[int, float]:
        """For each user with held highlights, when the earliest hold may end."""
        async with self._db.execute("SELECT user_id, min(until) FROM held GROUP BY user_id") as cur:
            return {int(u): float(t) async for u, t in cur}

    async def postpone(self, user_id: int, until: float) -> None:
        await self._db.execute("UPDATE held SET until = ? WHERE user_id = ?", (until, user_id))

    async def release(self, ids: Sequence[int]) -> None:
        marks = ",".join("?" * len(ids))
        await self._db.execute(f"DELETE FROM held WHERE id IN ({marks})", tuple(ids))
