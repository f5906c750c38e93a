"""The files in contrib/ are checked by the tools that will read them, where installed."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CONTRIB = Path(__file__).resolve().parent.parent / "contrib"
UNIT = CONTRIB / "systemd" / "highlightd.service"
INSTALLED = "/opt/highlightd/bin/highlightd"


@pytest.fixture
def unit(tmp_path: Path) -> Path:
    """The unit, its ExecStart pointed at this highlightd (verify wants an executable)."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (Debian: apt-get install systemd)")
    text = UNIT.read_text()
    assert f"ExecStart={INSTALLED} run" in text
    here = Path(sys.executable).parent / "highlightd"
    assert here.exists(), here
    copy = tmp_path / UNIT.name
    copy.write_text(text.replace(INSTALLED, str(here)))
    return copy


def test_systemd_unit_passes_systemd_analyze_verify(unit: Path) -> None:
    done = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=30
    )
    # verify exits 0 on unknown keys too, with a warning: any output is a finding.
    assert done.returncode == 0, done.stderr
    assert done.stdout + done.stderr == ""


def test_systemd_unit_is_hardened(unit: Path) -> None:
    # systemd's own exposure score, 0 (locked down) to 10; 2.0 and below reads "OK".
    done = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", "--threshold=20", str(unit)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    assert "Overall exposure level for highlightd.service" in done.stdout


def test_systemd_unit_asks_for_what_highlightd_does() -> None:
    lines = set(UNIT.read_text().splitlines())
    for wanted in (
        "Type=notify",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "DynamicUser=yes",
        "StateDirectory=highlightd",
        "Restart=on-failure",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
    ):
        assert wanted in lines
