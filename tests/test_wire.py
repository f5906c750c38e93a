from __future__ import annotations

import pytest

from highlightd.core.wire import clean, split_utf8

INJECTIONS = [
    "hi\r\nQUIT :bye",
    "hi\nQUIT :bye",
    "hi\rQUIT :bye",
    "hi\r\n\r\nPRIVMSG #x :spam",
    "\r\nJOIN #evil\r\n",
    "a\x00b",
    "hi\x00\r\nQUIT",
    "\x01ACTION hacks\x01",
    "\x01DCC SEND x 1 2 3\x01",
    "x\u2028y\u0085z",
]


@pytest.mark.parametrize("text", INJECTIONS)
def test_clean_leaves_no_line_break_nul_or_ctcp_marker(text: str) -> None:
    result = clean(text)
    for forbidden in "\r\n\x00\x01":
        assert forbidden not in result


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hi\r\nQUIT :bye", "hi QUIT :bye"),
        ("hi\nthere", "hi there"),
        ("hi\rthere", "hi there"),
        ("a\r\n\r\nb", "a b"),
        ("a\tb", "a b"),
        ("a\x00b", "ab"),
        ("\x01ACTION waves\x01", "ACTION waves"),
        ("bell\x07 esc\x1b del\x7f", "bell esc del"),
        ("\x0b\x0c\x1c", ""),
        ("  padded  ", "padded"),
        ("\r\n  hi  \r\n", "hi"),
        ("\u00a0nbsp\u3000", "nbsp"),
        ("", ""),
        ("plain", "plain"),
        ("héllo wörld 😀", "héllo wörld 😀"),
    ],
)
def test_clean_rewrites_text(text: str, expected: str) -> None:
    assert clean(text) == expected


@pytest.mark.parametrize(
    "code", ["\x02", "\x03", "\x04", "\x0f", "\x11", "\x16", "\x1d", "\x1e", "\x1f"]
)
def test_clean_keeps_irc_formatting_codes_even_at_the_edges(code: str) -> None:
    assert clean(f"{code}hi{code}") == f"{code}hi{code}"


def test_clean_keeps_colour_arguments() -> None:
    assert clean("\x0304,01red\x03 \x04FF0000hex") == "\x0304,01red\x03 \x04FF0000hex"


def _assert_split(text: str, chunks: list[str], limit: int) -> None:
    """Every chunk is non-empty, within limit, and the chunks rebuild text."""
    assert all(chunks)
    assert all(len(chunk.encode()) <= limit for chunk in chunks)
    pos = 0
    for chunk in chunks:
        # A chunk continues the text directly or after the spaces a break dropped.
        if not text.startswith(chunk, pos):
            while text[pos] == " ":
                pos += 1
        assert text.startswith(chunk, pos)
        pos += len(chunk)
    assert text[pos:].strip(" ") == ""  # a break may drop final spaces too


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("", 400, []),
        ("hi", 400, ["hi"]),
        ("a" * 10, 10, ["a" * 10]),  # exactly at the limit: one chunk
        ("a" * 11, 10, ["a" * 10, "a"]),
        ("a" * 25, 10, ["a" * 10, "a" * 10, "a" * 5]),
        ("aaaaaa bbbbbbb", 10, ["aaaaaa", "bbbbbbb"]),
        ("aaaaaaaaaa bbb", 10, ["aaaaaaaaaa", "bbb"]),  # space just after the chunk
        ("aaa bbbbbbbbbbbb", 10, ["aaa bbbbbb", "bbbbbb"]),  # space in the first half
        ("aaaaa bbbbbbbbbb", 10, ["aaaaa", "bbbbbbbbbb"]),  # space at the half
        ("one two three four five six", 10, ["one two", "three four", "five six"]),
        ("é" * 6, 10, ["é" * 5, "é"]),  # 2-byte
        ("a" + "é" * 5, 10, ["a" + "é" * 4, "é"]),  # a 2-byte char does not straddle
        ("€" * 4, 10, ["€" * 3, "€"]),  # 3-byte
        ("a€€€", 10, ["a€€€"]),  # exactly 10 bytes
        ("ab€€€", 10, ["ab€€", "€"]),
        ("😀" * 3, 10, ["😀" * 2, "😀"]),  # 4-byte
        ("ab😀😀", 10, ["ab😀😀"]),  # exactly 10 bytes
        ("abc😀😀", 10, ["abc😀", "😀"]),
        ("😀", 4, ["😀"]),
        ("😀😀", 4, ["😀", "😀"]),
        ("é é é é é", 6, ["é é", "é é", "é"]),
        ("hello     world", 8, ["hello", "world"]),  # the run of spaces goes
        ("ab      cd", 4, ["ab", "cd"]),
    ],
)
def test_split_utf8_table(text: str, limit: int, expected: list[str]) -> None:
    chunks = split_utf8(text, limit)
    assert chunks == expected
    _assert_split(text, chunks, limit)


@pytest.mark.parametrize("limit", [4, 5, 7, 10, 33, 400])
@pytest.mark.parametrize(
    "text",
    [
        "word " * 300,
        "x" * 1000,
        "é€😀a " * 100,
        "😀" * 300,
        "a  b   c    " * 50,
        "ends with space ",
        " starts with space",
    ],
    ids=[
        "words",
        "one-long-word",
        "mixed-widths",
        "all-4-byte",
        "space-runs",
        "trailing",
        "leading",
    ],
)
def test_split_utf8_chunks_fit_and_rebuild_the_text(text: str, limit: int) -> None:
    chunks = split_utf8(text, limit)
    _assert_split(text, chunks, limit)
    assert all(chunk.strip(" ") for chunk in chunks)


def test_split_utf8_default_limit_is_400_bytes() -> None:
    chunks = split_utf8("€" * 300)
    assert [len(chunk.encode()) for chunk in chunks] == [399, 399, 102]


@pytest.mark.parametrize("limit", [0, 1, 3])
def test_split_utf8_rejects_a_limit_below_one_character(limit: int) -> None:
    with pytest.raises(ValueError, match="limit"):
        split_utf8("text", limit)
