"""Every command users give the bot, by private message on IRC or by SMS: one declaration each.

A declaration is one class. `@command(usage, where)` registers it; its docstring is
its HELP line; `parse` reads its arguments (pure, from core.commands' readers); `run`
does it and answers. Adding a command is adding one class here: HELP, the usage
errors, the IRC and the SMS dispatch all come from the registry.
"""

from __future__ import annotations

from dataclasses import dataclass

from highlightd.core.commands import (
    Args,
    NoArguments,
    Registry,
    Where,
    meant_pause,
    parse_code,
    parse_duration,
    parse_keyword,
    parse_phone,
    parse_quiet,
)
from highlightd.core.ircnames import DEFAULT_CHANTYPES, nick_key
from highlightd.core.policy import QuietHours
from highlightd.core.status import PAUSED_UNTIL_RESUME, describe, when
from highlightd.selfservice.consent import unregister
from highlightd.selfservice.context import Command, Context
from highlightd.selfservice.registration import check_code, request_code

MAX_KEYWORDS = 30

REGISTRY: Registry[Command] = Registry()
command = REGISTRY.command
# Carrier words, handled by Twilio: not our commands, but asked about (HELP STOP).
REGISTRY.topic("STOP", "by SMS only: answer STOP to any of our SMS; none come until START")
REGISTRY.topic("START", "by SMS only: after STOP, text START and SMS come again")


@command("REGISTER <phone>", anyone=True)
@dataclass(frozen=True, slots=True)
class Register:
    """text a 6-digit code to that number (one SMS; a nick registered to another
    phone gets it on THAT phone); answer VERIFY <code>. Write +<country code><number>"""

    phone: str  # E.164

    @classmethod
    def parse(cls, args: Args) -> Register:
        if not args.words:
            raise args.error()
        return cls(parse_phone(args.text, args.region))

    async def run(self, ctx: Context) -> list[str]:
        return await request_code(ctx, self.phone)


@command("VERIFY <6-digit code>", anyone=True)
@dataclass(frozen=True, slots=True)
class Verify:
    """confirm your phone with the code REGISTER texted you"""

    code: str  # six ASCII digits

    @classmethod
    def parse(cls, args: Args) -> Verify:
        return cls(parse_code(args))

    async def run(self, ctx: Context) -> list[str]:
        return await check_code(ctx, self.code)


@command("UNREGISTER [code]")
@dataclass(frozen=True, slots=True)
class Unregister:
    """no more SMS; forget your phone number. Unless your services account says so, a
    code goes to the registered phone first: UNREGISTER <code> then ends it"""

    code: str | None = None

    @classmethod
    def parse(cls, args: Args) -> Unregister:
        return cls(parse_code(args) if args.words else None)

    async def run(self, ctx: Context) -> list[str]:
        return await unregister(ctx, self.code)


@command("STATUS", Where.IRC | Where.SMS)
@dataclass(frozen=True, slots=True)
class Status(NoArguments):
    """show your phone, keywords, mutes, pause and quiet hours"""

    async def run(self, ctx: Context) -> list[str]:
        user, registrations = ctx.user, ctx.store.registrations
        keywords = await registrations.keywords(user.id)
        muted = sorted((await registrations.muted()).get(user.id, frozenset()))
        words = [k.word for k in keywords if not k.exception]
        exceptions = [k.word for k in keywords if k.exception]
        return [describe(user, words, exceptions, muted, ctx.now)]


@command("KEYWORDS ADD <word> | DEL <word> | LIST")
class Keywords:
    """words that text you besides your nick; a word with a leading - (like -bot)
    is an exception that never texts you"""

    @staticmethod
    def parse(args: Args) -> KeywordsAdd | KeywordsDel | KeywordsList:
        sub = args.words[0].upper() if args.words else "LIST"
        rest = " ".join(args.words[1:])
        if sub == "LIST" and not rest:
            return KeywordsList()
        if sub in ("ADD", "DEL", "REMOVE") and not rest:
            raise args.error()
        if sub == "ADD":
            return KeywordsAdd(*parse_keyword(rest, "ADD"))
        if sub in ("DEL", "REMOVE"):
            return KeywordsDel(*parse_keyword(rest, "DEL"))
        raise args.error()


@dataclass(frozen=True, slots=True)
class KeywordsAdd:
    word: str
    exception: bool

    async def run(self, ctx: Context) -> list[str]:
        registrations = ctx.store.registrations
        if len(await registrations.keywords(ctx.user.id)) >= MAX_KEYWORDS:
            return [f"you have {MAX_KEYWORDS} keywords already; DEL one first"]
        added = await registrations.add_keyword(
            ctx.user.id, self.word, nick_key(self.word), self.exception
        )
        kind = "exception" if self.exception else "keyword"
        return [f"{kind} {self.word} {'added' if added else 'was there already'}"]


@dataclass(frozen=True, slots=True)
class KeywordsDel:
    word: str
    exception: bool

    async def run(self, ctx: Context) -> list[str]:
        removed = await ctx.store.registrations.remove_keyword(
            ctx.user.id, nick_key(self.word), self.exception
        )
        return [f"{self.word} {'removed' if removed else 'was not there'}"]


@dataclass(frozen=True, slots=True)
class KeywordsList:
    async def run(self, ctx: Context) -> list[str]:
        keywords = await ctx.store.registrations.keywords(ctx.user.id)
        if not keywords:
            return ["no keywords: only your nick texts you; KEYWORDS ADD <word> adds one"]
        words = ", ".join(k.word for k in keywords if not k.exception) or "none"
        exceptions = ", ".join(k.word for k in keywords if k.exception)
        return [f"keywords {words}" + (f"; except {exceptions}" if exceptions else "")]


@command("MUTE <#channel>")
@dataclass(frozen=True, slots=True)
class Mute:
    """no SMS for highlights in that channel"""

    channel: str

    @classmethod
    def parse(cls, args: Args) -> Mute:
        return cls(args.channel())

    async def run(self, ctx: Context) -> list[str]:
        asker = ctx.irc
        joined = asker.channels
        if joined is not None and asker.fold(self.channel) not in map(asker.fold, joined):
            where = ", ".join(joined) or "no channel"
            return [f"I am not in {self.channel}, so nothing there texts you; I am in {where}"]
        await ctx.store.registrations.mute(ctx.user.id, asker.fold(self.channel), True)
        return [f"no SMS for highlights in {self.channel}"]


@command("UNMUTE <#channel>")
@dataclass(frozen=True, slots=True)
class Unmute:
    """undo MUTE"""

    channel: str

    @classmethod
    def parse(cls, args: Args) -> Unmute:
        return cls(args.channel())

    async def run(self, ctx: Context) -> list[str]:
        done = await ctx.store.registrations.mute(ctx.user.id, ctx.irc.fold(self.channel), False)
        return [f"{self.channel} {'unmuted' if done else 'was not muted'}"]


@command("PAUSE [duration]", Where.IRC | Where.SMS, by_sms=meant_pause)
@dataclass(frozen=True, slots=True)
class Pause:
    """no SMS for a while (30m, 2h, 1d; a bare number is minutes: PAUSE 90 is 90m;
    at most 30d) or until RESUME"""

    seconds: float | None  # None: until RESUME

    @classmethod
    def parse(cls, args: Args) -> Pause:
        return cls(parse_duration("".join(args.words)) if args.words else None)

    async def run(self, ctx: Context) -> list[str]:
        until = PAUSED_UNTIL_RESUME if self.seconds is None else ctx.now + self.seconds
        for user in ctx.users:
            await ctx.store.users.update(user.id, paused_until=until)
        if self.seconds is None:
            return ["paused until you say RESUME"]
        return [f"paused until {when(until, ctx.user.timezone)}"]


@command("RESUME", Where.IRC | Where.SMS)
@dataclass(frozen=True, slots=True)
class Resume(NoArguments):
    """end a PAUSE"""

    async def run(self, ctx: Context) -> list[str]:
        paused = [u for u in ctx.users if u.paused_until and u.paused_until > ctx.now]
        for user in paused:
            await ctx.store.users.update(user.id, paused_until=None)
        if not paused:
            return ["you were not paused: highlights text you already"]
        return ["resumed: highlights text you again"]


@command("QUIET <HH:MM-HH:MM> [timezone] | QUIET OFF")
@dataclass(frozen=True, slots=True)
class Quiet:
    """hold SMS during those hours and send one digest after; timezone like Europe/Berlin"""

    hours: QuietHours
    timezone: str | None  # an IANA name ZoneInfo knows; None: the user's, or the policy's

    @classmethod
    def parse(cls, args: Args) -> Quiet | QuietOff:
        if len(args.words) == 1 and args.words[0].upper() == "OFF":
            return QuietOff()
        if not args.words or any(w.upper() == "OFF" for w in args.words):
            raise args.error()
        return cls(*parse_quiet(args))

    async def run(self, ctx: Context) -> list[str]:
        text = f"{self.hours.start:%H:%M}-{self.hours.end:%H:%M}"
        timezone = self.timezone or ctx.user.timezone
        await ctx.store.users.update(ctx.user.id, quiet=text, timezone=timezone)
        return [f"quiet hours {text} {timezone or 'UTC'}: kept for a digest"]


@dataclass(frozen=True, slots=True)
class QuietOff:
    async def run(self, ctx: Context) -> list[str]:
        await ctx.store.users.update(ctx.user.id, quiet=None)
        return ["quiet hours off"]


@command("HELP [command]", anyone=True)
@dataclass(frozen=True, slots=True)
class Help:
    """the commands, or more about one"""

    topic: str | None  # a command's name

    @classmethod
    def parse(cls, args: Args) -> Help:
        if not args.words:
            return cls(None)
        topic = args.words[0].upper()
        help_lines(topic)  # raises for an unknown topic
        return cls(topic)

    async def run(self, ctx: Context) -> list[str]:
        return help_lines(self.topic)


def parse_irc(text: str, region: str | None = None, chantypes: str = DEFAULT_CHANTYPES) -> Command:
    """A private message to the bot as a command, or CommandError with the answer."""
    return REGISTRY.read_irc(text, region, chantypes)[1]


def parse_sms(text: str) -> Command | None:
    """An SMS command (PAUSE [duration], RESUME, STATUS); None: an answer to relay."""
    read = REGISTRY.read_sms(text)
    return read[1] if read else None


def help_lines(topic: str | None) -> list[str]:
    return REGISTRY.help_lines(topic)


HELP: dict[str, str] = {name: spec.help for name, spec in REGISTRY.specs.items()}
