"""Wall-clock arithmetic in a person's timezone: quiet hours, local days, DST. Pure."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def check_timezone(value: str) -> str:
    """An IANA timezone name ZoneInfo knows; ValueError saying what one looks like."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"not an IANA timezone (like Europe/Berlin): {value!r}") from None
    return value


@dataclass(frozen=True, slots=True)
class QuietHours:
    start: dt.time
    end: dt.time

    @classmethod
    def parse(cls, text: str) -> QuietHours:
        """'22:00-07:00' -> QuietHours; ValueError when it is not that shape."""
        try:
            start, end = (dt.time.fromisoformat(part.strip()) for part in text.split("-"))
        except ValueError:
            raise ValueError(f"quiet hours must look like 22:00-07:00, not {text!r}") from None
        if start.tzinfo is not None or end.tzinfo is not None:
            raise ValueError("quiet hours must be wall-clock times, without a UTC offset")
        if start == end:
            raise ValueError("quiet hours must not start and end at the same time")
        return cls(start, end)


def _at(now: float, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.fromtimestamp(now, tz)


def in_quiet_hours(now: float, tz: ZoneInfo, quiet: QuietHours) -> bool:
    t = _at(now, tz).time()
    if quiet.start < quiet.end:
        return quiet.start <= t < quiet.end
    return t >= quiet.start or t < quiet.end  # across midnight


def quiet_hours_end(now: float, tz: ZoneInfo, quiet: QuietHours) -> float:
    """The next moment the clock on the wall reaches the end of the quiet hours.

    Wall clock, so DST moves it: a skipped end time ends them at the jump, a
    repeated one at whichever occurrence comes next.
    """
    today = _at(now, tz).date()
    for day in (today, today + dt.timedelta(days=1)):
        for moment in _moments(day, quiet.end, tz):
            if moment > now:
                return moment
    raise AssertionError("unreachable: the end time comes round within two days")


def day_start(now: float, tz: ZoneInfo) -> float:
    """Midnight of the current local day: where a daily budget starts counting."""
    return _moments(_at(now, tz).date(), dt.time(0), tz)[0]


def local_day(now: float, tz: ZoneInfo) -> str:
    """The local date, "2026-06-15": what a once-a-day notice is keyed by."""
    return _at(now, tz).date().isoformat()


def next_day(now: float, tz: ZoneInfo) -> float:
    """Midnight that ends the current local day: when a daily budget starts afresh."""
    return _moments(_at(now, tz).date() + dt.timedelta(days=1), dt.time(0), tz)[0]


def _moments(day: dt.date, wall: dt.time, tz: ZoneInfo) -> list[float]:
    """The instants at which the clock on the wall reads `wall` on `day`, in order.

    Usually one; two in the hour an autumn change repeats; and for a time a
    spring change skips, the jump itself (the first instant past it).
    """
    naive = dt.datetime.combine(day, wall)
    first = naive.replace(tzinfo=tz, fold=0).timestamp()
    second = naive.replace(tzinfo=tz, fold=1).timestamp()
    if first < second:
        return [first, second]  # repeated
    if first == second:
        return [first]
    # Skipped: fold=1 reads it with the offset after the jump, so it lies before it.
    early, late = second, first
    before = dt.datetime.fromtimestamp(early, tz).utcoffset()
    while late - early > 1:
        mid = (early + late) / 2
        if dt.datetime.fromtimestamp(mid, tz).utcoffset() == before:
            early = mid
        else:
            late = mid
    return [float(math.ceil(late))]


def local_time(ts: float, tz: ZoneInfo) -> str:
    return _at(ts, tz).strftime("%H:%M %Z")


def utc_time(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
