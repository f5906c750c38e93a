"""Trying the SMS side before trusting it: `sms test`, and the credential check at start-up."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

import pytest

from fake_twilio import TEST_ACCOUNT_SID, TEST_AUTH_TOKEN, FakeTwilio
from highlightd.cli import main
from highlightd.config import Settings
from highlightd.daemon import Daemon, StartupError
from highlightd.sms.errors import CODES
from servers import RedisServer, free_port

pytestmark = [pytest.mark.timeout(60), pytest.mark.usefixtures("saved_logging")]

TO = "+15551230001"


def twilio_config(tmp_path: Path, base_url: str, token: str = TEST_AUTH_TOKEN) -> str:
    path = tmp_path / "hl.toml"
    path.write_text(
        f"""
[storage]
path = "{tmp_path / "hl.sqlite3"}"

[sms]
backend = "twilio"

[twilio]
account_sid = "{TEST_ACCOUNT_SID}"
auth_token = "{token}"
from_number = "+15005550006"
api_base_url = "{base_url}"

[[networks]]
name = "testnet"
host = "127.0.0.1"
port = {free_port()}
tls = false
nick = "hlbot"
""",
        encoding="utf-8",
    )
    return str(path)


async def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """main() in a thread: the fake Twilio answers in this test's loop meanwhile."""
    code = await asyncio.to_thread(main, list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_every_code_has_a_link_free_hint() -> None:
    assert {20003, 21211, 21408, 21608, 21610, 21614, 30003, 30005, 30006, 30007} <= set(CODES)
    for code in CODES.values():
        assert code.meaning and code.hint
        assert "http" not in code.hint and "http" not in code.meaning


async def test_sms_test_with_the_console_backend(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = await cli(capsys, "sms", "test", "--to", TO)
    assert code == 0
    assert out.startswith("console backend: printed, not sent (to +1•••••0001): highlightd test")
    assert err == ""


async def test_sms_test_reports_the_sid(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fake_twilio: FakeTwilio
) -> None:
    config = twilio_config(tmp_path, fake_twilio.base_url)
    code, out, _ = await cli(capsys, "sms", "test", "--config", config, "--to", TO)
    assert code == 0
    [message] = fake_twilio.messages
    assert message.to == TO
    assert out.strip() == f"sent to +1•••••0001: sid {message.sid}, status queued"


async def test_sms_test_explains_twilios_refusal(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fake_twilio: FakeTwilio
) -> None:
    config = twilio_config(tmp_path, fake_twilio.base_url)
    fake_twilio.fail_next(400, 21608, "The number is unverified.")
    code, out, err = await cli(capsys, "sms", "test", "--config", config, "--to", TO)
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "highlightd: not sent to +1•••••0001: error 21608: "
        "a trial account texts only verified numbers (HTTP 400)",
        "  Twilio says: Unable to create record: The number is unverified.",
        "  what to do: verify this number in the console (Verified Caller IDs), "
        "or upgrade the account",
    ]


async def test_sms_test_with_a_bad_token(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fake_twilio: FakeTwilio
) -> None:
    config = twilio_config(tmp_path, fake_twilio.base_url, token="wrong")
    code, _, err = await cli(capsys, "sms", "test", "--config", config, "--to", TO)
    assert code == 1
    assert "error 20003: authentication failed" in err
    assert fake_twilio.messages == []


async def test_sms_test_bad_number_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = await cli(capsys, "sms", "test", "--to", "5551230001")
    assert code == 2
    assert err.startswith("highlightd: --to: not an E.164 phone number")


async def test_run_with_a_bad_token_is_one_line_and_exit_1(
    tmp_path: Path, fake_twilio: FakeTwilio
) -> None:
    config = twilio_config(tmp_path, fake_twilio.base_url, token="wrong-token")
    env = {k: v for k, v in os.environ.items() if not k.startswith("HIGHLIGHTD_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "highlightd", "run", "--config", config,
        cwd=tmp_path, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    async with asyncio.timeout(40):
        _, stderr = await proc.communicate()
    assert proc.returncode == 1
    errors = [line for line in stderr.decode().splitlines() if " ERROR " in line]
    assert len(errors) == 1
    assert errors[0].endswith(
        "cannot start: Twilio refused the credentials (HTTP 401, error 20003: authentication "
        "failed: the Account SID or Auth Token is wrong): check twilio.account_sid and "
        "twilio.auth_token"
    )
    assert "Traceback" not in stderr.decode()
    assert fake_twilio.account_fetches == 1


def _settings(tmp_path: Path, redis: RedisServer, api_base_url: str) -> Settings:
    return Settings.model_validate(
        {
            "storage": {"path": tmp_path / "hl.sqlite3"},
            "redis": {"url": redis.url},
            "web": {"port": 0},
            "sms": {"backend": "twilio"},
            "twilio": {
                "account_sid": TEST_ACCOUNT_SID,
                "auth_token": TEST_AUTH_TOKEN,
                "from_number": "+15005550006",
                "api_base_url": api_base_url,
            },
        }
    )


async def _runs(daemon: Daemon) -> None:
    task = asyncio.create_task(daemon.run())
    async with asyncio.timeout(20):
        await daemon.started.wait()
    daemon.stop()
    async with asyncio.timeout(15):
        await task


async def test_good_credentials_are_checked_once(
    tmp_path: Path, redis_server: RedisServer, fake_twilio: FakeTwilio
) -> None:
    await _runs(Daemon(_settings(tmp_path, redis_server, fake_twilio.base_url)))
    assert fake_twilio.account_fetches == 1


async def test_unreachable_twilio_at_start_is_only_a_warning(
    tmp_path: Path, redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "highlightd")
    nobody = f"http://127.0.0.1:{free_port()}"
    await _runs(Daemon(_settings(tmp_path, redis_server, nobody)))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(w.startswith("could not check the Twilio credentials (") for w in warnings)


async def test_refused_credentials_stop_the_daemon(
    tmp_path: Path, redis_server: RedisServer, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.auth_token = "another-token"
    with pytest.raises(StartupError, match="error 20003"):
        await Daemon(_settings(tmp_path, redis_server, fake_twilio.base_url)).run()
