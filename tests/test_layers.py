"""The web role stands alone: it never loads the IRC stack (pydle), in a process of its own."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from servers import RedisServer, free_port

# Runs the web role until it serves, then says which pydle modules the process holds.
_WEB_ROLE = """
import asyncio, sys
from highlightd.config import Settings
from highlightd.daemon import Daemon

async def main() -> None:
    settings = Settings(
        storage={"path": sys.argv[1]}, redis={"url": sys.argv[2]}, web={"port": int(sys.argv[3])}
    )
    daemon = Daemon(settings, "web")
    task = asyncio.create_task(daemon.run())
    await asyncio.wait({task, asyncio.ensure_future(daemon.started.wait())},
                       return_when=asyncio.FIRST_COMPLETED)
    print("started" if daemon.started.is_set() else "died")
    print("pydle modules:", sorted(m for m in sys.modules if m.split(".")[0] == "pydle"))
    daemon.stop()
    await task

asyncio.run(main())
"""


async def _python(*args: str) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HIGHLIGHTD_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


async def test_importing_the_web_side_and_the_cli_loads_no_pydle() -> None:
    code, out, err = await _python(
        "-c",
        "import sys, highlightd.cli, highlightd.daemon, highlightd.web.app, highlightd.explain\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'pydle'))",
    )
    assert (code, out.strip()) == (0, "[]"), err


async def test_the_irc_side_does_load_pydle() -> None:
    # The check above would pass vacuously if pydle were never a module of ours.
    code, out, err = await _python(
        "-c",
        "import sys, highlightd.irc.side\nprint('pydle' in sys.modules)",
    )
    assert (code, out.strip()) == (0, "True"), err


async def test_run_role_web_serves_without_importing_pydle(
    tmp_path: Path, redis_server: RedisServer
) -> None:
    code, out, err = await _python(
        "-c",
        _WEB_ROLE,
        str(tmp_path / "highlightd.sqlite3"),
        redis_server.url,
        str(free_port()),
    )
    assert code == 0, err
    assert out.splitlines() == ["started", "pydle modules: []"], err
