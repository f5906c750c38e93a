"""Reading what a user asks of the bot, on IRC or by SMS. Pure: text in, command out.

The commands are declared in highlightd.selfservice.commands, each once, with its
parser, usage, help and handler. This module holds what reads them: the registry
that finds a command by its first word and makes HELP, and readers for the values
their arguments hold (a duration, a phone, a channel, a keyword, quiet hours).
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, Self, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from highlightd.core import phones
from highlightd.core.ircnames import DEFAULT_CHANTYPES, MAX_CHANNEL, is_channel_name, prefixes_text
from highlightd.core.matcher import words as irc_words
from highlightd.core.policy import QuietHours

MAX_PAUSE = 30 * 86400.0
MIN_KEYWORD, MAX_KEYWORD = 2, 30

C = TypeVar("C")
C_co = TypeVar("C_co", covariant=True)


class CommandError(Exception):
    """Bad input; str(exc) is the one-line answer to send back, with a hint."""


class Where(enum.Flag):
    """Where a command is accepted: a private message on IRC, an SMS, or both."""

    IRC = enum.auto()
    SMS = enum.auto()


@dataclass(frozen=True, slots=True)
class Args:
    """What a command's parser reads: the words after its name, and how to read them."""

    name: str
    usage: str
    words: tuple[str, ...]
    region: str | None = None  # reads national phone numbers (ISO 3166, 'US')
    chantypes: str = DEFAULT_CHANTYPES  # the channel prefixes of the asker's network

    @property
    def text(self) -> str:
        return " ".join(self.words)

    def error(self, why: str = "") -> CommandError:
        """A CommandError that ends with this command's usage."""
        return CommandError(f"{why}; usage: {self.usage}" if why else f"usage: {self.usage}")

    def nothing(self) -> None:
        if self.words:
            raise CommandError(f"{self.name} takes nothing after it; usage: {self.name}")

    def channel(self) -> str:
        """The one channel name the command takes."""
        if len(self.words) != 1:
            raise self.error()
        channel = self.words[0]
        if not is_channel_name(channel, self.chantypes):
            raise self.error(
                f"a channel starts with {prefixes_text(self.chantypes)}, like #example, "
                f"and has at most {MAX_CHANNEL} characters"
            )
        return channel


class NoArguments:
    """For a command that takes nothing after its name: its parse."""

    __slots__ = ()

    @classmethod
    def parse(cls, args: Args) -> Self:
        args.nothing()
        return cls()


class Parses(Protocol[C_co]):
    """A command's declaration: its `parse` reads Args; its docstring is its help."""

    def parse(self, args: Args, /) -> C_co: ...


D = TypeVar("D", bound=Parses[Any])


def _docstring(declaration: object) -> str:
    """The class's own docstring on one line: not a base class's, nor one dataclass made."""
    doc = " ".join((getattr(declaration, "__doc__", None) or "").split())
    made = f"{getattr(declaration, '__name__', '')}("
    return "" if doc.startswith(made) else doc


def _alone(words: Sequence[str]) -> bool:
    return not words


@dataclass(frozen=True, slots=True)
class Spec(Generic[C]):
    name: str
    usage: str
    summary: str
    parse: Callable[[Args], C]
    where: Where
    anyone: bool  # may be asked by someone not registered (REGISTER, VERIFY, HELP)
    # By SMS a word like "pause" may begin an answer: whether these words meant the command.
    by_sms: Callable[[Sequence[str]], bool]

    @property
    def help(self) -> str:
        also = "; also works by SMS" if self.where == Where.IRC | Where.SMS else ""
        return f"{self.usage} - {self.summary}{also}"


class Registry(Generic[C]):
    """Commands by name, in the order they were declared; HELP is made from them."""

    def __init__(self, base: Registry[C] | None = None) -> None:
        """A registry holding base's commands to begin with (tests add one to the real set)."""
        self._specs: dict[str, Spec[C]] = dict(base._specs) if base else {}
        self._topics: dict[str, str] = dict(base._topics) if base else {}

    def command(
        self,
        usage: str,
        where: Where = Where.IRC,
        *,
        anyone: bool = False,
        by_sms: Callable[[Sequence[str]], bool] = _alone,
    ) -> Callable[[D], D]:
        """Declare a command; its name is the usage's first word, its help the docstring."""

        def declare(declaration: D) -> D:
            name = usage.split()[0]
            if name in self._specs:
                raise ValueError(f"command {name} is declared twice")
            summary = _docstring(declaration)
            if not summary:
                raise ValueError(f"command {name} is declared without a docstring")
            parse = declaration.parse
            self._specs[name] = Spec(name, usage, summary, parse, where, anyone, by_sms)
            return declaration

        return declare

    def topic(self, name: str, text: str) -> None:
        """A HELP topic that is no command of ours (a carrier word like STOP)."""
        self._topics[name] = f"{name} - {text}"

    @property
    def specs(self) -> dict[str, Spec[C]]:
        return dict(self._specs)

    def read_irc(
        self, text: str, region: str | None = None, chantypes: str = DEFAULT_CHANTYPES
    ) -> tuple[Spec[C], C]:
        """A private message to the bot: the command's declaration and the command."""
        name, *words = text.split() or [""]
        if not name:
            raise CommandError("say HELP for the commands")
        spec = self._specs.get(name.upper())
        if spec is None or Where.IRC not in spec.where:
            raise CommandError(f"unknown command {name.upper()[:20]}; try HELP")
        return spec, spec.parse(Args(spec.name, spec.usage, tuple(words), region, chantypes))

    def read_sms(self, text: str) -> tuple[Spec[C], C] | None:
        """An SMS from a registered phone: a command meant for us, or None for an answer."""
        name, *words = text.split() or [""]
        spec = self._specs.get(name.upper())
        if spec is None or Where.SMS not in spec.where or not spec.by_sms(words):
            return None
        return spec, spec.parse(Args(spec.name, spec.usage, tuple(words)))

    def help_lines(self, topic: str | None) -> list[str]:
        """HELP alone: every command in a few short lines; HELP <command>: that command's line."""
        if topic is not None and topic.upper() in self._topics:
            return [self._topics[topic.upper()]]
        if topic is not None:
            spec = self._specs.get(topic.upper())
            if spec is None:
                raise CommandError(
                    f"no command {topic.upper()[:20]}; the commands: {', '.join(self._specs)}"
                )
            return [spec.help]
        irc = [s for s in self._specs.values() if Where.IRC in s.where]
        sms = [s.usage for s in self._specs.values() if Where.SMS in s.where]
        more = f"HELP <command> tells more, like HELP {irc[0].name}"
        if sms:
            more += "; by SMS you can send " + _either(sms)
        if self._topics:
            more += f" ({', '.join(self._topics)} too: HELP {next(iter(self._topics))})"
        return ["commands: " + ", ".join(s.usage for s in irc), more]


def asks_for_help(text: str, bot_nick: str, fold: Callable[[str], str]) -> bool:
    """Whether a channel line is "<bot>: help" (or "<bot>, help", "<bot> help")."""
    words = text.replace(":", " ").replace(",", " ").split()
    return len(words) == 2 and fold(words[0]) == fold(bot_nick) and words[1].lower() in _HELP_WORDS


_HELP_WORDS = ("help", "help?", "!help")


def _either(items: Sequence[str]) -> str:
    return " or ".join([", ".join(items[:-1]), items[-1]] if len(items) > 1 else items)


_CODE = re.compile(r"[0-9]{6}")
_UNITS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0}
_DURATION = re.compile(r"(?:([0-9.]+)d)?(?:([0-9.]+)h)?(?:([0-9.]+)m)?(?:([0-9.]+)s)?", re.I)
_NUMBER = re.compile(r"[0-9]+(?:\.[0-9]+)?")


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


def meant_pause(words: Sequence[str]) -> bool:
    """Whether an SMS starting with PAUSE is the command: "PAUSE soon" is; "pause the
    build, it's broken" is an answer to relay."""
    return len(words) <= 1 or words[0][:1].isdigit()


def parse_code(args: Args) -> str:
    """A six-digit code, spaces inside dropped ("123 456" as it was read out)."""
    code = "".join(args.words)
    if not _CODE.fullmatch(code):
        raise args.error()
    return code


def parse_keyword(text: str, sub: str) -> tuple[str, bool]:
    """A keyword and whether it is an exception (a leading -), for KEYWORDS <sub>."""
    exception = text.startswith("-")
    word = text[1:] if exception else text
    if irc_words(word) != [word] or not MIN_KEYWORD <= len(word) <= MAX_KEYWORD:
        raise CommandError(
            f"a keyword is one word of {MIN_KEYWORD} to {MAX_KEYWORD} letters, digits "
            "and -_[]{}\\|^` (a leading - makes it an exception); "
            f"usage: KEYWORDS {sub} <word>"
        )
    return word, exception


def parse_quiet(args: Args) -> tuple[QuietHours, str | None]:
    """Quiet hours and an optional IANA timezone: '22:00-07:00 Europe/Berlin'."""
    words = args.words
    # Times hold no letters and every IANA name does: that splits '22:00 - 07:00 UTC'.
    timezone = words[-1] if len(words) > 1 and any(c.isalpha() for c in words[-1]) else None
    try:
        hours = QuietHours.parse(" ".join(words[:-1] if timezone else words))
    except ValueError as exc:
        raise args.error(str(exc)) from None
    if timezone is not None:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            raise CommandError(
                f"unknown timezone {timezone[:40]!r}; use a name like Europe/Berlin or UTC"
            ) from None
    return hours, timezone
