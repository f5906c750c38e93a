"""`highlightd demo`: the whole loop offline, as a newcomer runs it (a process of its own)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(60)

SMS_LINE = "SMS to +1•••••0100: [#demo] <bob> alice: are you coming to the 3pm review?"
ANSWER_LINE = "highlightd -> bob: alice (SMS): yes, 5 min late. Start without me"


async def highlightd(cwd: Path, *args: str) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HIGHLIGHTD_")}
    # Set, to show the demo ignores them: it runs on its own settings alone.
    env["HIGHLIGHTD_WEB__PORT"] = "1"
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "highlightd", *args,
        cwd=cwd, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def finished(proc: asyncio.subprocess.Process) -> tuple[int, list[str], str]:
    async with asyncio.timeout(50):
        out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, [line.strip() for line in out.decode().splitlines()], err.decode()


@pytest.mark.parametrize("ircd", ["auto", "miniircd"])
async def test_demo_once_shows_every_step(tmp_path: Path, ircd: str) -> None:
    code, lines, err = await finished(await highlightd(tmp_path, "demo", "--once", "--ircd", ircd))
    assert code == 0, (lines, err)
    assert SMS_LINE in lines
    assert ANSWER_LINE in lines
    assert lines[-1] == "every step happened: mention, SMS, answer by SMS, answer on IRC"
    assert [line.split(" ")[0] for line in lines if line.startswith("[")] == [
        "[0]", "[0]", "[1]", "[2]", "[3]", "[4]", "[5]", "[6]",
    ]  # fmt: skip
    assert "Traceback" not in err
    assert (tmp_path / "demo" / ".highlightd-demo").is_file()
    assert not (tmp_path / "demo" / "demo.json").exists()  # only while it runs
    # Again in the same folder: it starts afresh (alice registers anew).
    code, lines, _ = await finished(await highlightd(tmp_path, "demo", "--once"))
    assert code == 0
    assert ANSWER_LINE in lines


async def test_demo_stays_up_and_takes_an_answer_by_sms(tmp_path: Path) -> None:
    demo = await highlightd(tmp_path, "demo", "--dir", "here")
    assert demo.stdout is not None
    try:
        async with asyncio.timeout(30):
            while b"It stays up until Ctrl-C" not in await demo.stdout.readline():
                pass
        code, lines, err = await finished(
            await highlightd(tmp_path, "demo", "reply", "--dir", "here", "on my way")
        )
        assert (code, lines) == (0, ["posted as alice's SMS; the webhook answered HTTP 200"]), err
    finally:
        demo.send_signal(signal.SIGINT)
    code, lines, err = await finished(demo)
    assert code == 0, err
    assert "/join #demo" in lines
    assert lines[-1] == "stopping the demo"
    assert not (tmp_path / "here" / "demo.json").exists()


async def test_demo_reply_without_a_running_demo(tmp_path: Path) -> None:
    code, lines, err = await finished(await highlightd(tmp_path, "demo", "reply", "hi"))
    assert (code, lines) == (1, [])
    assert err.strip() == "highlightd demo: no demo running in demo (start one: make demo)"


async def test_demo_leaves_a_folder_of_someone_else_alone(tmp_path: Path) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "notes.txt").write_text("mine")
    code, _, err = await finished(await highlightd(tmp_path, "demo", "--once"))
    assert code == 1
    assert err.strip() == (
        "highlightd demo: demo exists and is not a demo folder: pass --dir ANOTHER"
    )
    assert [p.name for p in (tmp_path / "demo").iterdir()] == ["notes.txt"]
