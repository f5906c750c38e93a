"""`highlightd users add|list|remove`, and what reads the database without writing it.

Reading never creates: `users list` or `explain` in a folder without a database
says so instead of leaving an empty highlightd.sqlite3 behind.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from highlightd.admin import AdminError, UsageError
from highlightd.admin.checks import storage_problem
from highlightd.config import NetworkSettings, Settings
from highlightd.core.ircnames import check_nick, nick_key
from highlightd.core.phones import mask_phone, parse_phone
from highlightd.core.records import User
from highlightd.core.status import held_back
from highlightd.store import SchemaTooNew, Store, UserExists


def require_network(settings: Settings, name: str) -> NetworkSettings | None:
    """The network named so, or UsageError; any name goes while the config has none."""
    network = settings.network(name)
    if network is None and settings.networks:
        known = ", ".join(n.name for n in settings.networks)
        raise UsageError(f"no network named {name!r} in the config (have: {known})")
    return network


@asynccontextmanager
async def opened(settings: Settings, *, create: bool) -> AsyncIterator[Store | None]:
    """The store; None when it does not exist and create is False."""
    path = settings.storage.path
    if not create and not path.exists():
        yield None
        return
    try:
        store = await Store.open(path)
    except (sqlite3.Error, OSError, SchemaTooNew) as exc:
        raise AdminError(f"cannot open {path}: {exc}") from exc
    try:
        yield store
    finally:
        await store.close()


async def list_users(settings: Settings, network: str | None, show_phone: bool) -> list[str]:
    """The lines to print (tab-separated), then a count for stderr as the last item."""
    if network is not None:
        require_network(settings, network)
    async with opened(settings, create=False) as store:
        if store is None:
            return [f"0 user(s) (no database at {settings.storage.path} yet)"]
        users = await store.users.all(network)
    rows = []
    now = time.time()
    for u in users:
        why = held_back(u, now)  # opted out, paused (by the user, or after bounces)
        phone = u.phone if show_phone else mask_phone(u.phone)
        rows.append(f"{u.network}\t{u.nick}\t{phone}" + (f"\t{why}" if why else ""))
    return [*rows, f"{len(users)} user(s)"]


def _nick(text: str) -> str:
    try:
        return check_nick(text)
    except ValueError as exc:
        raise AdminError(str(exc)) from exc


async def add_user(
    settings: Settings, config_file: Path | None, network: str, nick_text: str, phone_text: str
) -> tuple[str, list[str]]:
    """Register nick's phone; the line to print, and warnings."""
    require_network(settings, network)
    nick = _nick(nick_text)
    try:
        phone = parse_phone(phone_text, settings.defaults.region)
    except ValueError as exc:
        raise AdminError(str(exc)) from exc
    if problem := storage_problem(settings, config_file):
        raise UsageError(problem)
    async with opened(settings, create=True) as store:
        assert store is not None
        others = await store.users.by_phone(phone)
        try:
            await store.users.add(network, nick, nick_key(nick), phone)
        except UserExists as exc:
            raise AdminError(str(exc)) from exc
    warnings = []
    if others:
        names = ", ".join(f"{u.nick} on {u.network}" for u in others)
        warnings.append(
            f"{mask_phone(phone)} is also registered to {names}: "
            "each of them is texted there, and an SMS command from it acts for all"
        )
    return f"added {nick} on {network} ({mask_phone(phone)})", warnings


async def remove_user(settings: Settings, network: str, nick_text: str) -> str:
    require_network(settings, network)
    nick = _nick(nick_text)
    async with opened(settings, create=False) as store:
        if store is None or not await store.privacy.unregister(network, nick_key(nick)):
            raise AdminError(f"{nick} is not registered on {network}")
    return f"removed {nick} on {network}"


async def export_user(settings: Settings, network: str, nick_text: str) -> str:
    """What is stored about a registration, as JSON (users export)."""
    require_network(settings, network)
    nick = _nick(nick_text)
    async with opened(settings, create=False) as store:
        stored = None if store is None else await store.privacy.export(network, nick_key(nick))
    if stored is None:
        raise AdminError(f"{nick} is not registered on {network}")
    return json.dumps(stored, indent=2, ensure_ascii=False)


def shared_phones(users: list[User]) -> list[str]:
    """A warning per phone registered to more than one nick."""
    by_phone: dict[str, list[User]] = defaultdict(list)
    for user in users:
        by_phone[user.phone].append(user)
    return [
        f"{mask_phone(phone)} is registered to {len(group)} nicks: "
        + ", ".join(f"{u.nick} on {u.network}" for u in group)
        for phone, group in sorted(by_phone.items())
        if len(group) > 1
    ]


async def database_warnings(settings: Settings) -> list[str]:
    """What check-config says of the users in the database, if there is one."""
    async with opened(settings, create=False) as store:
        return shared_phones(await store.users.all()) if store is not None else []
