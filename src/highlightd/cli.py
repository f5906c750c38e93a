"""The `highlightd` command: run, check-config, explain, users add|list|remove."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sqlite3
import sys
import time
from collections.abc import Sequence
from typing import cast

from highlightd import __version__
from highlightd.config import ConfigError, Settings, load_settings
from highlightd.core.ircnames import check_nick, nick_key
from highlightd.core.phones import mask_phone, parse_phone
from highlightd.core.status import held_back
from highlightd.daemon import Role, run_main
from highlightd.explain import ExplainError, explain
from highlightd.store import SchemaTooNew, Store, UserExists

EXIT_BAD_CONFIG = 2


class CommandError(Exception):
    """A command cannot do what was asked; the message says why."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="highlightd",
        description="Texts you when you are mentioned on IRC, and says your SMS answer back.",
    )
    parser.add_argument("--version", action="version", version=f"highlightd {__version__}")
    config_help = "config file (default: $HIGHLIGHTD_CONFIG, then ./highlightd.toml)"
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="PATH", help=config_help)
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", parents=[common], help="run the daemon")
    run.add_argument(
        "--role",
        choices=["all", "irc", "web"],
        default="all",
        help="which half to run (default: all); split roles share one redis.url",
    )
    run.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])

    sub.add_parser("check-config", parents=[common], help="validate the config and exit")

    explain = sub.add_parser(
        "explain", parents=[common], help="say what would happen to a line for a user, and why"
    )
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

    users = sub.add_parser("users", help="manage registered users (admin path)")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    add = users_sub.add_parser("add", parents=[common], help="register a nick's phone")
    add.add_argument("--network", required=True)
    add.add_argument("--nick", required=True)
    add.add_argument("--phone", required=True, help="E.164, like +15551230001")
    lst = users_sub.add_parser("list", parents=[common], help="list registered users")
    lst.add_argument("--network")
    lst.add_argument("--show-phone", action="store_true", help="print numbers unmasked")
    rm = users_sub.add_parser("remove", parents=[common], help="unregister a nick")
    rm.add_argument("--network", required=True)
    rm.add_argument("--nick", required=True)
    return parser


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if level != "DEBUG":
        # pydle logs every unknown numeric at WARNING and much else at INFO.
        logging.getLogger("pydle").setLevel(logging.ERROR)
        logging.getLogger("aiohttp.access").setLevel(logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"highlightd: bad config:\n{exc}", file=sys.stderr)
        return EXIT_BAD_CONFIG
    try:
        if args.command == "check-config":
            return _check_config(settings)
        if args.command == "run":
            _setup_logging(args.log_level)
            return asyncio.run(run_main(settings, cast(Role, args.role)))
        if args.command == "explain":
            return asyncio.run(_explain(settings, args))
        return asyncio.run(_users(settings, args))
    except CommandError as exc:
        print(f"highlightd: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


def _check_config(settings: Settings) -> int:
    names = ", ".join(n.name for n in settings.networks) or "none"
    print(
        f"config ok: {len(settings.networks)} network(s) ({names}), sms {settings.sms.backend}, "
        f"redis {'embedded' if settings.redis.url == 'embedded' else 'external'}, "
        f"storage {settings.storage.path}"
    )
    return 0


async def _open(settings: Settings) -> Store:
    try:
        return await Store.open(settings.storage.path)
    except (sqlite3.Error, OSError, SchemaTooNew) as exc:
        raise CommandError(f"cannot open {settings.storage.path}: {exc}") from exc


async def _explain(settings: Settings, args: argparse.Namespace) -> int:
    store = await _open(settings)
    try:
        lines = await explain(
            settings,
            store,
            args.network,
            args.nick,
            args.line,
            args.sender,
            args.channel,
            now=time.time(),
            as_nick=args.as_nick,
        )
    except ExplainError as exc:
        raise CommandError(str(exc)) from exc
    finally:
        await store.close()
    print("\n".join(lines))
    return 0


async def _users(settings: Settings, args: argparse.Namespace) -> int:
    store = await _open(settings)
    try:
        if args.users_command == "list":
            users = await store.users.all(args.network)
            for u in users:
                phone = u.phone if args.show_phone else mask_phone(u.phone)
                why = held_back(u, time.time())
                print(f"{u.network}\t{u.nick}\t{phone}" + (f"\t{why}" if why else ""))
            print(f"{len(users)} user(s)", file=sys.stderr)
            return 0
        network = args.network
        if settings.networks and settings.network(network) is None:
            known = ", ".join(n.name for n in settings.networks)
            raise CommandError(f"no network named {network!r} in the config (have: {known})")
        try:
            nick = check_nick(args.nick)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if args.users_command == "remove":
            if not await store.users.remove(network, nick_key(nick)):
                raise CommandError(f"{nick} is not registered on {network}")
            print(f"removed {nick} on {network}")
            return 0
        try:
            phone = parse_phone(args.phone, settings.defaults.region)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        try:
            await store.users.add(network, nick, nick_key(nick), phone)
        except UserExists as exc:
            raise CommandError(str(exc)) from exc
        print(f"added {nick} on {network} ({mask_phone(phone)})")
        return 0
    finally:
        await store.close()
