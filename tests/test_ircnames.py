"""Table tests for IRC names: nicks, and channels as a server's CHANTYPES define them."""

from __future__ import annotations

import pytest

from highlightd.core.commands import CommandError
from highlightd.core.ircnames import (
    DEFAULT_CHANTYPES,
    RFC_CHANTYPES,
    check_channel,
    check_nick,
    is_channel,
    is_channel_name,
    nick_key,
    prefixes_text,
)
from highlightd.core.replies import Route, parse_reply
from highlightd.selfservice.commands import Mute, Unmute, parse_irc

NGIRCD = "#&+"  # what ngircd 26 announces


@pytest.mark.parametrize(
    ("nick", "ok"),
    [
        ("alice", True),
        ("[al]`_^{|}\\-9", True),
        ("a" * 30, True),
        ("a" * 31, False),
        ("9lives", False),
        ("-dash", False),
        ("has space", False),
        ("café", False),
        ("", False),
        ("#chan", False),
    ],
)
def test_check_nick(nick: str, ok: bool) -> None:
    if ok:
        assert check_nick(nick) == nick
    else:
        with pytest.raises(ValueError, match="nick"):
            check_nick(nick)


def test_nick_key_folds_the_rfc1459_way() -> None:
    assert nick_key("Al[ice]~") == nick_key("al{ICE}^") == "al{ice}^"


@pytest.mark.parametrize(
    ("target", "chantypes", "expected"),
    [
        ("#chan", DEFAULT_CHANTYPES, True),
        ("&local", DEFAULT_CHANTYPES, True),
        ("+modeless", DEFAULT_CHANTYPES, False),  # the server did not say it knows "+"
        ("+modeless", NGIRCD, True),
        ("!safe", NGIRCD, False),
        ("!safe", RFC_CHANTYPES, True),
        ("alice", RFC_CHANTYPES, False),
        ("", RFC_CHANTYPES, False),
        ("#chan", "", False),  # "CHANTYPES=": a server without channels
    ],
)
def test_is_channel_follows_the_servers_chantypes(
    target: str, chantypes: str, expected: bool
) -> None:
    assert is_channel(target, chantypes) is expected


@pytest.mark.parametrize(
    ("name", "chantypes", "expected"),
    [
        ("#chan", DEFAULT_CHANTYPES, True),
        ("#Chan.With-Odd_Chars!", DEFAULT_CHANTYPES, True),
        ("#café", DEFAULT_CHANTYPES, True),
        ("#" + "c" * 49, DEFAULT_CHANTYPES, True),
        ("#" + "c" * 50, DEFAULT_CHANTYPES, False),  # 50 characters in all, prefix included
        ("#", DEFAULT_CHANTYPES, False),
        ("#a,b", DEFAULT_CHANTYPES, False),
        ("#a b", DEFAULT_CHANTYPES, False),
        ("#bell\x07", DEFAULT_CHANTYPES, False),
        ("#nul\x00", DEFAULT_CHANTYPES, False),
        ("+chan", DEFAULT_CHANTYPES, False),
        ("+chan", NGIRCD, True),
        ("]chan", "]", True),  # a prefix that means something in a regular expression
        ("^chan", "^", True),
        ("#chan", "", False),
    ],
)
def test_is_channel_name(name: str, chantypes: str, expected: bool) -> None:
    assert is_channel_name(name, chantypes) is expected


@pytest.mark.parametrize(
    ("chantypes", "text"),
    [("#&", "# or &"), ("#&+", "#, & or +"), ("#&+!", "#, &, + or !"), ("#", "#")],
)
def test_prefixes_text(chantypes: str, text: str) -> None:
    assert prefixes_text(chantypes) == text


@pytest.mark.parametrize("name", ["#chan", "&local", "+modeless", "!safe"])
def test_config_accepts_every_rfc_prefix(name: str) -> None:
    assert check_channel(name) == name


@pytest.mark.parametrize("name", ["chan", "#", "#a,b", "%chan", "#" + "c" * 50])
def test_config_rejects_what_is_no_channel(name: str) -> None:
    with pytest.raises(ValueError, match="not an IRC channel name"):
        check_channel(name)


@pytest.mark.parametrize(
    ("text", "chantypes", "expected"),
    [
        ("MUTE +chan", NGIRCD, Mute("+chan")),
        ("UNMUTE +chan", NGIRCD, Unmute("+chan")),
        ("MUTE #chan", NGIRCD, Mute("#chan")),
        ("MUTE !safe", RFC_CHANTYPES, Mute("!safe")),
    ],
)
def test_mute_takes_the_networks_channels(text: str, chantypes: str, expected: object) -> None:
    assert parse_irc(text, chantypes=chantypes) == expected


@pytest.mark.parametrize(
    ("text", "chantypes", "hint"),
    [
        ("MUTE +chan", DEFAULT_CHANTYPES, "a channel starts with # or &"),
        ("MUTE !safe", NGIRCD, "a channel starts with #, & or +"),
    ],
)
def test_mute_refuses_what_the_network_has_not(text: str, chantypes: str, hint: str) -> None:
    with pytest.raises(CommandError, match=hint):
        parse_irc(text, chantypes=chantypes)


@pytest.mark.parametrize(
    ("body", "chantypes", "expected"),
    [
        ("+chan hi", NGIRCD, Route("channel", "+chan", "hi")),
        ("+chan hi", DEFAULT_CHANTYPES, Route("last", "", "+chan hi")),
        ("+1 for that", NGIRCD, Route("channel", "+1", "for that")),
        ("!safe hi", NGIRCD, Route("last", "", "!safe hi")),
        ("#chan hi", NGIRCD, Route("channel", "#chan", "hi")),
    ],
)
def test_reply_routes_to_the_networks_channels(body: str, chantypes: str, expected: Route) -> None:
    assert parse_reply(body, chantypes) == expected
