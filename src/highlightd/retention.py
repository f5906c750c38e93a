"""storage.retention_days: SMS bodies and logs are deleted once they are that old."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections.abc import Callable

from highlightd.store import Store

log = logging.getLogger(__name__)

DAY = 24 * 3600.0


async def prune_daily(store: Store, days: int, clock: Callable[[], float] = time.time) -> None:
    """Prune at start and then once a day; a failure is logged and tried the next day."""
    while True:
        now = clock()
        try:
            pruned = await store.privacy.prune(now - days * DAY, now)
        except sqlite3.Error as exc:
            log.warning("retention: pruning failed, next try in a day: %s", exc)
        else:
            if any(pruned.values()):
                counts = ", ".join(f"{n} {table}" for table, n in pruned.items() if n)
                log.info("retention: deleted rows older than %d days: %s", days, counts)
        await asyncio.sleep(DAY)
