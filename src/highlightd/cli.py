"""The `highlightd` command: run, demo, init, check-config, explain, users, sms test.

Global options (--config, --log-level, --log-format) go before or after the
subcommand. Exit codes: 0 done, 1 failed, 2 a bad config or a name the config
does not have (argparse's own usage errors are 2 as well).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import cast

from highlightd.admin import EXIT_USAGE, AdminError
from highlightd.admin.checks import env_overrides, looked_in, refuse_to_run, storage_problem
from highlightd.admin.checks import warnings as config_warnings
from highlightd.admin.smstest import sms_test
from highlightd.admin.template import NetworkChoice, write_init
from highlightd.admin.users import (
    add_user,
    database_warnings,
    export_user,
    list_users,
    opened,
    remove_user,
    require_network,
)
from highlightd.arguments import build_parser
from highlightd.config import (
    DEFAULT_CONFIG,
    ConfigError,
    LogSettings,
    Settings,
    find_config,
    load_settings,
)
from highlightd.daemon import Role, run_main
from highlightd.demo import run_demo
from highlightd.explain import ExplainError, explain
from highlightd.infra import logs

EXIT_BAD_CONFIG = EXIT_USAGE


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "init":
            return _init(args)
        if args.command == "demo":
            return run_demo(args.dir, args.demo_command, args, _logging(args, "warning"))
        try:
            settings = load_settings(args.config)
        except ConfigError as exc:
            print(f"highlightd: bad config:\n{exc}", file=sys.stderr)
            return EXIT_BAD_CONFIG
        return _command(args, settings, find_config(args.config))
    except AdminError as exc:
        print(f"highlightd: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


def _run_settings(config: str | None, spec: logs.LogSpec | None) -> Settings:
    """The daemon's settings, at start and on SIGHUP: --log-level wins over log.level."""
    settings = load_settings(config)
    if spec is None:
        return settings
    level = logging.getLevelName(spec.level)
    return settings.model_copy(update={"log": LogSettings.model_validate({"level": level})})


def _logging(args: argparse.Namespace, default: str) -> logs.LogSpec:
    spec: logs.LogSpec = args.log_level or logs.parse_level(default)
    logs.setup(spec, args.log_format or "text")
    return spec


def _command(args: argparse.Namespace, settings: Settings, config_file: Path | None) -> int:
    if args.command == "check-config":
        return asyncio.run(_check_config(settings, config_file))
    if args.command == "run":
        refuse_to_run(settings, config_file, args.role)
        _logging(args, settings.log.level)
        load = partial(_run_settings, args.config, args.log_level)
        return asyncio.run(run_main(load(), cast(Role, args.role), load))
    if args.command == "explain":
        return asyncio.run(_explain(settings, args))
    if args.command == "sms":
        _logging(args, "warning")
        print("\n".join(asyncio.run(sms_test(settings, args.to))))
        return 0
    return asyncio.run(_users(settings, config_file, args))


def _init(args: argparse.Namespace) -> int:
    tls = not args.no_tls
    network = NetworkChoice(
        name=args.network,
        host=args.host,
        nick=args.nick,
        channels=tuple(args.channel),
        port=args.port or (6697 if tls else 6667),
        tls=tls,
    )
    print(write_init(Path(args.config or DEFAULT_CONFIG), network, args.force))
    return 0


async def _check_config(settings: Settings, config_file: Path | None) -> int:
    names = ", ".join(n.name for n in settings.networks) or "none"
    print(
        f"config ok: {len(settings.networks)} network(s) ({names}), sms {settings.sms.backend}, "
        f"redis {'embedded' if settings.redis.url == 'embedded' else 'external'}, "
        f"storage {settings.storage.path}"
    )
    print(f"  read {config_file}" if config_file else f"  no config file ({looked_in()})")
    if env := env_overrides():
        print(f"  and the environment: {', '.join(env)}")
    found = config_warnings(settings)
    if problem := storage_problem(settings, config_file):
        found.append(problem)
    found += await database_warnings(settings)
    for line in found:
        print(f"warning: {line}", file=sys.stderr)
    return 0


async def _explain(settings: Settings, args: argparse.Namespace) -> int:
    require_network(settings, args.network)
    if settings.network(args.network) is None:
        raise AdminError(f"no network named {args.network!r}: the config has none", EXIT_USAGE)
    async with opened(settings, create=False) as store:
        if store is None:
            raise AdminError(
                f"{args.nick} is not registered on {args.network}: "
                f"no database at {settings.storage.path} yet"
            )
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
            raise AdminError(str(exc)) from exc
    print("\n".join(lines))
    return 0


async def _users(settings: Settings, config_file: Path | None, args: argparse.Namespace) -> int:
    if args.users_command == "list":
        *rows, count = await list_users(settings, args.network, args.show_phone)
        for row in rows:
            print(row)
        print(count, file=sys.stderr)
    elif args.users_command == "remove":
        print(await remove_user(settings, args.network, args.nick))
    elif args.users_command == "export":
        print(await export_user(settings, args.network, args.nick))
    else:
        done, warnings = await add_user(settings, config_file, args.network, args.nick, args.phone)
        print(done)
        for line in warnings:
            print(f"warning: {line}", file=sys.stderr)
    return 0
