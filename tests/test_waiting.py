"""eventually(): the tests' one way to wait, and the failure it gives when the wait is vain."""

from __future__ import annotations

import asyncio

import pytest

from waiting import eventually


async def test_returns_the_first_value_that_satisfies() -> None:
    values = iter([1, 2, 3, 4])
    assert await eventually(lambda: next(values), lambda n: n >= 3, what="3") == 3


async def test_awaits_an_async_probe() -> None:
    calls = 0

    async def probe() -> list[int]:
        nonlocal calls
        calls += 1
        return [calls] if calls == 2 else []

    assert await eventually(probe, what="a second call", interval=0) == [2]


async def test_gives_up_saying_what_was_awaited_and_the_last_value() -> None:
    with pytest.raises(AssertionError) as caught:
        await eventually(lambda: {"send": 1}, lambda d: "drop" in d, what="a drop", limit=0.05)
    assert str(caught.value) == ("gave up after 0.05 s waiting for a drop; last seen: {'send': 1}")


async def test_a_probe_that_never_returns_is_said_so() -> None:
    async def stuck() -> int:
        await asyncio.Event().wait()
        return 0

    with pytest.raises(AssertionError, match="last seen: nothing"):
        await eventually(stuck, what="an answer", limit=0.05)


async def test_the_probes_own_timeout_is_not_taken_for_the_guard() -> None:
    async def times_out() -> int:
        raise TimeoutError("the probe's own")

    with pytest.raises(TimeoutError, match="the probe's own"):
        await eventually(times_out, what="anything")
