"""What SIGHUP applies to a running daemon, and what it says must wait for a restart."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from highlightd.config import Settings
from highlightd.reload import reloaded, set_log_level

NETWORK = {"name": "libera", "host": "irc.example.org", "nick": "hl", "channels": ["#a"]}


def settings(**changes: Any) -> Settings:
    data: dict[str, Any] = {"networks": [dict(NETWORK)], "policy": {"cooldown": 300}}
    for path, value in changes.items():
        section, _, key = path.partition("__")
        if section == "network":
            data["networks"][0][key] = value
        else:
            data.setdefault(section, {})[key] = value
    return Settings(**data)


@pytest.mark.parametrize(
    ("change", "pending"),
    [
        ({"policy__cooldown": 10}, []),
        ({"policy__ignore_nicks": ["bob"]}, []),
        ({"defaults__region": "DE"}, []),
        ({"log__level": "DEBUG"}, []),
        ({"network__policy": {"mass_highlight": 3}}, []),
        ({"network__require_account": True}, []),
        ({"web__port": 9000}, ["web.port"]),
        ({"network__host": "irc.other.org"}, ["networks[0].host"]),
        ({"network__channels": ["#a", "#b"]}, ["networks[0].channels"]),
        ({"network__name": "oftc"}, ["networks (added, removed or renamed)"]),
        ({"storage__path": "/srv/h.sqlite3", "policy__cooldown": 1}, ["storage.path"]),
    ],
    ids=lambda v: str(v),
)
def test_reload_applies_what_is_read_at_each_use(
    change: dict[str, Any], pending: list[str]
) -> None:
    running = settings()
    new = settings(**change)
    applied, waiting = reloaded(running, new)
    assert waiting == pending
    assert applied.policy == new.policy
    assert applied.defaults == new.defaults
    assert applied.log == new.log
    # What the running connections and listeners were built from does not move.
    assert applied.web == running.web
    assert applied.storage == running.storage
    assert [n.host for n in applied.networks] == [n.host for n in running.networks]
    assert [n.channels for n in applied.networks] == [n.channels for n in running.networks]
    if new.networks[0].name == running.networks[0].name:
        assert applied.networks[0].policy == new.networks[0].policy
        assert applied.networks[0].require_account == new.networks[0].require_account


def test_a_changed_secret_is_named_but_never_shown() -> None:
    twilio = {"account_sid": "AC" + "0" * 32, "from_number": "+15005550006"}
    running = Settings.model_validate(
        {"sms": {"backend": "twilio"}, "twilio": {**twilio, "auth_token": "old-token"}}
    )
    new = Settings.model_validate(
        {"sms": {"backend": "twilio"}, "twilio": {**twilio, "auth_token": "new-token"}}
    )
    _, waiting = reloaded(running, new)
    assert waiting == ["twilio.auth_token"]


def test_log_level_changes_our_loggers_and_leaves_the_libraries_alone() -> None:
    ours, pydle = logging.getLogger("highlightd"), logging.getLogger("pydle")
    before = ours.level, pydle.level
    try:
        pydle.setLevel(logging.ERROR)
        set_log_level("INFO")
        assert ours.level == logging.INFO
        set_log_level("DEBUG")
        assert ours.level == logging.DEBUG
        assert pydle.level == logging.ERROR  # libraries: only --log-level names them
    finally:
        ours.setLevel(before[0])
        pydle.setLevel(before[1])
