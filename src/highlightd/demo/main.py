"""Running the demo: its folder, its IRC server, the daemon on the embedded defaults, the
scene, then how to try it by hand, until Ctrl-C."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import os
import secrets
import shutil
import signal
import sys
from pathlib import Path
from typing import Any

import aiohttp
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from highlightd.config import Settings
from highlightd.daemon import Daemon
from highlightd.demo.ircd import IrcdError, LocalIrcd, free_port
from highlightd.demo.reply import STATE_FILE, DemoState, curl_command, post_sms
from highlightd.demo.scene import BOT, CHANNEL, NETWORK, USER, Scene, Show, StepFailed, watching
from highlightd.infra.logs import LogSpec

DEMO_PHONE = "+12015550100"  # 555-0100 to 0199: reserved for fiction
FROM_NUMBER = "+15005550006"  # Twilio's own number for tests
COOLDOWN = 30  # seconds: short enough to see a digest while trying it
MARKER = ".highlightd-demo"
START_LIMIT = 30.0


class DemoError(Exception):
    """The demo cannot start; the message says why."""


class _DemoSettings(Settings):
    """The demo's settings come from the demo alone, never from HIGHLIGHTD_* variables."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


def demo_settings(folder: Path, irc_port: int, state: DemoState) -> Settings:
    data: dict[str, Any] = {
        "storage": {"path": folder / "highlightd.sqlite3"},
        "redis": {"url": "embedded"},
        "web": {
            "host": "127.0.0.1",
            "port": state.web_port,
            "public_url": f"http://127.0.0.1:{state.web_port}",
        },
        "sms": {"backend": "console"},
        # Only the token matters: it signs the webhook calls `demo reply` makes.
        "twilio": {
            "account_sid": state.account_sid,
            "auth_token": state.auth_token,
            "from_number": state.from_number,
        },
        "policy": {"cooldown": COOLDOWN},
        "networks": [
            {
                "name": NETWORK,
                "host": "127.0.0.1",
                "port": irc_port,
                "tls": False,
                "nick": BOT,
                "channels": [CHANNEL],
                "send_burst": 10,
                "send_rate": 5,
            }
        ],
    }
    return _DemoSettings(**data)


def prepare(folder: Path) -> None:
    """A fresh demo folder: made, or emptied when a previous demo left it."""
    if folder.exists() and any(folder.iterdir()):
        if not (folder / MARKER).exists():
            raise DemoError(f"{folder} exists and is not a demo folder: pass --dir ANOTHER")
        old = DemoState.load(folder)
        if old is not None and _alive(old.pid):
            raise DemoError(f"a demo is running in {folder} (pid {old.pid}): Ctrl-C it first")
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / MARKER).write_text("made by `highlightd demo`; removed and remade by the next\n")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run_demo(folder: Path, sub: str | None, args: argparse.Namespace, spec: LogSpec) -> int:
    """`highlightd demo [--once]`, or `highlightd demo reply TEXT`: the exit code."""
    if sub == "reply":
        return asyncio.run(_reply(folder, args.text))
    try:
        prepare(folder)
    except (DemoError, OSError) as exc:
        print(f"highlightd demo: {exc}", file=sys.stderr)
        return 1
    return asyncio.run(_demo(folder, args.once, args.ircd, quiet=spec.level > logging.INFO))


async def _reply(folder: Path, text: str) -> int:
    state = DemoState.load(folder)
    if state is None:
        where = f"no demo running in {folder}"
        print(f"highlightd demo: {where} (start one: make demo)", file=sys.stderr)
        return 1
    try:
        status = await post_sms(state, text)
    except (OSError, TimeoutError, aiohttp.ClientError) as exc:
        print(f"highlightd demo: the demo in {folder} does not answer: {exc}", file=sys.stderr)
        return 1
    print(f"posted as {USER}'s SMS; the webhook answered HTTP {status}")
    return 0 if status == 200 else 1


async def _demo(folder: Path, once: bool, ircd: str, quiet: bool) -> int:
    show = Show()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    state = DemoState(
        pid=os.getpid(),
        irc_port=0,
        web_port=free_port(),
        auth_token=secrets.token_hex(16),
        account_sid="AC" + secrets.token_hex(16),
        phone=DEMO_PHONE,
        from_number=FROM_NUMBER,
    )
    show.say("highlightd demo: an IRC server, highlightd and its SMS, all on this machine")
    try:
        with watching(show, quiet):
            return await _play(LocalIrcd(folder, ircd), show, state, once, stop)
    except (StepFailed, DemoError, IrcdError) as exc:
        show.say(f"demo failed at {exc}" if isinstance(exc, StepFailed) else f"demo failed: {exc}")
        return 1
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        with contextlib.suppress(OSError):
            (folder / STATE_FILE).unlink()


async def _play(
    ircd: LocalIrcd, show: Show, state: DemoState, once: bool, stop: asyncio.Event
) -> int:
    folder = ircd.folder
    await ircd.start()
    show.say(f"[0] IRC server: {ircd.kind} on {ircd.host}:{ircd.port}")
    try:
        state = dataclasses.replace(state, irc_port=ircd.port)
        daemon = Daemon(demo_settings(folder, ircd.port, state))
        running = asyncio.create_task(daemon.run())
        try:
            await _started(daemon, running)
            show.say(
                f"[0] highlightd: embedded Valkey, SQLite in {folder}, console SMS, "
                f"webhook {state.webhook}"
            )
            scene = Scene(show, ircd, state)
            try:
                await _until_stopped(scene.play(), stop)
            finally:
                await scene.close()
            show.say("every step happened: mention, SMS, answer by SMS, answer on IRC")
            if once or stop.is_set():
                return 0
            state.save(folder)
            show.say(instructions(state, folder))
            await stop.wait()
            show.say("stopping the demo")
            return 0
        finally:
            daemon.stop()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(15):
                    await running
    finally:
        await ircd.stop()


async def _started(daemon: Daemon, running: asyncio.Task[None]) -> None:
    started = asyncio.ensure_future(daemon.started.wait())
    try:
        done, _ = await asyncio.wait(
            {running, started}, timeout=START_LIMIT, return_when=asyncio.FIRST_COMPLETED
        )
    finally:
        started.cancel()
    if running in done:
        exc = running.exception()
        reason = exc.exceptions[0] if isinstance(exc, BaseExceptionGroup) else exc
        raise DemoError(f"highlightd did not start: {reason}")
    if not done:
        raise DemoError(f"highlightd did not start within {START_LIMIT:.0f} s")


async def _until_stopped(scene: Any, stop: asyncio.Event) -> None:
    """Play the scene; Ctrl-C ends it early (and the demo with it)."""
    play = asyncio.ensure_future(scene)
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({play, stopped}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    if not play.done():
        play.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await play
        return
    play.result()


def _program() -> str:
    """How to call this highlightd again, as the user can paste it."""
    argv0 = Path(sys.argv[0])
    if argv0.name == "highlightd":
        found = shutil.which("highlightd")
        if found and Path(found).resolve() == argv0.resolve():
            return "highlightd"
        with contextlib.suppress(ValueError):
            return str(argv0.resolve().relative_to(Path.cwd()))
        return str(argv0)
    return f"{Path(sys.executable).name} -m highlightd"


def instructions(state: DemoState, folder: Path) -> str:
    program = _program()
    folder_opt = "" if folder == Path("demo") else f" --dir {folder}"
    return f"""
It stays up until Ctrl-C. Try it with any IRC client:
  /connect 127.0.0.1 {state.irc_port}      (plain text, no TLS)
  /join {CHANNEL}
  {USER}: hello?                    -> the SMS to {USER} appears here (within {COOLDOWN} s
                                     of her last SMS it waits, then goes as one digest)
Once it appeared, answer as {USER} by SMS (it goes to whoever her last SMS was about):
  {program} demo reply{folder_opt} "on my way"
  or, once:  {curl_command(state, "on my way")}
Register yourself: /msg {BOT} REGISTER +12015550101 (the code's SMS appears here), then HELP."""
