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


def test_caddyfile_is_valid_and_formatted(tmp_path: Path) -> None:
    if shutil.which("caddy") is None:
        pytest.skip("caddy is not installed (Debian: apt-get install caddy)")
    caddyfile = CONTRIB / "caddy" / "Caddyfile"
    env = {"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path), "XDG_CONFIG_HOME": str(tmp_path)}
    done = subprocess.run(
        ["caddy", "validate", "--adapter", "caddyfile", "--config", str(caddyfile)],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Valid configuration" in done.stdout + done.stderr
    formatted = subprocess.run(
        ["caddy", "fmt", str(caddyfile)], capture_output=True, text=True, timeout=30, env=env
    )
    assert formatted.stdout == caddyfile.read_text()


def test_nginx_snippet_passes_nginx_t(tmp_path: Path) -> None:
    nginx = shutil.which("nginx") or (
        "/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None
    )
    if nginx is None or shutil.which("openssl") is None:
        pytest.skip("nginx or openssl is not installed (Debian: apt-get install nginx-light)")
    # A throwaway certificate where the snippet names Let's Encrypt's.
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=sms.example.org", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    live = "/etc/letsencrypt/live/sms.example.org/"
    site = tmp_path / "site.conf"
    site.write_text(
        (CONTRIB / "nginx" / "highlightd.conf")
        .read_text()
        .replace(live + "fullchain.pem", str(cert))
        .replace(live + "privkey.pem", str(key))
    )
    main = tmp_path / "nginx.conf"
    main.write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n  access_log off;\n  include {site};\n}}\n"
    )
    done = subprocess.run(
        [nginx, "-t", "-e", str(tmp_path / "error.log"), "-c", str(main)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr
