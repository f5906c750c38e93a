"""What a user asks of the bot, by private message on IRC or by SMS. Pure: text in, command out."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeAlias
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from highlightd.core import phones
from highlightd.core.matcher import words
from highlightd.core.policy import QuietHours

MAX_PAUSE = 30 * 86400.0
MIN_KEYWORD, MAX_KEYWORD = 2, 30
MAX_CHANNEL = 50


class CommandError(Exception):
    """Bad input; str(exc) is the one-line answer to send back, with a hint."""


@dataclass(frozen=True, slots=True)
class Register:
    phone: str  # E.164


@dataclass(frozen=True, slots=True)
class Verify:
    code: str  # six ASCII digits


@dataclass(frozen=True, slots=True)
class Unregister:
    pass


@dataclass(frozen=True, slots=True)
class Status:
    pass


@dataclass(frozen=True, slots=True)
class KeywordsAdd:
    word: str
    exception: bool


@dataclass(frozen=True, slots=True)
class KeywordsDel:
    word: str
    exception: bool


@dataclass(frozen=True, slots=True)
class KeywordsList:
    pass


@dataclass(frozen=True, slots=True)
class Mute:
    channel: str


@dataclass(frozen=True, slots=True)
class Unmute:
    channel: str


@dataclass(frozen=True, slots=True)
class Pause:
    seconds: float | None  # None: until RESUME


@dataclass(frozen=True, slots=True)
class Resume:
    pass


@dataclass(frozen=True, slots=True)
class Quiet:
    hours: QuietHours
    timezone: str | None  # an IANA name ZoneInfo knows; None: the policy's timezone


@dataclass(frozen=True, slots=True)
class QuietOff:
    pass


@dataclass(frozen=True, slots=True)
class Help:
    topic: str | None  # a key of HELP


Command: TypeAlias = (
    Register | Verify | Unregister | Status | KeywordsAdd | KeywordsDel | KeywordsList
    | Mute | Unmute | Pause | Resume | Quiet | QuietOff | Help
)  # fmt: skip

# name -> (usage, what it does); HELP and the usage errors are both made from it.
_USAGE: dict[str, tuple[str, str]] = {
    "REGISTER": ("REGISTER <phone>", "text a 6-digit code to that number (costs one SMS); "
                 "answer VERIFY <code>. Write the number as +<country code><number>"),
    "VERIFY": ("VERIFY <6-digit code>", "confirm your phone with the code REGISTER texted you"),
    "UNREGISTER": ("UNREGISTER", "no more SMS; forget your phone number"),
    "STATUS": ("STATUS", "show your phone, keywords, mutes, pause and quiet hours"),
    "KEYWORDS": ("KEYWORDS ADD <word> | DEL <word> | LIST",
                 "words that text you besides your nick; a word with a leading - "
                 "(like -bot) is an exception that never texts you"),
    "MUTE": ("MUTE <#channel>", "no SMS for highlights in that channel"),
    "UNMUTE": ("UNMUTE <#channel>", "undo MUTE"),
    "PAUSE": ("PAUSE [duration]", "no SMS for a while (30m, 2h, 1d; at most 30d) "
              "or until RESUME; also works by SMS"),
    "RESUME": ("RESUME", "end a PAUSE; also works by SMS"),
    "QUIET": ("QUIET <HH:MM-HH:MM> [timezone] | QUIET OFF", "hold SMS during those hours "
              "and send one digest after; timezone like Europe/Berlin"),
    "HELP": ("HELP [command]", "the commands, or more about one"),
}  # fmt: skip
HELP: dict[str, str] = {name: f"{usage} - {what}" for name, (usage, what) in _USAGE.items()}

_CHANNEL = re.compile(r"[#&][^\s,\x07\x00]+")
_CODE = re.compile(r"[0-9]{6}")
_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
_DURATION = re.compile(r"(?:([0-9.]+)d)?(?:([0-9.]+)h)?(?:([0-9.]+)m)?(?:([0-9.]+)s)?", re.I)
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")


def _usage(name: str) -> CommandError:
    return CommandError(f"usage: {_USAGE[name][0]}")


def parse_duration(text: str) -> float:
    """'2h', '30m', '1h30m', '90s', '1d', '2d12h'; a bare number is minutes. Seconds."""
    text = text.strip()
    if _NUMBER.fullmatch(text):
        seconds = float(text) * 60
    else:
        m = _DURATION.fullmatch(text)
        parts = m.groups() if m else (None,)
        if not any(parts) or not all(p is None or _NUMBER.fullmatch(p) for p in parts):
            raise CommandError("durations look like 30m, 2h or 1d")
        seconds = sum(float(p) * f for p, f in zip(parts, _UNITS.values(), strict=True) if p)
    if seconds <= 0:
        raise CommandError("a duration must be longer than nothing, like 30m, 2h or 1d")
    if seconds > MAX_PAUSE:
        raise CommandError("a duration can be at most 30 days (30d)")
    return seconds


def parse_phone(text: str, region: str | None) -> str:
    """A phone number in E.164 (see core.phones), or a CommandError saying how to write one."""
    try:
        return phones.parse_phone(text, region)
    except phones.PhoneError as exc:
        raise CommandError(str(exc)) from None


def _keyword(text: str, name: str) -> tuple[str, bool]:
    if not text:
        raise _usage("KEYWORDS")
    exception = text.startswith("-")
    word = text[1:] if exception else text
    if words(word) != [word] or not MIN_KEYWORD <= len(word) <= MAX_KEYWORD:
        raise CommandError(
            f"a keyword is one word of {MIN_KEYWORD} to {MAX_KEYWORD} letters, digits "
            "and -_[]{}\\|^` (a leading - makes it an exception); "
            f"usage: KEYWORDS {name} <word>"
        )
    return word, exception


def _keywords(args: list[str]) -> Command:
    sub = args[0].upper() if args else "LIST"
    rest = " ".join(args[1:])
    if sub == "LIST" and not rest:
        return KeywordsList()
    if sub == "ADD":
        return KeywordsAdd(*_keyword(rest, "ADD"))
    if sub in ("DEL", "REMOVE"):
        return KeywordsDel(*_keyword(rest, "DEL"))
    raise _usage("KEYWORDS")


def _channel(args: list[str], name: str) -> str:
    if len(args) != 1:
        raise _usage(name)
    channel = args[0]
    if not _CHANNEL.fullmatch(channel) or len(channel) > MAX_CHANNEL:
        raise CommandError(
            f"a channel starts with # or &, like #example, and has at most {MAX_CHANNEL} "
            f"characters; usage: {_USAGE[name][0]}"
        )
    return channel


def _quiet(args: list[str]) -> Command:
    if len(args) == 1 and args[0].upper() == "OFF":
        return QuietOff()
    if not args or any(a.upper() == "OFF" for a in args):
        raise _usage("QUIET")
    # Times hold no letters and every IANA name does: that splits '22:00 - 07:00 UTC'.
    timezone = args[-1] if len(args) > 1 and any(c.isalpha() for c in args[-1]) else None
    hours_text = " ".join(args[:-1] if timezone else args)
    try:
        hours = QuietHours.parse(hours_text)
    except ValueError as exc:
        raise CommandError(f"{exc}; usage: {_USAGE['QUIET'][0]}") from None
    if timezone is not None:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise CommandError(
                f"unknown timezone {timezone[:40]!r}; use a name like Europe/Berlin or UTC"
            ) from None
    return Quiet(hours, timezone)


def _topic(args: list[str]) -> Command:
    if not args:
        return Help(None)
    topic = args[0].upper()
    help_lines(topic)  # raises for an unknown topic
    return Help(topic)


def _no_args(name: str, command: Command) -> Callable[[list[str], str | None], Command]:
    def parse(args: list[str], region: str | None) -> Command:
        if args:
            raise CommandError(f"{name} takes nothing after it; usage: {name}")
        return command

    return parse


def _register(args: list[str], region: str | None) -> Command:
    if not args:
        raise _usage("REGISTER")
    return Register(parse_phone(" ".join(args), region))


def _verify(args: list[str], region: str | None) -> Command:
    code = "".join(args)  # "123 456" as it was read out
    if not _CODE.fullmatch(code):
        raise _usage("VERIFY")
    return Verify(code)


def _pause(args: list[str], region: str | None) -> Command:
    return Pause(parse_duration("".join(args)) if args else None)


_PARSERS: dict[str, Callable[[list[str], str | None], Command]] = {
    "REGISTER": _register,
    "VERIFY": _verify,
    "UNREGISTER": _no_args("UNREGISTER", Unregister()),
    "STATUS": _no_args("STATUS", Status()),
    "KEYWORDS": lambda args, _: _keywords(args),
    "MUTE": lambda args, _: Mute(_channel(args, "MUTE")),
    "UNMUTE": lambda args, _: Unmute(_channel(args, "UNMUTE")),
    "PAUSE": _pause,
    "RESUME": _no_args("RESUME", Resume()),
    "QUIET": lambda args, _: _quiet(args),
    "HELP": lambda args, _: _topic(args),
}


def parse_irc(text: str, region: str | None = None) -> Command:
    """A private message to the bot; region reads national phone numbers (ISO 3166, 'US')."""
    name, *args = text.split() or [""]
    if not name:
        raise CommandError("say HELP for the commands")
    parser = _PARSERS.get(name.upper())
    if parser is None:
        raise CommandError(f"unknown command {name.upper()[:20]}; try HELP")
    return parser(args, region)


def parse_sms(text: str) -> Command | None:
    """An SMS from a registered phone: PAUSE [duration], RESUME or STATUS; None is a reply."""
    name, *args = text.split() or [""]
    name = name.upper()
    if name in ("RESUME", "STATUS") and not args:
        return _PARSERS[name](args, None)
    # "PAUSE soon" meant the command; "pause the build, it's broken" is a reply to relay.
    if name == "PAUSE" and (len(args) <= 1 or args[0][0].isdigit()):
        return _pause(args, None)
    return None


def help_lines(topic: str | None) -> list[str]:
    """HELP alone: every command in a few short lines; HELP <command>: that command's line."""
    if topic is None:
        return [
            "commands: " + ", ".join(usage for usage, _ in _USAGE.values()),
            "HELP <command> tells more, like HELP REGISTER; "
            "by SMS you can send PAUSE [duration], RESUME or STATUS",
        ]
    line = HELP.get(topic.upper())
    if line is None:
        raise CommandError(f"no command {topic.upper()[:20]}; the commands: {', '.join(HELP)}")
    return [line]
