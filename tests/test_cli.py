from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from highlightd.cli import EXIT_BAD_CONFIG, main
from highlightd.store.schema import MIGRATIONS

PHONE = "+15551230001"
MASKED = "+1•••••0001"
OTHER_PHONE = "+15551230002"

CONFIG = """
[storage]
path = "{db}"

[[networks]]
name = "libera"
host = "irc.libera.chat"
nick = "highlightd"
channels = ["#highlightd"]

[[networks]]
name = "oftc"
host = "irc.oftc.net"
nick = "highlightd"
"""


@pytest.fixture
def config(tmp_path: Path) -> str:
    path = tmp_path / "highlightd-test.toml"
    path.write_text(CONFIG.format(db=tmp_path / "db.sqlite3"), encoding="utf-8")
    return str(path)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def add(
    capsys: pytest.CaptureFixture[str],
    config: str,
    nick: str,
    phone: str = PHONE,
    network: str = "libera",
) -> tuple[int, str, str]:
    return run(
        capsys,
        "users", "add", "--config", config, "--network", network, "--nick", nick, "--phone", phone,
    )  # fmt: skip


def listed(capsys: pytest.CaptureFixture[str], config: str, *extra: str) -> list[list[str]]:
    code, out, _ = run(capsys, "users", "list", "--config", config, *extra)
    assert code == 0
    return [line.split("\t") for line in out.splitlines()]


# check-config


def test_check_config_good_file_prints_summary(
    capsys: pytest.CaptureFixture[str], config: str
) -> None:
    code, out, err = run(capsys, "check-config", "--config", config)
    assert code == 0
    assert out.startswith("config ok: 2 network(s) (libera, oftc), sms console, redis embedded")
    assert "db.sqlite3" in out
    assert err == ""


def test_check_config_without_file_uses_defaults(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "check-config")
    assert code == 0
    assert "0 network(s) (none)" in out


def test_check_config_bad_file_names_key_path(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[networks]]\nname = "x"\nhost = "h"\nnick = "n"\nbogus = 1\n')
    code, out, err = run(capsys, "check-config", "--config", str(bad))
    assert code == EXIT_BAD_CONFIG == 2
    assert out == ""
    assert "bad config" in err
    assert "networks[0].bogus: unknown key" in err
    assert "Traceback" not in err


def test_check_config_missing_named_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "check-config", "--config", str(tmp_path / "nope.toml"))
    assert code == 2
    assert "no such config file" in err


def test_check_config_exit_code_in_a_real_process(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[web]\nport = "x"\n')
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("HIGHLIGHTD_")}
    proc = subprocess.run(
        [sys.executable, "-m", "highlightd", "check-config", "--config", str(bad)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode == 2
    assert "web.port:" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


def test_users_command_with_bad_config_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[web]\nport = 70000\n")
    code, _, err = add(capsys, str(bad), "alice")
    assert code == 2
    assert "web.port:" in err
    assert not (tmp_path / "highlightd.sqlite3").exists()


# users add / list / remove


def test_add_then_list_masks_the_phone(capsys: pytest.CaptureFixture[str], config: str) -> None:
    code, out, _ = add(capsys, config, "alice")
    assert code == 0
    assert out.strip() == f"added alice on libera ({MASKED})"
    assert PHONE not in out

    code, out, err = run(capsys, "users", "list", "--config", config)
    assert code == 0
    assert out.splitlines() == [f"libera\talice\t{MASKED}"]
    assert PHONE not in out
    assert "1 user(s)" in err


def test_list_show_phone_prints_the_number(capsys: pytest.CaptureFixture[str], config: str) -> None:
    assert add(capsys, config, "alice")[0] == 0
    assert listed(capsys, config, "--show-phone") == [["libera", "alice", PHONE]]


def test_list_filters_by_network(capsys: pytest.CaptureFixture[str], config: str) -> None:
    assert add(capsys, config, "alice")[0] == 0
    assert add(capsys, config, "bob", OTHER_PHONE, network="oftc")[0] == 0
    assert [row[:2] for row in listed(capsys, config)] == [["libera", "alice"], ["oftc", "bob"]]
    assert [row[:2] for row in listed(capsys, config, "--network", "oftc")] == [["oftc", "bob"]]


def test_list_empty(capsys: pytest.CaptureFixture[str], config: str) -> None:
    code, out, err = run(capsys, "users", "list", "--config", config)
    assert code == 0
    assert out == ""
    assert "0 user(s)" in err


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("alice", "alice"),
        ("alice", "ALICE"),
        ("ALICE", "alice"),
        ("[a]", "{a}"),  # rfc1459: [ ] \ ~ are the upper case of { } | ^
        ("a\\b", "A|B"),
    ],
)
def test_add_same_nick_twice_fails(
    capsys: pytest.CaptureFixture[str], config: str, first: str, second: str
) -> None:
    assert add(capsys, config, first)[0] == 0
    code, out, err = add(capsys, config, second, OTHER_PHONE)
    assert code == 1
    assert out == ""
    assert err.strip() == f"highlightd: {second} is already registered on libera"
    assert listed(capsys, config, "--show-phone") == [["libera", first, PHONE]]


def test_same_nick_on_two_networks_is_fine(capsys: pytest.CaptureFixture[str], config: str) -> None:
    assert add(capsys, config, "alice")[0] == 0
    assert add(capsys, config, "alice", network="oftc")[0] == 0
    assert len(listed(capsys, config)) == 2


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("not a number", "not an E.164 phone number"),
        ("5551230001", "not an E.164 phone number"),  # no country code
        ("+1555", "phone number"),
        ("", "not an E.164 phone number"),
    ],
)
def test_add_bad_phone_stores_nothing(
    capsys: pytest.CaptureFixture[str], config: str, phone: str, expected: str
) -> None:
    code, out, err = add(capsys, config, "alice", phone)
    assert code == 1
    assert out == ""
    assert err.startswith("highlightd: ")
    assert expected in err
    assert listed(capsys, config) == []


def test_add_nick_too_long(capsys: pytest.CaptureFixture[str], config: str) -> None:
    code, _, err = add(capsys, config, "n" * 31)
    assert code == 1
    assert "nick is longer than 30 characters" in err
    assert listed(capsys, config) == []


def test_add_nick_with_invalid_characters(capsys: pytest.CaptureFixture[str], config: str) -> None:
    code, _, err = add(capsys, config, "al ice")
    assert code == 1
    assert "not a valid IRC nick" in err
    assert listed(capsys, config) == []


def test_add_nick_of_exactly_30_characters(capsys: pytest.CaptureFixture[str], config: str) -> None:
    assert add(capsys, config, "n" * 30)[0] == 0
    assert listed(capsys, config)[0][1] == "n" * 30


def test_add_unknown_network_names_the_known_ones(
    capsys: pytest.CaptureFixture[str], config: str
) -> None:
    code, _, err = add(capsys, config, "alice", network="efnet")
    assert code == 2  # a name the config does not have: a usage error, like users list's
    assert "'efnet'" in err
    assert "libera, oftc" in err
    assert listed(capsys, config) == []


def test_remove_then_remove_again(capsys: pytest.CaptureFixture[str], config: str) -> None:
    assert add(capsys, config, "alice")[0] == 0
    assert add(capsys, config, "bob", OTHER_PHONE)[0] == 0
    remove = ("users", "remove", "--config", config, "--network", "libera", "--nick", "ALICE")

    code, out, _ = run(capsys, *remove)
    assert code == 0
    assert out.strip() == "removed ALICE on libera"
    assert [row[1] for row in listed(capsys, config)] == ["bob"]

    code, out, err = run(capsys, *remove)
    assert code == 1
    assert out == ""
    assert err.strip() == "highlightd: ALICE is not registered on libera"
    assert [row[1] for row in listed(capsys, config)] == ["bob"]


def test_remove_unknown_network(capsys: pytest.CaptureFixture[str], config: str) -> None:
    code, _, err = run(
        capsys, "users", "remove", "--config", config, "--network", "efnet", "--nick", "alice"
    )
    assert code == 2
    assert "no network named 'efnet'" in err


@pytest.mark.parametrize(
    "phone", ["+1 (555) 123-0001", "+1-555-123-0001", "+1.555.123.0001", " +15551230001 "]
)
def test_add_normalizes_phone_to_e164(
    capsys: pytest.CaptureFixture[str], config: str, phone: str
) -> None:
    code, out, _ = add(capsys, config, "alice", phone)
    assert code == 0
    assert MASKED in out
    assert listed(capsys, config, "--show-phone") == [["libera", "alice", PHONE]]


def test_users_without_networks_in_config_accepts_any_network(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    # No file at all: defaults, storage in the working directory (tmp_path).
    code, _, _ = run(
        capsys,
        "users", "add", "--network", "anynet", "--nick", "alice", "--phone", PHONE,
    )  # fmt: skip
    assert code == 0
    assert (tmp_path / "highlightd.sqlite3").is_file()
    code, out, _ = run(capsys, "users", "list")
    assert code == 0
    assert out.splitlines() == [f"anynet\talice\t{MASKED}"]


def test_users_database_cannot_be_opened(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    (tmp_path / "a-directory").mkdir()
    cfg = tmp_path / "dir.toml"
    cfg.write_text(f'[storage]\npath = "{tmp_path / "a-directory"}"\n')
    code, _, err = run(capsys, "users", "list", "--config", str(cfg))
    assert code == 1
    assert err.startswith("highlightd: cannot open ")


def test_users_database_from_a_newer_highlightd(
    capsys: pytest.CaptureFixture[str], config: str, tmp_path: Path
) -> None:
    with sqlite3.connect(tmp_path / "db.sqlite3") as db:
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    code, _, err = run(capsys, "users", "list", "--config", config)
    assert code == 1
    assert err.startswith("highlightd: ")
    assert "newer than this highlightd" in err
