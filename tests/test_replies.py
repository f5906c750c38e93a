from __future__ import annotations

import pytest

from highlightd.core.replies import Route, parse_reply


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # Plain text goes to whoever mentioned the user last.
        ("on my way", Route("last", "", "on my way")),
        ("ok", Route("last", "", "ok")),
        ("", Route("last", "", "")),
        ("   ", Route("last", "", "")),
        ("  on my way  ", Route("last", "", "on my way")),
        # Channels.
        ("#chan hello all", Route("channel", "#chan", "hello all")),
        ("&chan hello", Route("channel", "&chan", "hello")),
        ("  #chan   hello  ", Route("channel", "#chan", "hello")),
        ("#chan\thello", Route("channel", "#chan", "hello")),
        ("#Chan-2.x hi", Route("channel", "#Chan-2.x", "hi")),
        ("#chan", Route("last", "", "#chan")),
        ("#chan   ", Route("last", "", "#chan")),
        ("#", Route("last", "", "#")),
        ("# hi", Route("last", "", "# hi")),
        ("#a,b hi", Route("last", "", "#a,b hi")),  # a comma is no part of a channel name
        ("#" + "c" * 49 + " hi", Route("channel", "#" + "c" * 49, "hi")),
        ("#" + "c" * 50 + " hi", Route("last", "", "#" + "c" * 50 + " hi")),
        # @nick, with or without a colon or comma.
        ("@bob hello", Route("nick", "bob", "hello")),
        ("@bob: hello", Route("nick", "bob", "hello")),
        ("@bob, hello", Route("nick", "bob", "hello")),
        ("@[bob]` hi", Route("nick", "[bob]`", "hi")),
        ("@bob", Route("last", "", "@bob")),
        ("@bob:", Route("last", "", "@bob:")),
        ("@bob:hello", Route("last", "", "@bob:hello")),
        ("@9bob hi", Route("last", "", "@9bob hi")),
        # nick: text is an address only when that nick is around (the caller decides).
        ("bob: hello", Route("nick", "bob", "hello", addressed=True)),
        ("bob, hello", Route("nick", "bob", "hello", addressed=True)),
        ("Note: buy milk", Route("nick", "Note", "buy milk", addressed=True)),
        ("bob:hello", Route("last", "", "bob:hello")),
        ("bob hello", Route("last", "", "bob hello")),
        ("bob:", Route("last", "", "bob:")),
        ("n" * 30 + ": hi", Route("nick", "n" * 30, "hi", addressed=True)),
        ("n" * 31 + ": hi", Route("last", "", "n" * 31 + ": hi")),
        ("http://example.org see this", Route("last", "", "http://example.org see this")),
        # Several lines: the first word decides, the rest is kept as is.
        ("#chan line one\nline two", Route("channel", "#chan", "line one\nline two")),
        ("@bob line one\nline two\n", Route("nick", "bob", "line one\nline two")),
        ("bob:\nline two", Route("nick", "bob", "line two", addressed=True)),
        ("line one\nline two", Route("last", "", "line one\nline two")),
        ("#chan\nline two", Route("channel", "#chan", "line two")),
        # Unicode.
        ("#café bonjour à tous", Route("channel", "#café", "bonjour à tous")),
        ("@bob ça va? \U0001f600", Route("nick", "bob", "ça va? \U0001f600")),
        ("bob: 你好", Route("nick", "bob", "你好", addressed=True)),
        ("\U0001f600 \U0001f44d", Route("last", "", "\U0001f600 \U0001f44d")),
        ("élodie: salut", Route("last", "", "élodie: salut")),  # not an IRC nick
    ],
)
def test_parse_reply(body: str, expected: Route) -> None:
    assert parse_reply(body) == expected
