"""The one way a test waits for a state it cannot be told about: poll, with a guard."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, overload

T = TypeVar("T")

# A guard against a hang, not a measure of speed: a healthy run needs a small part of it,
# and the per-test timeout (60 s) stays above it so the failure is ours, with its message.
LIMIT = 20.0
INTERVAL = 0.02


@overload
async def eventually(
    probe: Callable[[], Awaitable[T]],
    until: Callable[[T], object] = ...,
    *,
    what: str,
    limit: float = ...,
    interval: float = ...,
) -> T: ...


@overload
async def eventually(
    probe: Callable[[], T],
    until: Callable[[T], object] = ...,
    *,
    what: str,
    limit: float = ...,
    interval: float = ...,
) -> T: ...


async def eventually(
    probe: Callable[[], object],
    until: Callable[[Any], object] = bool,
    *,
    what: str,
    limit: float = LIMIT,
    interval: float = INTERVAL,
) -> object:
    """Call probe() (sync or async) until until(value) holds; return that value.

    Never a timing check: when the guard runs out, it fails saying what was awaited and
    the last value seen, so the failure reads as the wrong state it is.
    """
    seen: list[object] = []
    guard = asyncio.timeout(limit)
    try:
        async with guard:
            while True:
                value = probe()
                if inspect.isawaitable(value):
                    value = await value
                seen[:] = [value]
                if until(value):
                    return value
                await asyncio.sleep(interval)
    except TimeoutError:
        if not guard.expired():
            raise  # the probe's own timeout: not ours to explain
        last = repr(seen[0]) if seen else "nothing (the probe never returned)"
        raise AssertionError(
            f"gave up after {limit:g} s waiting for {what}; last seen: {last}"
        ) from None
