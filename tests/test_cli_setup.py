"""The first minute at the command line: init, check-config's words, run's refusals, and
commands that read without leaving files behind. Each case: exit code, one line, no traceback."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from highlightd.admin.template import example_text
from highlightd.cli import main
from highlightd.config import load_settings

REPO = Path(__file__).resolve().parent.parent
PHONE = "+15551230001"

NETWORK = """
[[networks]]
name = "libera"
host = "irc.libera.chat"
nick = "hlbot"
channels = ["#chan"]
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def write(path: Path, text: str) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return str(path)


def files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.fixture
def config(tmp_path: Path) -> str:
    db = tmp_path / "conf" / "data" / "db.sqlite3"  # its folder is made on the first write
    return write(tmp_path / "conf" / "hl.toml", f'[storage]\npath = "{db}"\n{NETWORK}')


# Global options before or after the subcommand


@pytest.mark.parametrize(
    "argv",
    [
        ["--config", "{cfg}", "check-config"],
        ["check-config", "--config", "{cfg}"],
        ["--log-level", "debug", "check-config", "--config", "{cfg}"],
        ["check-config", "--config", "{cfg}", "--log-level", "WARNING"],
    ],
)
def test_global_options_before_or_after_the_command(
    capsys: pytest.CaptureFixture[str], config: str, argv: list[str]
) -> None:
    code, out, _ = run(capsys, *[a.format(cfg=config) for a in argv])
    assert code == 0
    assert out.startswith("config ok: 1 network(s) (libera)")
    assert f"read {config}" in out


def test_users_option_before_the_subcommand(
    capsys: pytest.CaptureFixture[str], config: str
) -> None:
    code, _, err = run(capsys, "users", "--config", config, "list")
    assert (code, err.strip()) == (
        0,
        f"0 user(s) (no database at {load_settings(config).storage.path} yet)",
    )


def test_unknown_log_level_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["check-config", "--log-level", "verbose"])
    assert exited.value.code == 2
    assert "unknown log level 'verbose'" in capsys.readouterr().err


# Reading never creates files


def test_users_list_elsewhere_creates_no_database(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, err = run(capsys, "users", "list")
    assert (code, out) == (0, "")
    assert err.strip() == "0 user(s) (no database at highlightd.sqlite3 yet)"
    assert files(tmp_path) == []


def test_explain_without_a_database_creates_none(
    capsys: pytest.CaptureFixture[str], config: str, tmp_path: Path
) -> None:
    code, _, err = run(
        capsys, "explain", "--config", config, "--network", "libera", "--nick", "al", "al: hi"
    )
    assert code == 1
    assert err.strip().startswith("highlightd: al is not registered on libera: no database at ")
    assert files(tmp_path) == ["conf", "conf/hl.toml"]


def test_check_config_creates_nothing(
    capsys: pytest.CaptureFixture[str], config: str, tmp_path: Path
) -> None:
    assert run(capsys, "check-config", "--config", config)[0] == 0
    assert files(tmp_path) == ["conf", "conf/hl.toml"]


def test_users_list_of_an_unknown_network_exits_2(
    capsys: pytest.CaptureFixture[str], config: str
) -> None:
    code, out, err = run(capsys, "users", "list", "--config", config, "--network", "nosuch")
    assert (code, out) == (2, "")
    assert err.strip() == "highlightd: no network named 'nosuch' in the config (have: libera)"


# Storage folders


def test_storage_folder_under_the_config_folder_is_created(
    capsys: pytest.CaptureFixture[str], config: str, tmp_path: Path
) -> None:
    code, out, _ = run(
        capsys, "users", "add", "--config", config, "--network", "libera", "--nick", "al",
        "--phone", PHONE,
    )  # fmt: skip
    assert code == 0
    assert out.startswith("added al on libera")
    assert (tmp_path / "conf" / "data" / "db.sqlite3").is_file()


def test_storage_folder_elsewhere_is_not_created(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "elsewhere" / "deep"
    cfg = write(tmp_path / "conf" / "hl.toml", f'[storage]\npath = "{missing}/db.sqlite3"\n')
    code, _, err = run(
        capsys, "users", "add", "--config", cfg, "--network", "x", "--nick", "al", "--phone", PHONE
    )
    assert code == 2
    assert len(err.strip().splitlines()) == 1
    assert f"storage folder {missing} does not exist" in err
    assert not (tmp_path / "elsewhere").exists()
    code, _, err = run(capsys, "check-config", "--config", cfg)
    assert code == 0
    assert f"warning: storage folder {missing} does not exist" in err


# run refuses what cannot work, before it starts anything


def test_run_without_a_config_file_says_where_it_looked(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, _, err = run(capsys, "run")
    assert code == 2
    line = err.strip()
    assert len(line.splitlines()) == 1
    assert line.startswith("highlightd: no config file found (looked in $HIGHLIGHTD_CONFIG")
    assert str(tmp_path / "highlightd.toml") in line
    assert "highlightd init --network NAME" in line
    assert files(tmp_path) == []


def test_run_with_no_networks_refuses(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    cfg = write(tmp_path / "hl.toml", "[web]\nport = 9000\n")
    code, _, err = run(capsys, "run", "--config", cfg)
    assert code == 2
    assert err.strip().startswith(f"highlightd: {cfg} has no [[networks]]")


def test_run_with_the_example_placeholder_refuses(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    write(tmp_path / "highlightd.toml", example_text())
    code, _, err = run(capsys, "run")
    assert code == 2
    assert "still has the example's host irc.example.net" in err
    assert files(tmp_path) == ["highlightd.toml"]


def test_run_with_a_missing_storage_folder_refuses(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cfg = write(tmp_path / "conf" / "hl.toml", f'[storage]\npath = "{tmp_path}/x/db"\n{NETWORK}')
    code, _, err = run(capsys, "run", "--config", cfg)
    assert code == 2
    assert f"storage folder {tmp_path / 'x'} does not exist" in err


# init


def test_init_writes_a_config_that_checks_clean(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, out, _ = run(
        capsys, "init", "--network", "libera", "--host", "irc.libera.chat", "--nick", "mybot",
        "--channel", "#one", "--channel", "#two",
    )  # fmt: skip
    assert code == 0
    assert out.startswith("wrote highlightd.toml: network libera at irc.libera.chat:6697 (TLS)")
    settings = load_settings()
    network = settings.networks[0]
    assert (network.name, network.host, network.port, network.tls) == (
        "libera", "irc.libera.chat", 6697, True,
    )  # fmt: skip
    assert (network.nick, network.channels) == ("mybot", ["#one", "#two"])
    code, out, err = run(capsys, "check-config")
    assert (code, err) == (0, "")
    assert "# " in (tmp_path / "highlightd.toml").read_text()  # commented


def test_init_refuses_to_overwrite_without_force(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    args = ["init", "--network", "n", "--host", "irc.x.org", "--nick", "b", "--channel", "#c"]
    assert run(capsys, *args)[0] == 0
    (tmp_path / "highlightd.toml").write_text("# mine\n")
    code, _, err = run(capsys, *args)
    assert code == 1
    assert err.strip() == "highlightd: highlightd.toml exists; --force overwrites it"
    assert (tmp_path / "highlightd.toml").read_text() == "# mine\n"
    assert run(capsys, *args, "--force")[0] == 0
    assert load_settings().networks[0].host == "irc.x.org"


def test_init_without_tls_uses_the_plain_port(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cfg = str(tmp_path / "plain.toml")
    argv = ["init", "--config", cfg, "--network", "n", "--host", "h.x.org", "--nick", "b"]
    assert run(capsys, *argv, "--no-tls")[0] == 0
    network = load_settings(cfg).networks[0]
    assert (network.port, network.tls) == (6667, False)


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--nick", "9lives", "--nick: not a valid IRC nick"),
        ("--channel", "nohash", "--channel: not an IRC channel name"),
        ("--network", "two words", "--network: String should match pattern"),
        ("--host", " ", "--host: give the IRC server's name"),
    ],
)
def test_init_refuses_bad_values(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, option: str, value: str, expected: str
) -> None:
    argv = {"--network": "n", "--host": "irc.x.org", "--nick": "b", "--channel": "#c"}
    argv[option] = value
    code, _, err = run(capsys, "init", *[part for pair in argv.items() for part in pair])
    assert code == 2
    assert expected in err
    assert files(tmp_path) == []


def test_example_config_is_the_template() -> None:
    assert (REPO / "config.example.toml").read_text(encoding="utf-8") == example_text()


# check-config: the file, the sources, the words, the warnings


def test_check_config_example_says_edit_me(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check-config", "--config", str(REPO / "config.example.toml"))
    assert code == 0
    assert f"read {REPO / 'config.example.toml'}" in out
    assert err.splitlines() == [
        "warning: networks[0] (example): edit me: host irc.example.net, nick CHANGE-ME, "
        "channel #CHANGE-ME is the example's placeholder"
    ]


@pytest.mark.parametrize(
    ("network", "expected"),
    [
        ('host = ""\nnick = "b"\n', "networks[0] (n): host is empty"),
        ('host = "h.x.org"\nnick = "b"\ntls = false\n', "tls = false on port 6697, a TLS port"),
        ('host = "h.x.org"\nnick = "b"\nport = 6667\n', "tls = true on port 6667"),
    ],
)
def test_check_config_warns_on_valid_but_unlikely(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, network: str, expected: str
) -> None:
    cfg = write(tmp_path / "hl.toml", f'[[networks]]\nname = "n"\n{network}')
    code, _, err = run(capsys, "check-config", "--config", cfg)
    assert code == 0
    assert len(err.splitlines()) == 1
    assert err.startswith("warning: ")
    assert expected in err


def test_check_config_warns_without_networks(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "check-config")
    assert code == 0
    assert "no config file ($HIGHLIGHTD_CONFIG (not set)" in out
    assert err.startswith("warning: no [[networks]]")


def test_check_config_warns_on_a_phone_of_two_nicks(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cfg = write(tmp_path / "hl.toml", NETWORK)
    add = ["users", "add", "--config", cfg, "--network", "libera", "--phone", PHONE, "--nick"]
    assert run(capsys, *add, "alice")[0] == 0
    code, out, err = run(capsys, *add, "bob")
    assert code == 0
    assert out.strip() == "added bob on libera (+1•••••0001)"
    assert err.startswith("warning: +1•••••0001 is also registered to alice on libera")
    code, _, err = run(capsys, "check-config", "--config", cfg)
    assert code == 0
    assert err.strip() == (
        "warning: +1•••••0001 is registered to 2 nicks: alice on libera, bob on libera"
    )


def test_check_config_blames_the_environment_variable(
    capsys: pytest.CaptureFixture[str], config: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HIGHLIGHTD_WEB__PORT", "eighty")
    code, out, err = run(capsys, "check-config", "--config", config)
    assert (code, out) == (2, "")
    assert err.splitlines()[1].startswith("environment HIGHLIGHTD_WEB__PORT: web.port: ")
    assert config not in err


def test_check_config_says_lists_in_the_environment_are_json(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HIGHLIGHTD_POLICY__IGNORE_NICKS", "somebot")
    code, _, err = run(capsys, "check-config")
    assert code == 2
    assert "environment HIGHLIGHTD_POLICY__IGNORE_NICKS: policy: cannot read it" in err
    assert "list and table values in the environment must be JSON" in err


def test_check_config_url_error_in_plain_words(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cfg = write(tmp_path / "hl.toml", '[web]\npublic_url = "sms.example.org"\n')
    code, _, err = run(capsys, "check-config", "--config", cfg)
    assert code == 2
    assert err.splitlines()[1] == (
        f"{cfg}: web.public_url: not a URL: 'sms.example.org'; "
        "write it in full, like https://sms.example.org"
    )
    assert "relative URL" not in err


def test_add_then_read_the_database_in_place(
    capsys: pytest.CaptureFixture[str], config: str, tmp_path: Path
) -> None:
    """The database made by users add is the one users list and check-config read."""
    add = ["users", "add", "--config", config, "--network", "libera", "--phone", PHONE]
    assert run(capsys, *add, "--nick", "al")[0] == 0
    with sqlite3.connect(tmp_path / "conf" / "data" / "db.sqlite3") as db:
        assert db.execute("SELECT nick FROM users").fetchall() == [("al",)]
    code, out, _ = run(capsys, "users", "list", "--config", config)
    assert (code, out) == (0, "libera\tal\t+1•••••0001\n")
