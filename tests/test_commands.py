"""Table tests for the command parser: one input per case, the command or the error it gives."""

from __future__ import annotations

import datetime as dt

import pytest

from highlightd.core.commands import CommandError, parse_duration, parse_phone
from highlightd.core.policy import QuietHours
from highlightd.selfservice.commands import (
    HELP,
    Help,
    KeywordsAdd,
    KeywordsDel,
    KeywordsList,
    Mute,
    Pause,
    Quiet,
    QuietOff,
    Register,
    Resume,
    Status,
    Unmute,
    Unregister,
    Verify,
    help_lines,
    parse_irc,
    parse_sms,
)
from highlightd.selfservice.context import Command

NIGHT = QuietHours(dt.time(22), dt.time(7))

GOOD: list[tuple[str, Command]] = [
    # REGISTER: the rest of the line is the number
    ("REGISTER +15551230001", Register("+15551230001")),
    ("register +1 555 123 0001", Register("+15551230001")),
    ("  Register\t+1 (555) 123-0001  ", Register("+15551230001")),
    ("REGISTER +49 151 12345678", Register("+4915112345678")),
    # VERIFY: spaces inside the code are dropped
    ("VERIFY 123456", Verify("123456")),
    ("verify 123 456", Verify("123456")),
    ("\tVeRiFy   012345 ", Verify("012345")),
    # no arguments
    ("UNREGISTER", Unregister()),
    ("unregister  ", Unregister()),
    ("UNREGISTER 123 456", Unregister("123456")),
    ("STATUS", Status()),
    ("status", Status()),
    ("RESUME", Resume()),
    ("\tresume\t", Resume()),
    # KEYWORDS
    ("KEYWORDS", KeywordsList()),
    ("keywords list", KeywordsList()),
    ("KEYWORDS LIST", KeywordsList()),
    ("KEYWORDS ADD python", KeywordsAdd("python", exception=False)),
    ("keywords add Python", KeywordsAdd("Python", exception=False)),
    ("Keywords   Add\tdeploy-bot", KeywordsAdd("deploy-bot", exception=False)),
    ("KEYWORDS ADD -bot", KeywordsAdd("bot", exception=True)),
    ("KEYWORDS ADD [al]", KeywordsAdd("[al]", exception=False)),
    ("KEYWORDS ADD a_b{c}|d^e`f\\g", KeywordsAdd("a_b{c}|d^e`f\\g", exception=False)),
    ("KEYWORDS ADD café", KeywordsAdd("café", exception=False)),
    ("KEYWORDS ADD ab", KeywordsAdd("ab", exception=False)),
    ("KEYWORDS ADD " + "x" * 30, KeywordsAdd("x" * 30, exception=False)),
    ("KEYWORDS DEL python", KeywordsDel("python", exception=False)),
    ("keywords del -bot", KeywordsDel("bot", exception=True)),
    ("KEYWORDS REMOVE python", KeywordsDel("python", exception=False)),
    ("keywords remove -bot", KeywordsDel("bot", exception=True)),
    # MUTE / UNMUTE
    ("MUTE #python", Mute("#python")),
    ("mute  &local ", Mute("&local")),
    ("MUTE #Chan.With-Odd_Chars!", Mute("#Chan.With-Odd_Chars!")),
    ("MUTE #" + "c" * 49, Mute("#" + "c" * 49)),
    ("UNMUTE #python", Unmute("#python")),
    ("unmute\t#python", Unmute("#python")),
    # PAUSE
    ("PAUSE", Pause(None)),
    ("pause", Pause(None)),
    ("PAUSE 2h", Pause(7200.0)),
    ("pause 30M", Pause(1800.0)),
    ("PAUSE 45", Pause(2700.0)),
    ("Pause  1h 30m", Pause(5400.0)),
    # QUIET
    ("QUIET 22:00-07:00", Quiet(NIGHT, None)),
    ("quiet 22:00-07:00 Europe/Berlin", Quiet(NIGHT, "Europe/Berlin")),
    ("QUIET  22:00 - 07:00\tUTC", Quiet(NIGHT, "UTC")),
    ("QUIET 22:00 -07:00 America/Port-au-Prince", Quiet(NIGHT, "America/Port-au-Prince")),
    ("QUIET 09:30-17:45", Quiet(QuietHours(dt.time(9, 30), dt.time(17, 45)), None)),
    ("QUIET OFF", QuietOff()),
    ("quiet off", QuietOff()),
    ("Quiet Off ", QuietOff()),
    # HELP
    ("HELP", Help(None)),
    ("help", Help(None)),
    ("HELP register", Help("REGISTER")),
    ("help Keywords", Help("KEYWORDS")),
    ("HELP quiet off", Help("QUIET")),
]


@pytest.mark.parametrize(("text", "expected"), GOOD)
def test_parse_irc_reads_command(text: str, expected: Command) -> None:
    assert parse_irc(text) == expected


@pytest.mark.parametrize("name", sorted(HELP))
def test_every_command_has_a_good_case(name: str) -> None:
    assert any(text.split()[0].upper() == name for text, _ in GOOD)


BAD: list[tuple[str, str]] = [
    # the line as a whole
    ("", "say HELP for the commands"),
    ("   \t ", "say HELP for the commands"),
    ("FOO", "unknown command FOO; try HELP"),
    ("foo bar", "unknown command FOO; try HELP"),
    ("/REGISTER +15551230001", "unknown command /REGISTER"),
    ("!status", "unknown command !STATUS"),
    ("x" * 300, "unknown command " + "X" * 20 + ";"),
    # REGISTER
    ("REGISTER", "usage: REGISTER <phone>"),
    ("REGISTER (555) 123-0001", "+<country code><number>"),
    ("REGISTER +1555", "not a possible phone number"),
    ("REGISTER call me", "+<country code><number>"),
    # VERIFY
    ("VERIFY", "usage: VERIFY <6-digit code>"),
    ("VERIFY 12345", "usage: VERIFY <6-digit code>"),
    ("VERIFY 1234567", "usage: VERIFY <6-digit code>"),
    ("VERIFY 12a456", "usage: VERIFY <6-digit code>"),
    ("VERIFY 123-456", "usage: VERIFY <6-digit code>"),
    # Arabic-Indic digits are digits to str.isdigit, not to a code
    ("VERIFY \u0661\u0662\u0663\u0664\u0665\u0666", "usage: VERIFY <6-digit code>"),
    # UNREGISTER takes a code (from the registered phone) or nothing
    ("UNREGISTER now", "usage: UNREGISTER [code]"),
    # no arguments allowed
    ("STATUS please", "STATUS takes nothing after it"),
    ("RESUME 2h", "RESUME takes nothing after it"),
    # KEYWORDS
    ("KEYWORDS ADD", "usage: KEYWORDS"),
    ("KEYWORDS DEL", "usage: KEYWORDS"),
    ("KEYWORDS FROB python", "usage: KEYWORDS"),
    ("KEYWORDS LIST all", "usage: KEYWORDS"),
    ("KEYWORDS ADD two words", "a keyword is one word"),
    ("KEYWORDS ADD a", "a keyword is one word of 2 to 30"),
    ("KEYWORDS ADD -a", "a keyword is one word of 2 to 30"),
    ("KEYWORDS ADD -", "a keyword is one word"),
    ("KEYWORDS ADD " + "x" * 31, "a keyword is one word of 2 to 30"),
    ("KEYWORDS ADD foo.bar", "letters, digits and -_[]{}\\|^`"),
    ("KEYWORDS ADD foo!", "letters, digits and -_[]{}\\|^`"),
    ("KEYWORDS ADD @nick", "usage: KEYWORDS ADD <word>"),
    ("KEYWORDS DEL foo,bar", "usage: KEYWORDS DEL <word>"),
    # MUTE / UNMUTE
    ("MUTE", "usage: MUTE <#channel>"),
    ("MUTE #a #b", "usage: MUTE <#channel>"),
    ("MUTE python", "a channel starts with # or &"),
    ("MUTE #", "a channel starts with # or &"),
    ("MUTE #a,#b", "a channel starts with # or &"),
    ("MUTE #bell\x07", "a channel starts with # or &"),
    ("MUTE +modeless", "a channel starts with # or &"),
    ("MUTE #" + "c" * 50, "at most 50 characters"),
    ("UNMUTE", "usage: UNMUTE <#channel>"),
    ("UNMUTE chan", "usage: UNMUTE <#channel>"),
    # PAUSE
    ("PAUSE soon", "durations look like 30m, 2h or 1d"),
    ("PAUSE 0", "longer than nothing"),
    ("PAUSE 31d", "at most 30 days"),
    # QUIET
    ("QUIET", "usage: QUIET <HH:MM-HH:MM> [timezone]"),
    ("QUIET OFF now", "usage: QUIET"),
    ("QUIET 22:00-07:00 OFF", "usage: QUIET"),
    ("QUIET 22:00", "quiet hours must look like 22:00-07:00"),
    ("QUIET 22:00 07:00", "quiet hours must look like 22:00-07:00"),
    ("QUIET 25:00-07:00", "quiet hours must look like 22:00-07:00"),
    ("QUIET 22:00-22:00", "must not start and end at the same time"),
    ("QUIET 22:00+02:00-07:00+02:00", "without a UTC offset"),
    ("QUIET 22:00-07:00 Mars/Olympus", "unknown timezone 'Mars/Olympus'"),
    ("QUIET 22:00-07:00 ../etc/passwd", "unknown timezone '../etc/passwd'"),
    ("QUIET 22:00-07:00 Europe", "unknown timezone 'Europe'"),
    ("QUIET 22:00-07:00 europe/berlin", "unknown timezone"),
    # HELP
    ("HELP nope", "no command NOPE; the commands: REGISTER, VERIFY"),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_parse_irc_rejects_with_answer(text: str, message: str) -> None:
    with pytest.raises(CommandError) as info:
        parse_irc(text)
    answer = str(info.value)
    assert message in answer
    assert "\n" not in answer and len(answer.encode()) < 400


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("REGISTER (555) 123-0001", "US", Register("+15551230001")),
        ("REGISTER 0151 12345678", "DE", Register("+4915112345678")),
        ("REGISTER +15551230001", "DE", Register("+15551230001")),
    ],
)
def test_parse_irc_reads_national_number_in_region(
    text: str, region: str, expected: Command
) -> None:
    assert parse_irc(text, region) == expected


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("2h", 7200.0),
        ("30m", 1800.0),
        ("1h30m", 5400.0),
        ("90s", 90.0),
        ("1d", 86400.0),
        ("2d12h", 216000.0),
        ("1d2h3m4s", 86400.0 + 7200 + 180 + 4),
        ("45", 2700.0),
        ("1.5h", 5400.0),
        ("2H", 7200.0),
        ("1H30M", 5400.0),
        (" 10m ", 600.0),
        ("30d", 30 * 86400.0),
        ("720h", 30 * 86400.0),
        ("1s", 1.0),
    ],
)
def test_parse_duration_reads(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "durations look like 30m, 2h or 1d"),
        ("soon", "durations look like 30m, 2h or 1d"),
        ("h", "durations look like 30m, 2h or 1d"),
        ("2x", "durations look like 30m, 2h or 1d"),
        ("30m2h", "durations look like 30m, 2h or 1d"),  # units out of order
        ("2h30", "durations look like 30m, 2h or 1d"),
        ("2 h", "durations look like 30m, 2h or 1d"),
        ("1..5h", "durations look like 30m, 2h or 1d"),
        ("-5", "durations look like 30m, 2h or 1d"),
        ("-1h", "durations look like 30m, 2h or 1d"),
        ("1e3", "durations look like 30m, 2h or 1d"),
        ("\u0665m", "durations look like 30m, 2h or 1d"),  # Arabic-Indic five
        ("0", "longer than nothing"),
        ("0h0m", "longer than nothing"),
        ("0s", "longer than nothing"),
        ("30d1s", "at most 30 days"),
        ("31d", "at most 30 days"),
        ("43201", "at most 30 days"),  # minutes
    ],
)
def test_parse_duration_rejects(text: str, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "region", "expected"),
    [
        ("+15551230001", None, "+15551230001"),
        ("+1 (555) 123-0001", None, "+15551230001"),
        ("+1 555 123 0001", None, "+15551230001"),
        ("+1.555.123.0001", None, "+15551230001"),
        ("  +4915112345678 ", None, "+4915112345678"),
        ("+49 151 12345678", "US", "+4915112345678"),  # E.164 ignores the region
        ("(555) 123-0001", "US", "+15551230001"),
        ("555-123-0001", "us", "+15551230001"),
        ("0151 12345678", "DE", "+4915112345678"),
        ("0151/12345678", "DE", "+4915112345678"),
        ("0049 151 12345678", "DE", "+4915112345678"),
    ],
)
def test_parse_phone_reads(text: str, region: str | None, expected: str) -> None:
    assert parse_phone(text, region) == expected


@pytest.mark.parametrize(
    ("text", "region", "message"),
    [
        ("(555) 123-0001", None, r"\+<country code><number>"),
        ("0151 12345678", None, r"\+<country code><number>"),
        ("5551230001", "XX", r"\+<country code><number>"),
        ("+1555", None, "not a possible phone number"),
        ("+1 555 123 0001 999", None, "not a possible phone number"),
        ("123", "US", "not a possible phone number"),
        ("", "US", r"\+<country code><number>"),
        ("call +15551230001", None, r"\+<country code><number>"),
        ("1-800-FLOWERS", "US", r"\+<country code><number>"),
        ("+1 555 123 0001 ext. 5", None, r"\+<country code><number>"),
        ("+1 555 123 0001 +1", None, r"\+<country code><number>"),
    ],
)
def test_parse_phone_rejects(text: str, region: str | None, message: str) -> None:
    with pytest.raises(CommandError, match=message):
        parse_phone(text, region)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PAUSE", Pause(None)),
        ("pause", Pause(None)),
        ("  Pause \n", Pause(None)),
        ("pause 2h", Pause(7200.0)),
        ("PAUSE 1h 30m", Pause(5400.0)),
        ("PAUSE 45", Pause(2700.0)),
        ("RESUME", Resume()),
        ("resume\n", Resume()),
        ("STATUS", Status()),
        (" status ", Status()),
        ("on my way", None),
        ("STOP", None),
        ("HELP", None),
        ("KEYWORDS", None),
        ("status report please", None),
        ("resume the build", None),
        ("pause the build, it is broken", None),
        ("Pause, I'm driving", None),
        ("status?", None),
        ("", None),
    ],
)
def test_parse_sms_reads_only_its_commands(text: str, expected: Command | None) -> None:
    assert parse_sms(text) == expected


@pytest.mark.parametrize("text", ["PAUSE soon", "pause 2x", "PAUSE 2 hours please", "pause 31d"])
def test_parse_sms_rejects_meant_pause(text: str) -> None:
    with pytest.raises(CommandError):
        parse_sms(text)


def test_help_lists_every_command_briefly() -> None:
    lines = help_lines(None)
    assert 2 <= len(lines) <= 4
    text = " ".join(lines)
    for name in HELP:
        assert name in text
    for line in lines:
        assert len(line.encode()) < 400


@pytest.mark.parametrize("name", sorted(HELP))
def test_help_line_per_command(name: str) -> None:
    lines = help_lines(name.lower())
    assert lines == [HELP[name]]
    assert lines[0].startswith(name)
    assert all(len(line.encode()) < 400 for line in lines)


def test_help_register_explains_the_cost() -> None:
    assert help_lines("register") == [HELP["REGISTER"]]
    assert "VERIFY" in HELP["REGISTER"] and "SMS" in HELP["REGISTER"]


def test_help_unknown_topic_lists_commands() -> None:
    with pytest.raises(CommandError) as info:
        help_lines("nope")
    assert all(name in str(info.value) for name in HELP)
