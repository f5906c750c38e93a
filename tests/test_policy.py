"""Table tests for the notification policy: a fixed clock, one rule change per case."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

import pytest

from highlightd.core.clock import QuietHours, day_start, in_quiet_hours, next_day, quiet_hours_end
from highlightd.core.digest import Held, digest_text
from highlightd.core.policy import (
    Action,
    Decision,
    Line,
    Person,
    Presence,
    Reason,
    Rules,
    Spend,
    decide,
)
from highlightd.core.smstext import encoding, segments, units

UTC = ZoneInfo("UTC")
NEW_YORK = ZoneInfo("America/New_York")
KOLKATA = ZoneInfo("Asia/Kolkata")  # +05:30, no DST
TOKYO = ZoneInfo("Asia/Tokyo")  # +09:00, no DST
SANTIAGO = ZoneInfo("America/Santiago")  # its DST starts at midnight: no 00:00 that day

HOUR = 3600.0
DAY = 24 * HOUR


def ts(
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    *,
    tz: ZoneInfo = UTC,
    fold: int = 0,
) -> float:
    """An epoch timestamp for a wall-clock time in tz: the tests' injected clock."""
    return dt.datetime(year, month, day, hour, minute, second, tzinfo=tz, fold=fold).timestamp()


NOW = ts(2026, 6, 15, 12, 0)  # a Monday, noon UTC

RULES = Rules(
    ignore_nicks=frozenset({"chanserv"}),
    mass_highlight=5,
    active_window=300.0,
    cooldown=300.0,
    user_daily_segments=20,
    global_daily_segments=500,
    max_segments=1,
    timezone=UTC,
)
LINE = Line(now=NOW, channel="#a", sender="bob")
PERSON = Person(nick="alice")  # timezone None: the rules' UTC
PRESENCE = Presence()  # not in the channel
SPEND = Spend()

# Overrides that make exactly one rule apply to the defaults above.
OWN = replace(LINE, sender_is_user=True)
BOT = replace(LINE, sender_is_bot=True)
IGNORED = replace(LINE, sender="chanserv")
MASS = replace(LINE, nicks_named=5)
MUTED = replace(PERSON, muted=frozenset({"#a"}))
OPTED_OUT = replace(PERSON, opted_out=True)
PAUSED = replace(PERSON, paused_until=NOW + HOUR)
QUIET = replace(PERSON, quiet=QuietHours(dt.time(11), dt.time(13)))
ACTIVE = Presence(in_channel=True, last_spoke=NOW - 60, away=False)
COOLDOWN = Spend(last_sms_at=NOW - 60)
USER_SPENT = Spend(user_segments_today=20)
GLOBAL_SPENT = Spend(global_segments_today=500)


@dataclass(frozen=True)
class Situation:
    """The five inputs of decide(), each defaulting to the plain case that sends."""

    line: Line = LINE
    person: Person = PERSON
    presence: Presence = PRESENCE
    spend: Spend = SPEND
    rules: Rules = RULES

    def decide(self) -> Decision:
        return decide(self.line, self.person, self.presence, self.spend, self.rules)


EVERY_REASON = [
    pytest.param(Situation(line=OWN), "drop", Reason.OWN_LINE, id="own-line"),
    pytest.param(Situation(line=BOT), "drop", Reason.BOT, id="bot"),
    pytest.param(Situation(line=IGNORED), "drop", Reason.IGNORED, id="ignored-sender"),
    pytest.param(Situation(person=MUTED), "drop", Reason.MUTED, id="muted-channel"),
    pytest.param(Situation(person=OPTED_OUT), "drop", Reason.OPTED_OUT, id="opted-out"),
    pytest.param(Situation(person=PAUSED), "drop", Reason.PAUSED, id="paused"),
    pytest.param(Situation(line=MASS), "drop", Reason.MASS, id="mass-highlight"),
    pytest.param(Situation(presence=ACTIVE), "drop", Reason.ACTIVE, id="active"),
    pytest.param(Situation(person=QUIET), "hold", Reason.QUIET, id="quiet-hours"),
    pytest.param(Situation(spend=COOLDOWN), "hold", Reason.COOLDOWN, id="cooldown"),
    pytest.param(Situation(spend=USER_SPENT), "hold", Reason.USER_BUDGET, id="user-budget"),
    pytest.param(Situation(spend=GLOBAL_SPENT), "hold", Reason.GLOBAL_BUDGET, id="global-budget"),
    pytest.param(Situation(), "send", Reason.SEND, id="send"),
]


@pytest.mark.parametrize(("situation", "action", "reason"), EVERY_REASON)
def test_decide_gives_each_reason(situation: Situation, action: Action, reason: Reason) -> None:
    decision = situation.decide()
    assert (decision.action, decision.reason) == (action, reason)
    # A hold always says when it can end; a drop or a send has nothing to wait for.
    assert (decision.until is not None) == (action == "hold")


def test_reason_table_covers_every_reason() -> None:
    covered = {param.values[2] for param in EVERY_REASON}
    assert covered == set(Reason)


@pytest.mark.parametrize(
    ("situation", "action", "reason"),
    [
        pytest.param(
            Situation(line=OWN, person=MUTED), "drop", Reason.OWN_LINE, id="own-line-over-muted"
        ),
        pytest.param(
            Situation(line=replace(BOT, sender="chanserv")),
            "drop",
            Reason.BOT,
            id="bot-over-ignored",
        ),
        pytest.param(
            Situation(line=IGNORED, person=MUTED), "drop", Reason.IGNORED, id="ignored-over-muted"
        ),
        pytest.param(
            Situation(person=replace(MUTED, opted_out=True)),
            "drop",
            Reason.MUTED,
            id="muted-over-opted-out",
        ),
        pytest.param(
            Situation(person=replace(OPTED_OUT, paused_until=NOW + HOUR)),
            "drop",
            Reason.OPTED_OUT,
            id="opted-out-over-paused",
        ),
        pytest.param(
            Situation(person=OPTED_OUT, presence=ACTIVE),
            "drop",
            Reason.OPTED_OUT,
            id="opted-out-over-active",
        ),
        pytest.param(
            Situation(line=MASS, person=PAUSED), "drop", Reason.PAUSED, id="paused-over-mass"
        ),
        pytest.param(
            Situation(line=MASS, presence=ACTIVE), "drop", Reason.MASS, id="mass-over-active"
        ),
        pytest.param(
            Situation(presence=ACTIVE, spend=COOLDOWN),
            "drop",
            Reason.ACTIVE,
            id="active-over-cooldown-dropped-not-held",
        ),
        pytest.param(
            Situation(presence=ACTIVE, person=QUIET),
            "drop",
            Reason.ACTIVE,
            id="active-over-quiet-dropped-not-held",
        ),
        pytest.param(
            Situation(person=QUIET, spend=COOLDOWN), "hold", Reason.QUIET, id="quiet-over-cooldown"
        ),
        pytest.param(
            Situation(spend=replace(COOLDOWN, user_segments_today=20)),
            "hold",
            Reason.COOLDOWN,
            id="cooldown-over-user-budget",
        ),
        pytest.param(
            Situation(spend=replace(USER_SPENT, global_segments_today=500)),
            "hold",
            Reason.USER_BUDGET,
            id="user-budget-over-global-budget",
        ),
        pytest.param(
            Situation(
                line=replace(OWN, sender_is_bot=True, sender="chanserv", nicks_named=9),
                person=replace(QUIET, muted=frozenset({"#a"}), opted_out=True),
                presence=ACTIVE,
                spend=Spend(
                    last_sms_at=NOW - 60, user_segments_today=20, global_segments_today=500
                ),
            ),
            "drop",
            Reason.OWN_LINE,
            id="every-rule-at-once",
        ),
    ],
)
def test_decide_earlier_rule_wins(situation: Situation, action: Action, reason: Reason) -> None:
    decision = situation.decide()
    assert (decision.action, decision.reason) == (action, reason)


@pytest.mark.parametrize(
    ("presence", "reason"),
    [
        pytest.param(ACTIVE, Reason.ACTIVE, id="spoke-a-minute-ago"),
        pytest.param(replace(ACTIVE, last_spoke=NOW), Reason.ACTIVE, id="spoke-just-now"),
        pytest.param(
            replace(ACTIVE, last_spoke=NOW - 299.5), Reason.ACTIVE, id="just-inside-window"
        ),
        pytest.param(replace(ACTIVE, last_spoke=NOW - 300), Reason.SEND, id="exactly-window-ago"),
        pytest.param(replace(ACTIVE, last_spoke=NOW - 3000), Reason.SEND, id="spoke-long-ago"),
        pytest.param(replace(ACTIVE, last_spoke=None), Reason.SEND, id="never-spoke"),
        pytest.param(replace(ACTIVE, away=True), Reason.SEND, id="away"),
        pytest.param(replace(ACTIVE, away=None), Reason.ACTIVE, id="away-unknown-counts-as-here"),
        pytest.param(replace(ACTIVE, in_channel=False), Reason.SEND, id="not-in-channel"),
    ],
)
def test_decide_active_user(presence: Presence, reason: Reason) -> None:
    decision = Situation(presence=presence).decide()
    assert decision.reason == reason
    assert decision.action == ("drop" if reason == Reason.ACTIVE else "send")


@pytest.mark.parametrize(
    ("active_window", "reason"),
    [
        pytest.param(60, Reason.SEND, id="window-shorter-than-90s"),
        pytest.param(120, Reason.ACTIVE, id="window-longer-than-90s"),
    ],
)
def test_decide_active_window_comes_from_rules(active_window: float, reason: Reason) -> None:
    situation = Situation(
        presence=replace(ACTIVE, last_spoke=NOW - 90),
        rules=replace(RULES, active_window=active_window),
    )
    assert situation.decide().reason == reason


@pytest.mark.parametrize(
    ("paused_until", "reason"),
    [
        pytest.param(None, Reason.SEND, id="never-paused"),
        pytest.param(NOW - DAY, Reason.SEND, id="pause-ended-yesterday"),
        pytest.param(NOW - 1, Reason.SEND, id="pause-ended-a-second-ago"),
        pytest.param(NOW, Reason.SEND, id="pause-ends-now"),
        pytest.param(NOW + 1, Reason.PAUSED, id="pause-ends-in-a-second"),
        pytest.param(NOW + DAY, Reason.PAUSED, id="paused-for-a-day"),
    ],
)
def test_decide_paused_only_until_paused_until(paused_until: float | None, reason: Reason) -> None:
    person = replace(PERSON, paused_until=paused_until)
    assert Situation(person=person).decide().reason == reason


@pytest.mark.parametrize(
    ("nicks_named", "mass_highlight", "reason"),
    [
        pytest.param(1, 5, Reason.SEND, id="one-nick"),
        pytest.param(4, 5, Reason.SEND, id="one-below-default"),
        pytest.param(5, 5, Reason.MASS, id="exactly-default"),
        pytest.param(40, 5, Reason.MASS, id="far-above-default"),
        pytest.param(2, 3, Reason.SEND, id="one-below-custom"),
        pytest.param(3, 3, Reason.MASS, id="exactly-custom"),
    ],
)
def test_decide_mass_highlight_boundary(
    nicks_named: int, mass_highlight: int, reason: Reason
) -> None:
    situation = Situation(
        line=replace(LINE, nicks_named=nicks_named),
        rules=replace(RULES, mass_highlight=mass_highlight),
    )
    assert situation.decide().reason == reason


@pytest.mark.parametrize(
    ("channel", "muted", "reason"),
    [
        pytest.param("#a", frozenset({"#a"}), Reason.MUTED, id="this-channel-muted"),
        pytest.param("#a", frozenset({"#b", "#c"}), Reason.SEND, id="other-channels-muted"),
        pytest.param("#b", frozenset({"#a", "#b"}), Reason.MUTED, id="one-of-several"),
    ],
)
def test_decide_muted_channel(channel: str, muted: frozenset[str], reason: Reason) -> None:
    situation = Situation(line=replace(LINE, channel=channel), person=replace(PERSON, muted=muted))
    assert situation.decide().reason == reason


@pytest.mark.parametrize(
    ("last_sms_at", "reason", "until"),
    [
        pytest.param(None, Reason.SEND, None, id="never-sent"),
        pytest.param(NOW - 60, Reason.COOLDOWN, NOW + 240, id="a-minute-ago"),
        pytest.param(NOW - 299, Reason.COOLDOWN, NOW + 1, id="just-inside"),
        pytest.param(NOW - 300, Reason.SEND, None, id="exactly-cooldown-ago"),
        pytest.param(NOW - HOUR, Reason.SEND, None, id="an-hour-ago"),
    ],
)
def test_decide_cooldown_holds_until_it_ends(
    last_sms_at: float | None, reason: Reason, until: float | None
) -> None:
    decision = Situation(spend=Spend(last_sms_at=last_sms_at)).decide()
    assert (decision.reason, decision.until) == (reason, until)


@pytest.mark.parametrize("last_sms_at", [NOW - 1, NOW, NOW + 1])
def test_decide_cooldown_zero_never_holds(last_sms_at: float) -> None:
    # The SMS is recorded after the line that caused it: "last" can be after "now".
    rules = replace(RULES, cooldown=0.0)
    decision = Situation(spend=Spend(last_sms_at=last_sms_at), rules=rules).decide()
    assert decision.reason is Reason.SEND


# Quiet hours

NIGHT = QuietHours(dt.time(22), dt.time(7))  # across midnight
LUNCH = QuietHours(dt.time(13), dt.time(14))  # within one day


@pytest.mark.parametrize(
    ("tz", "quiet", "now", "until"),
    [
        # Same-day window: start inclusive, end exclusive.
        pytest.param(UTC, LUNCH, ts(2026, 6, 15, 12, 59, 59), None, id="utc-lunch-before"),
        pytest.param(UTC, LUNCH, ts(2026, 6, 15, 13), ts(2026, 6, 15, 14), id="utc-lunch-start"),
        pytest.param(
            UTC, LUNCH, ts(2026, 6, 15, 13, 59, 59), ts(2026, 6, 15, 14), id="utc-lunch-last-second"
        ),
        pytest.param(UTC, LUNCH, ts(2026, 6, 15, 14), None, id="utc-lunch-end"),
        # Across midnight, in New York (EDT in June, -04:00).
        pytest.param(
            NEW_YORK, NIGHT, ts(2026, 6, 15, 21, 59, 59, tz=NEW_YORK), None, id="ny-night-before"
        ),
        pytest.param(
            NEW_YORK,
            NIGHT,
            ts(2026, 6, 15, 22, tz=NEW_YORK),
            ts(2026, 6, 16, 7, tz=NEW_YORK),
            id="ny-night-start",
        ),
        pytest.param(
            NEW_YORK,
            NIGHT,
            ts(2026, 6, 15, 23, 59, 59, tz=NEW_YORK),
            ts(2026, 6, 16, 7, tz=NEW_YORK),
            id="ny-night-before-midnight",
        ),
        pytest.param(
            NEW_YORK,
            NIGHT,
            ts(2026, 6, 16, 0, tz=NEW_YORK),
            ts(2026, 6, 16, 7, tz=NEW_YORK),
            id="ny-night-midnight",
        ),
        pytest.param(
            NEW_YORK,
            NIGHT,
            ts(2026, 6, 16, 6, 59, 59, tz=NEW_YORK),
            ts(2026, 6, 16, 7, tz=NEW_YORK),
            id="ny-night-last-second",
        ),
        pytest.param(NEW_YORK, NIGHT, ts(2026, 6, 16, 7, tz=NEW_YORK), None, id="ny-night-end"),
        pytest.param(NEW_YORK, NIGHT, ts(2026, 6, 16, 12, tz=NEW_YORK), None, id="ny-midday"),
        # Same instants in UTC would give the wrong answer: the user's zone decides.
        pytest.param(NEW_YORK, NIGHT, ts(2026, 6, 15, 23), None, id="ny-7pm-is-23h-utc"),
        pytest.param(
            NEW_YORK,
            NIGHT,
            ts(2026, 6, 16, 9),
            ts(2026, 6, 16, 11),  # 05:00 EDT, until 07:00 EDT
            id="ny-5am-is-9h-utc",
        ),
        # Kolkata, +05:30: the half hour must survive.
        pytest.param(
            KOLKATA,
            NIGHT,
            ts(2026, 6, 15, 22, tz=KOLKATA),
            ts(2026, 6, 16, 1, 30),  # 07:00 IST
            id="kolkata-night-start",
        ),
        pytest.param(KOLKATA, NIGHT, ts(2026, 6, 15, 16, 29, 59), None, id="kolkata-2159-ist"),
        pytest.param(
            KOLKATA,
            LUNCH,
            ts(2026, 6, 15, 8),  # 13:30 IST
            ts(2026, 6, 15, 8, 30),  # 14:00 IST
            id="kolkata-lunch",
        ),
        pytest.param(KOLKATA, LUNCH, ts(2026, 6, 15, 13, 30), None, id="kolkata-utc-lunch-is-19h"),
    ],
)
def test_decide_quiet_hours_in_user_timezone(
    tz: ZoneInfo, quiet: QuietHours, now: float, until: float | None
) -> None:
    decision = Situation(
        line=replace(LINE, now=now), person=replace(PERSON, timezone=tz, quiet=quiet)
    ).decide()
    if until is None:
        assert (decision.action, decision.reason, decision.until) == ("send", Reason.SEND, None)
    else:
        assert (decision.action, decision.reason, decision.until) == ("hold", Reason.QUIET, until)


def test_decide_quiet_hours_default_to_rules_timezone() -> None:
    now = ts(2026, 6, 15, 23, tz=NEW_YORK)  # 03:00 UTC the next day: quiet in either zone
    person = replace(PERSON, quiet=NIGHT)  # timezone None
    assert Situation(
        line=replace(LINE, now=now), person=person, rules=replace(RULES, timezone=NEW_YORK)
    ).decide().until == ts(2026, 6, 16, 7, tz=NEW_YORK)
    assert Situation(line=replace(LINE, now=now), person=person).decide().until == ts(
        2026, 6, 16, 7
    )


@pytest.mark.parametrize(
    ("now", "until"),
    [
        # Spring forward: the night is 23 - 15 = 8 h of wall clock but 7 h long.
        pytest.param(
            ts(2026, 3, 7, 23, tz=NEW_YORK),  # 04:00 UTC, EST
            ts(2026, 3, 8, 11),  # 07:00 EDT
            id="spring-forward-2026-03-08",
        ),
        pytest.param(
            ts(2026, 3, 8, 1, 30, tz=NEW_YORK),  # 06:30 UTC, before the jump
            ts(2026, 3, 8, 11),
            id="spring-forward-inside-night",
        ),
        # Fall back: 9 h long.
        pytest.param(
            ts(2026, 10, 31, 22, tz=NEW_YORK),  # 02:00 UTC, EDT
            ts(2026, 11, 1, 12),  # 07:00 EST
            id="fall-back-2026-11-01",
        ),
        pytest.param(
            ts(2026, 11, 1, 1, 30, tz=NEW_YORK, fold=1),  # 06:30 UTC, the second 01:30
            ts(2026, 11, 1, 12),
            id="fall-back-in-repeated-hour",
        ),
    ],
)
def test_quiet_hours_end_across_dst_change(now: float, until: float) -> None:
    person = replace(PERSON, timezone=NEW_YORK, quiet=NIGHT)
    decision = Situation(line=replace(LINE, now=now), person=person).decide()
    assert (decision.reason, decision.until) == (Reason.QUIET, until)
    assert in_quiet_hours(until - 1, NEW_YORK, NIGHT)
    assert not in_quiet_hours(until, NEW_YORK, NIGHT)


@pytest.mark.parametrize(
    ("quiet", "now", "end"),
    [
        pytest.param(NIGHT, ts(2026, 6, 15, 23), ts(2026, 6, 16, 7), id="before-midnight"),
        pytest.param(NIGHT, ts(2026, 6, 16, 3), ts(2026, 6, 16, 7), id="after-midnight"),
        pytest.param(NIGHT, ts(2026, 6, 16, 7), ts(2026, 6, 17, 7), id="at-end-means-tomorrow"),
        pytest.param(LUNCH, ts(2026, 6, 15, 13), ts(2026, 6, 15, 14), id="lunch-start"),
        pytest.param(LUNCH, ts(2026, 6, 15, 14), ts(2026, 6, 16, 14), id="lunch-end-tomorrow"),
    ],
)
def test_quiet_hours_end_is_the_next_end(quiet: QuietHours, now: float, end: float) -> None:
    assert quiet_hours_end(now, UTC, quiet) == end


def test_quiet_hours_end_in_repeated_hour_is_after_now() -> None:
    quiet = QuietHours(dt.time(22), dt.time(1, 30))
    now = ts(2026, 11, 1, 1, 15, tz=NEW_YORK, fold=1)  # 06:15 UTC, the second 01:15 (EST)
    assert in_quiet_hours(now, NEW_YORK, quiet)
    # The next 01:30 on the wall clock is 01:30 EST, 06:30 UTC.
    assert quiet_hours_end(now, NEW_YORK, quiet) == ts(2026, 11, 1, 6, 30)


def test_quiet_hours_end_in_dst_gap_is_when_they_end() -> None:
    quiet = QuietHours(dt.time(22), dt.time(2, 30))
    now = ts(2026, 3, 7, 23, tz=NEW_YORK)
    assert not in_quiet_hours(ts(2026, 3, 8, 7), NEW_YORK, quiet)  # 03:00 EDT
    assert quiet_hours_end(now, NEW_YORK, quiet) == ts(2026, 3, 8, 7)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        pytest.param("22:00-07:00", dt.time(22), dt.time(7), id="across-midnight"),
        pytest.param("13:00-14:00", dt.time(13), dt.time(14), id="same-day"),
        pytest.param(" 22:30 - 06:45 ", dt.time(22, 30), dt.time(6, 45), id="spaces"),
        pytest.param("00:00-23:59", dt.time(0), dt.time(23, 59), id="whole-day-but-a-minute"),
        pytest.param("23:59-00:00", dt.time(23, 59), dt.time(0), id="last-minute"),
    ],
)
def test_quiet_hours_parse_good(text: str, start: dt.time, end: dt.time) -> None:
    assert QuietHours.parse(text) == QuietHours(start, end)


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("", id="empty"),
        pytest.param("22:00", id="one-time"),
        pytest.param("22:00-", id="no-end"),
        pytest.param("-07:00", id="no-start"),
        pytest.param("22:00-07:00-08:00", id="three-times"),
        pytest.param("22:00 07:00", id="no-dash"),
        pytest.param("late-early", id="words"),
        pytest.param("25:00-07:00", id="hour-25"),
        pytest.param("24:00-07:00", id="hour-24"),
        pytest.param("22:60-07:00", id="minute-60"),
        pytest.param("10:00-10:00", id="start-equals-end"),
    ],
)
def test_quiet_hours_parse_bad(text: str) -> None:
    with pytest.raises(ValueError, match="quiet hours must"):
        QuietHours.parse(text)


@pytest.mark.parametrize("text", ["22:00Z-07:00Z", "22:00-07:00+05:00"])
def test_quiet_hours_parse_rejects_utc_offset(text: str) -> None:
    with pytest.raises(ValueError, match="quiet hours must"):
        QuietHours.parse(text)


# Budgets

# 23:30 in Tokyo, 14:30 UTC: the Tokyo day ends in 30 minutes, the UTC day in 9.5 h.
TOKYO_LATE = ts(2026, 6, 15, 23, 30, tz=TOKYO)
TOKYO_USER = replace(PERSON, timezone=TOKYO)


@pytest.mark.parametrize(
    ("spend", "cost", "reason"),
    [
        pytest.param(Spend(user_segments_today=0), 1, Reason.SEND, id="user-nothing-spent"),
        pytest.param(Spend(user_segments_today=19), 1, Reason.SEND, id="user-19+1-reaches-20"),
        pytest.param(Spend(user_segments_today=20), 1, Reason.USER_BUDGET, id="user-20+1"),
        pytest.param(Spend(user_segments_today=18), 2, Reason.SEND, id="user-18+2"),
        pytest.param(Spend(user_segments_today=19), 2, Reason.USER_BUDGET, id="user-19+2"),
        pytest.param(Spend(user_segments_today=25), 1, Reason.USER_BUDGET, id="user-overspent"),
        pytest.param(Spend(global_segments_today=499), 1, Reason.SEND, id="global-499+1"),
        pytest.param(Spend(global_segments_today=500), 1, Reason.GLOBAL_BUDGET, id="global-500+1"),
        pytest.param(Spend(global_segments_today=499), 2, Reason.GLOBAL_BUDGET, id="global-499+2"),
    ],
)
def test_decide_daily_budgets(spend: Spend, cost: int, reason: Reason) -> None:
    decision = Situation(line=replace(LINE, segments=cost), spend=spend).decide()
    assert decision.reason == reason
    assert decision.action == ("send" if reason == Reason.SEND else "hold")


@pytest.mark.parametrize(
    ("now", "until"),
    [
        pytest.param(TOKYO_LATE, ts(2026, 6, 15, 15), id="2330-jst-until-midnight-jst"),
        pytest.param(
            ts(2026, 6, 16, 0, 30, tz=TOKYO),  # 15:30 UTC on the 15th: a new Tokyo day
            ts(2026, 6, 16, 15),
            id="0030-jst-until-next-midnight-jst",
        ),
        pytest.param(ts(2026, 6, 16, 0, tz=TOKYO), ts(2026, 6, 16, 15), id="exactly-midnight-jst"),
    ],
)
def test_user_budget_holds_until_midnight_in_user_timezone(now: float, until: float) -> None:
    decision = Situation(line=replace(LINE, now=now), person=TOKYO_USER, spend=USER_SPENT).decide()
    assert (decision.action, decision.reason, decision.until) == ("hold", Reason.USER_BUDGET, until)
    assert dt.datetime.fromtimestamp(until, TOKYO).time() == dt.time(0)


@pytest.mark.parametrize(
    ("rules_tz", "until"),
    [
        pytest.param(UTC, ts(2026, 6, 16, 0), id="utc"),
        pytest.param(NEW_YORK, ts(2026, 6, 16, 4), id="new-york"),  # 00:00 EDT
        pytest.param(KOLKATA, ts(2026, 6, 15, 18, 30), id="kolkata"),  # 00:00 IST
    ],
)
def test_global_budget_holds_until_midnight_in_rules_timezone(
    rules_tz: ZoneInfo, until: float
) -> None:
    # The user lives in Tokyo, but the global cap counts in the service's timezone.
    decision = Situation(
        line=replace(LINE, now=TOKYO_LATE),
        person=TOKYO_USER,
        spend=GLOBAL_SPENT,
        rules=replace(RULES, timezone=rules_tz),
    ).decide()
    assert (decision.action, decision.reason, decision.until) == (
        "hold",
        Reason.GLOBAL_BUDGET,
        until,
    )


# Local days

DAY_CASES = [
    # (tz, now, midnight that started the day, next midnight), all as UTC instants.
    pytest.param(UTC, ts(2026, 6, 15, 12), ts(2026, 6, 15), ts(2026, 6, 16), id="utc-noon"),
    pytest.param(UTC, ts(2026, 6, 15), ts(2026, 6, 15), ts(2026, 6, 16), id="utc-exact-midnight"),
    pytest.param(
        UTC, ts(2026, 6, 15, 23, 59, 59), ts(2026, 6, 15), ts(2026, 6, 16), id="utc-last-second"
    ),
    pytest.param(UTC, ts(2026, 12, 31, 18), ts(2026, 12, 31), ts(2027, 1, 1), id="utc-year-end"),
    pytest.param(
        TOKYO, ts(2026, 6, 15, 14, 30), ts(2026, 6, 14, 15), ts(2026, 6, 15, 15), id="tokyo-2330"
    ),
    pytest.param(
        TOKYO, ts(2026, 6, 15, 15), ts(2026, 6, 15, 15), ts(2026, 6, 16, 15), id="tokyo-midnight"
    ),
    pytest.param(
        KOLKATA,
        ts(2026, 6, 14, 21, 30),  # 03:00 IST on the 15th
        ts(2026, 6, 14, 18, 30),
        ts(2026, 6, 15, 18, 30),
        id="kolkata-0300",
    ),
    pytest.param(
        NEW_YORK,
        ts(2026, 6, 16, 2),  # 22:00 EDT on the 15th
        ts(2026, 6, 15, 4),
        ts(2026, 6, 16, 4),
        id="new-york-summer-evening",
    ),
    pytest.param(
        NEW_YORK,
        ts(2026, 3, 8, 16),  # noon EDT on the 23-hour day
        ts(2026, 3, 8, 5),  # 00:00 EST
        ts(2026, 3, 9, 4),  # 00:00 EDT
        id="new-york-spring-forward-day",
    ),
    pytest.param(
        NEW_YORK,
        ts(2026, 11, 1, 17),  # noon EST on the 25-hour day
        ts(2026, 11, 1, 4),  # 00:00 EDT
        ts(2026, 11, 2, 5),  # 00:00 EST
        id="new-york-fall-back-day",
    ),
    pytest.param(
        SANTIAGO,
        ts(2026, 9, 6, 16),  # 13:00 -03:00; the clocks jumped from 00:00 to 01:00
        ts(2026, 9, 6, 4),  # the day began at 01:00 -03:00
        ts(2026, 9, 7, 3),
        id="santiago-no-midnight",
    ),
]


@pytest.mark.parametrize(("tz", "now", "start", "following"), DAY_CASES)
def test_day_start_and_next_day(tz: ZoneInfo, now: float, start: float, following: float) -> None:
    assert (day_start(now, tz), next_day(now, tz)) == (start, following)
    assert day_start(now, tz) <= now < next_day(now, tz)
    # The next day starts where the current one ends.
    assert day_start(next_day(now, tz), tz) == next_day(now, tz)


# Digests

TWO_MORE = [Held("#b", "dave", "earlier in b", ts(2026, 6, 15, 9)), Held("#a", "eve", "first", NOW)]


def three_held(text: str) -> list[Held]:
    """Three highlights, the latest (in #x) in the middle of the list, not at the end."""
    return [TWO_MORE[0], Held("#x", "carol", text, NOW + 60), TWO_MORE[1]]


@pytest.mark.parametrize(
    ("held", "expected"),
    [
        pytest.param([Held("#a", "bob", "hi alice", NOW)], "[#a] <bob> hi alice", id="one"),
        pytest.param([Held("", "bob", "hi alice", NOW)], "<bob> hi alice", id="one-private"),
        pytest.param(
            three_held("latest text"),
            "3 highlights: [#x] <carol> latest text (+2 more in #a, #b)",
            id="three-latest-by-time-not-list-order",
        ),
        pytest.param(
            [*three_held("latest text"), Held("#b", "frank", "again in b", NOW + 30)],
            "4 highlights: [#x] <carol> latest text (+3 more in #a, #b)",
            id="channels-deduplicated",
        ),
        pytest.param(
            [Held("#x", "bob", "older", NOW), Held("#x", "carol", "newer", NOW + 1)],
            "2 highlights: [#x] <carol> newer (+1 more in #x)",
            id="same-channel-as-latest",
        ),
        pytest.param(
            [Held("#a", "eve", "first", NOW), Held("", "bob", "private hi", NOW + 1)],
            "2 highlights: <bob> private hi (+1 more in #a)",
            id="latest-private",
        ),
        pytest.param(
            [
                Held("", "bob", "pm", NOW),
                Held("#z", "eve", "z", NOW + 1),
                Held("#x", "carol", "latest", NOW + 2),
            ],
            "3 highlights: [#x] <carol> latest (+2 more in #z, private)",
            id="earlier-private-listed-as-private",
        ),
        pytest.param(
            [Held("#a", "bob", "\x02bold\x02 \x0304,01red\x03\r\n\tnext  line\x1f", NOW)],
            "[#a] <bob> bold red next line",
            id="one-formatting-stripped",
        ),
        pytest.param(
            three_held("\x1ditalic\x1d and\r\n\x0312blue\x0f"),
            "3 highlights: [#x] <carol> italic and blue (+2 more in #a, #b)",
            id="three-formatting-stripped",
        ),
    ],
)
def test_digest_text(held: list[Held], expected: str) -> None:
    assert digest_text(held, max_segments=1) == expected


def test_digest_text_cuts_long_gsm_text_and_keeps_the_count() -> None:
    text = " ".join(f"word{i}" for i in range(100))
    digest = digest_text(three_held(text), max_segments=1)
    assert digest.startswith("3 highlights: [#x] <carol> word0 word1 ")
    assert digest.endswith("... (+2 more in #a, #b)")
    kept = digest.removeprefix("3 highlights: [#x] <carol> ").removesuffix(
        "... (+2 more in #a, #b)"
    )
    assert text.startswith(kept)
    assert encoding(digest) == "GSM-7"
    assert segments(digest) == 1
    assert units(digest) > 150  # it uses the room it has


def test_digest_text_cuts_long_ucs2_text_with_one_char_ellipsis() -> None:
    text = "grüße çava \U0001f600 " * 30  # "ç" and the emoji are not GSM-7
    digest = digest_text(three_held(text), max_segments=1)
    assert digest.endswith("\u2026 (+2 more in #a, #b)")
    assert "..." not in digest
    assert encoding(digest) == "UCS-2"
    assert segments(digest) == 1
    assert units(digest) > 60


def test_digest_text_more_segments_allow_a_longer_text() -> None:
    text = " ".join(f"word{i}" for i in range(200))
    one, two = digest_text(three_held(text), 1), digest_text(three_held(text), 2)
    assert segments(one) == 1
    assert segments(two) == 2
    assert len(two) > len(one) + 100
    assert two.endswith("... (+2 more in #a, #b)")


def test_digest_text_long_single_highlight_is_cut() -> None:
    digest = digest_text([Held("#a", "bob", "x" * 400, NOW)], max_segments=1)
    assert digest.startswith("[#a] <bob> xxx")
    assert digest.endswith("...")
    assert segments(digest) == 1


def test_digest_text_ellipsis_follows_the_kept_text() -> None:
    digest = digest_text(three_held("a" * 300 + "\U0001f600"), max_segments=1)
    assert digest.endswith("... (+2 more in #a, #b)")
    assert encoding(digest) == "GSM-7"


def test_digest_text_needs_a_highlight() -> None:
    with pytest.raises(ValueError, match="at least one"):
        digest_text([], max_segments=1)


# Decision text


@pytest.mark.parametrize(
    "situation",
    [pytest.param(param.values[0], id=param.id) for param in EVERY_REASON],
)
def test_decision_str_names_action_and_reason(situation: Situation) -> None:
    decision = situation.decide()
    text = str(decision)
    assert text.startswith(f"{decision.action} ({decision.reason.value}): ")
    assert len(text) > len(f"{decision.action} ({decision.reason.value}): ")


def test_decision_str_exact() -> None:
    assert str(Decision("hold", Reason.COOLDOWN, "wait", NOW)) == "hold (cooldown): wait"
