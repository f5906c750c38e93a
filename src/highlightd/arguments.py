"""The `highlightd` command line: the global options and each subcommand's own."""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path

from highlightd import __version__
from highlightd.config import DEFAULT_CONFIG
from highlightd.infra import logs


def _log_spec(text: str) -> logs.LogSpec:
    try:
        return logs.parse_level(text)
    except logs.LogSpecError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _globals(suppress: bool) -> argparse.ArgumentParser:
    """The options every subcommand takes, before or after its name."""
    # After the name, an option left out must not reset what was given before it.
    default = argparse.SUPPRESS if suppress else None
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="PATH",
        default=default,
        help=f"config file (default: $HIGHLIGHTD_CONFIG, then ./{DEFAULT_CONFIG})",
    )
    common.add_argument(
        "--log-level",
        metavar="LEVEL[:LIBS]",
        type=_log_spec,
        default=default,
        help="debug, info (default), warning or error, for highlightd's own logs; "
        "libraries stay at warning unless named: debug:pydle,redis or debug:all",
    )
    common.add_argument(
        "--log-format", choices=logs.FORMATS, default=default, help="text (default) or json lines"
    )
    return common


def build_parser() -> argparse.ArgumentParser:
    """The parser of `highlightd [global options] COMMAND [options]`."""
    parser = argparse.ArgumentParser(
        prog="highlightd",
        description="Texts you when you are mentioned on IRC, and says your SMS answer back.",
        parents=[_globals(False)],
    )
    parser.add_argument("--version", action="version", version=f"highlightd {__version__}")
    common = [_globals(True)]
    sub = parser.add_subparsers(dest="command", required=True)
    add = partial(sub.add_parser, parents=common)
    _run(add("run", help="run the daemon"))
    _demo(add("demo", help="see it work: a local IRC server, offline"), common)
    _init(add("init", help="write a commented config for one network"))
    add("check-config", help="validate the config and exit")
    _explain(add("explain", help="say what would happen to a line for a user, and why"))
    _users(add("users", help="manage registered users (admin path)"), common)
    _sms(add("sms", help="the SMS side"), common)
    return parser


def _run(run: argparse.ArgumentParser) -> None:
    run.add_argument(
        "--role",
        choices=["all", "irc", "web"],
        default="all",
        help="which half to run (default: all); split roles share one redis.url",
    )


def _demo(demo: argparse.ArgumentParser, common: list[argparse.ArgumentParser]) -> None:
    demo.add_argument("--once", action="store_true", help="run the scene, then exit (0: it worked)")
    demo.add_argument("--dir", type=Path, default=Path("demo"), help="its folder (default: ./demo)")
    demo.add_argument(
        "--ircd",
        choices=["auto", "ngircd", "miniircd"],
        default="auto",
        help="the IRC server to start (default: ngircd when installed, else miniircd)",
    )
    demo_sub = demo.add_subparsers(dest="demo_command")
    reply = demo_sub.add_parser("reply", parents=common, help="answer by SMS, to the running demo")
    reply.add_argument("text", help="the answer, as the demo user's SMS")
    reply.add_argument("--dir", type=Path, default=argparse.SUPPRESS, help="the demo's folder")


def _init(init: argparse.ArgumentParser) -> None:
    init.add_argument("--network", required=True, help="a short name, like libera")
    init.add_argument("--host", required=True, help="the IRC server, like irc.libera.chat")
    init.add_argument("--nick", required=True, help="the bot's nick: one nobody else uses")
    init.add_argument("--channel", action="append", default=[], help="a channel (repeatable)")
    init.add_argument("--port", type=int, help="default: 6697 with TLS, 6667 without")
    init.add_argument("--no-tls", action="store_true", help="plain text (port 6667)")
    init.add_argument("--force", action="store_true", help="overwrite an existing file")


def _explain(explain: argparse.ArgumentParser) -> None:
    explain.add_argument("--network", required=True)
    explain.add_argument("--nick", required=True, help="the registered user")
    explain.add_argument("--sender", default="someone", help="who says the line")
    explain.add_argument("--channel", help="where (default: the network's first channel)")
    explain.add_argument(
        "--as",
        dest="as_nick",
        metavar="NICK",
        help="the nick the user goes by now, if renamed (the daemon follows NICK changes)",
    )
    explain.add_argument("line", help="the IRC line, quoted")


def _users(users: argparse.ArgumentParser, common: list[argparse.ArgumentParser]) -> None:
    users_sub = users.add_subparsers(dest="users_command", required=True)
    add = users_sub.add_parser("add", parents=common, help="register a nick's phone")
    add.add_argument("--network", required=True)
    add.add_argument("--nick", required=True)
    add.add_argument("--phone", required=True, help="E.164, like +15551230001")
    lst = users_sub.add_parser("list", parents=common, help="list registered users")
    lst.add_argument("--network")
    lst.add_argument("--show-phone", action="store_true", help="print numbers unmasked")
    rm = users_sub.add_parser(
        "remove", parents=common, help="unregister a nick and erase its phone's SMS and logs"
    )
    rm.add_argument("--network", required=True)
    rm.add_argument("--nick", required=True)
    export = users_sub.add_parser(
        "export", parents=common, help="print what is stored about a nick, as JSON"
    )
    export.add_argument("--network", required=True)
    export.add_argument("--nick", required=True)


def _sms(sms: argparse.ArgumentParser, common: list[argparse.ArgumentParser]) -> None:
    sms_sub = sms.add_subparsers(dest="sms_command", required=True)
    test = sms_sub.add_parser("test", parents=common, help="send one SMS, report Twilio's answer")
    test.add_argument("--to", required=True, help="E.164, like +15551230001")
