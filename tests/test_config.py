from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr

from highlightd.config import ConfigError, Settings, load_settings

REPO = Path(__file__).resolve().parent.parent
SID = "AC0123456789abcdef0123456789abcdef"
AUTH_TOKEN = "toml-secret-0123456789"

NETWORK = """
[[networks]]
name = "libera"
host = "irc.example.org"
nick = "highlightd"
"""

TWILIO = f"""
[twilio]
account_sid = "{SID}"
auth_token = "{AUTH_TOKEN}"
from_number = "+15005550006"
"""


def write(tmp_path: Path, text: str, name: str = "config.toml") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        pytest.param("bogus = 1\n", "bogus: unknown key", id="unknown-top-level-key"),
        pytest.param("[web]\nbogus = 1\n", "web.bogus: unknown key", id="unknown-key-in-web"),
        pytest.param(
            NETWORK + "bogus = 1\n", "networks[0].bogus: unknown key", id="unknown-key-in-network"
        ),
        pytest.param(
            NETWORK + NETWORK.replace("libera", "oftc") + "bogus = 1\n",
            "networks[1].bogus: unknown key",
            id="unknown-key-in-second-network",
        ),
        pytest.param(
            '[web]\nport = "x"\n', "web.port: Input should be a valid integer", id="bad-type"
        ),
        pytest.param(
            "[web]\nport = 70000\n", "web.port: Input should be less than", id="port-range"
        ),
        pytest.param(
            NETWORK.replace('"highlightd"', '"' + "n" * 31 + '"'),
            "networks[0].nick: nick is longer than 30 characters",
            id="nick-too-long",
        ),
        pytest.param(
            NETWORK.replace('"highlightd"', '"high light"'),
            "networks[0].nick: not a valid IRC nick",
            id="nick-with-space",
        ),
        pytest.param(
            NETWORK.replace('"highlightd"', '"9lives"'),
            "networks[0].nick: not a valid IRC nick",
            id="nick-starting-with-digit",
        ),
        pytest.param(
            NETWORK + 'channels = ["#ok", "nohash"]\n',
            "networks[0].channels[1]: not an IRC channel name",
            id="channel-without-prefix",
        ),
        pytest.param(
            TWILIO.replace("+15005550006", "12345"),
            "twilio.from_number: not an E.164 phone number",
            id="from-number-not-e164",
        ),
        pytest.param(
            TWILIO.replace("+15005550006", "+1500"),
            "twilio.from_number: not a",  # "valid" or "possible": either way, rejected
            id="from-number-too-short",
        ),
        pytest.param(
            TWILIO.replace(SID, "XX" + SID[2:]),
            "twilio.account_sid: an Account SID is AC and 32 hex digits",
            id="account-sid-prefix",
        ),
        pytest.param(
            TWILIO.replace(SID, SID[:-1]),
            "twilio.account_sid: an Account SID is AC and 32 hex digits",
            id="account-sid-short",
        ),
        pytest.param(
            TWILIO.replace(SID, SID[:-1] + "g"),
            "twilio.account_sid: an Account SID is AC and 32 hex digits",
            id="account-sid-not-hex",
        ),
        pytest.param(
            TWILIO.replace(f'auth_token = "{AUTH_TOKEN}"\n', ""),
            "twilio.auth_token: Field required",
            id="twilio-missing-token",
        ),
        pytest.param(
            '[sms]\nbackend = "twilio"\n',
            'sms.backend = "twilio" needs a [twilio] section',
            id="twilio-backend-without-section",
        ),
        pytest.param(
            '[sms]\nbackend = "carrier-pigeon"\n',
            "sms.backend: Input should be 'twilio' or 'console'",
            id="unknown-sms-backend",
        ),
        pytest.param(
            NETWORK + NETWORK, "network name 'libera' is used twice", id="duplicate-network-names"
        ),
        pytest.param(
            '[redis]\nurl = "http://localhost:6379"\n',
            'redis.url: must be "embedded" or a redis://',
            id="redis-url-scheme",
        ),
        pytest.param(
            NETWORK + 'sasl_username = "bot"\n',
            "networks[0]: sasl_username and sasl_password go together",
            id="sasl-username-without-password",
        ),
        pytest.param(
            NETWORK + 'sasl_password = "pw"\n',
            "networks[0]: sasl_username and sasl_password go together",
            id="sasl-password-without-username",
        ),
        pytest.param(
            NETWORK + 'tls_ca_file = "/nonexistent/ca.pem"\n',
            "networks[0].tls_ca_file: Path does not point to a file",
            id="missing-ca-file",
        ),
        pytest.param(
            NETWORK + 'tls_ca_file = "/etc/hostname"\n',
            "networks[0]: tls_ca_file /etc/hostname: not a PEM CA certificate",
            id="ca-file-not-pem",
        ),
        pytest.param(
            NETWORK + 'tls_client_cert = "/etc/hostname"\n',
            "networks[0]: tls_client_cert /etc/hostname: no certificate and matching key",
            id="client-cert-not-pem",
        ),
        pytest.param(
            NETWORK + 'tls_client_key = "/etc/hostname"\n',
            "networks[0]: tls_client_key needs tls_client_cert",
            id="client-key-without-cert",
        ),
        pytest.param(
            NETWORK + 'tls = false\ntls_client_cert = "/etc/hostname"\n',
            "networks[0]: tls_client_cert needs tls = true",
            id="client-cert-without-tls",
        ),
        pytest.param(
            NETWORK + "sasl_required = true\n",
            "networks[0]: sasl_required needs sasl_username/sasl_password or tls_client_cert",
            id="sasl-required-without-sasl",
        ),
        pytest.param("[web\nport = 1\n", "not valid TOML", id="invalid-toml"),
    ],
)
def test_config_error_names_the_problem(tmp_path: Path, toml: str, expected: str) -> None:
    path = write(tmp_path, toml)
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    message = str(caught.value)
    assert expected in message
    assert message.startswith(f"{path}: ")


def test_config_error_lists_every_problem(tmp_path: Path) -> None:
    path = write(tmp_path, 'bogus = 1\n[web]\nport = "x"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    lines = str(caught.value).splitlines()
    assert len(lines) == 2
    assert any("bogus: unknown key" in line for line in lines)
    assert any("web.port:" in line for line in lines)


def test_named_config_file_missing(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    with pytest.raises(ConfigError, match="no such config file") as caught:
        load_settings(str(missing))
    assert str(missing) in str(caught.value)


def test_config_env_var_names_missing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIGHLIGHTD_CONFIG", str(tmp_path / "nope.toml"))
    with pytest.raises(ConfigError, match="no such config file"):
        load_settings()


def test_example_config_loads() -> None:
    settings = load_settings(str(REPO / "config.example.toml"))
    # A placeholder, never a live network where every trial bot sits with one nick.
    assert [n.name for n in settings.networks] == ["example"]
    assert settings.networks[0].host == "irc.example.net"
    assert settings.networks[0].channels == ["#CHANGE-ME"]
    assert settings.sms.backend == "console"
    assert settings.redis.url == "embedded"


def test_defaults_without_any_file() -> None:
    settings = load_settings()
    assert settings.redis.url == "embedded"
    assert settings.sms.backend == "console"
    assert settings.twilio is None
    assert settings.networks == []
    assert settings.storage.path == Path("highlightd.sqlite3")
    assert settings.web.port == 8080


def test_default_file_in_working_directory_is_read(tmp_path: Path) -> None:
    write(tmp_path, "[web]\nport = 9001\n", name="highlightd.toml")
    assert load_settings().web.port == 9001


def test_default_file_in_working_directory_is_checked(tmp_path: Path) -> None:
    write(tmp_path, "[web]\nbogus = 1\n", name="highlightd.toml")
    with pytest.raises(ConfigError, match=r"web\.bogus: unknown key"):
        load_settings()


def test_network_defaults(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, NETWORK))
    net = settings.network("libera")
    assert net is not None
    assert (net.port, net.tls, net.tls_verify, net.channels) == (6697, True, True, [])
    assert settings.network("oftc") is None


def test_from_number_is_normalized(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, TWILIO.replace("+15005550006", "+1 (500) 555-0006")))
    assert settings.twilio is not None
    assert settings.twilio.from_number == "+15005550006"


def test_env_overrides_one_nested_field(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[sms]\nbackend = "twilio"\n' + TWILIO + "[web]\nport = 9001\n")
    monkeypatch.setenv("HIGHLIGHTD_TWILIO__AUTH_TOKEN", "env-secret")
    settings = load_settings(path)
    assert settings.twilio is not None
    assert settings.twilio.auth_token.get_secret_value() == "env-secret"
    # The rest of [twilio] and the other sections still come from the file.
    assert settings.twilio.account_sid == SID
    assert settings.twilio.from_number == "+15005550006"
    assert settings.web.port == 9001
    assert settings.sms.backend == "twilio"


def test_env_override_is_validated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HIGHLIGHTD_WEB__PORT", "not-a-port")
    with pytest.raises(ConfigError, match=r"web\.port: Input should be a valid integer"):
        load_settings(write(tmp_path, "[web]\nport = 9001\n"))


def test_config_env_var_is_the_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "[web]\nport = 9002\n", name="elsewhere.toml")
    write(tmp_path, "[web]\nport = 9003\n", name="highlightd.toml")
    monkeypatch.setenv("HIGHLIGHTD_CONFIG", path)
    assert load_settings().web.port == 9002


def test_explicit_path_wins_over_config_env_var(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "HIGHLIGHTD_CONFIG", write(tmp_path, "[web]\nport = 9002\n", name="env.toml")
    )
    assert load_settings(write(tmp_path, "[web]\nport = 9004\n")).web.port == 9004


def test_secrets_never_show_in_repr(tmp_path: Path) -> None:
    path = write(
        tmp_path, TWILIO + NETWORK + 'sasl_username = "bot"\nsasl_password = "sasl-pw-42"\n'
    )
    settings = load_settings(path)
    assert isinstance(settings, Settings)
    assert settings.twilio is not None
    assert isinstance(settings.twilio.auth_token, SecretStr)
    for text in (repr(settings), str(settings), repr(settings.twilio), repr(settings.networks)):
        assert AUTH_TOKEN not in text
        assert "sasl-pw-42" not in text
    assert settings.networks[0].sasl_password is not None
    assert settings.networks[0].sasl_password.get_secret_value() == "sasl-pw-42"


def test_settings_are_frozen(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, NETWORK))
    with pytest.raises(ValueError, match="frozen"):
        settings.web.port = 1


@pytest.mark.parametrize("value", ["not json", "[{bad"])
def test_env_value_that_is_not_json_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("HIGHLIGHTD_NETWORKS", value)
    with pytest.raises(ConfigError, match="networks"):
        load_settings()
