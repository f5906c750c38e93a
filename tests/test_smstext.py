from __future__ import annotations

import pytest

from highlightd.core.smstext import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    encoding,
    fit,
    format_highlight,
    segments,
    strip_irc_formatting,
    units,
)

EMOJI = "\U0001f600"  # 😀, outside the BMP: a surrogate pair in UTF-16
FLAG = "\U0001f1eb\U0001f1f7"  # 🇫🇷, two regional indicators
THUMB_TONE = "\U0001f44d\U0001f3fd"  # 👍🏽, base + skin tone modifier


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\x02bold\x02", "bold"),
        ("\x1ditalic\x1d", "italic"),
        ("\x1funderline\x1f", "underline"),
        ("\x1estrike\x1e", "strike"),
        ("\x11mono\x11", "mono"),
        ("\x16reverse\x16", "reverse"),
        ("a\x0fb", "ab"),
        ("\x03bare", "bare"),
        ("\x034red", "red"),
        ("\x0304red", "red"),
        ("\x0312,04on red", "on red"),
        ("\x031,2x", "x"),
        ("\x03123", "3"),  # colour numbers have at most two digits
        ("\x0312,", ","),  # a comma not followed by digits is text
        ("\x0312,x", ",x"),
        ("\x03,12x", ",12x"),  # no foreground, so no background either
        ("\x04FF0000red", "red"),
        ("\x04ff0000,00FF00x", "x"),
        ("\x04FF0000,", ","),
        ("\x04bare", "bare"),
        ("\x04FF00001", "1"),  # RRGGBB is exactly six hex digits
        ("\x01ACTION waves\x01", "ACTION waves"),
        ("a\x00b\x07c\x1bd\x7fe", "abcde"),
        ("a\r\nb", "a b"),
        ("a\nb\rc", "a b c"),
        ("a\tb", "a b"),
        ("a\r\n\t\nb", "a b"),
        ("plain text", "plain text"),
        ("\x02\x0304,01\x1fal\x0f: hi", "al: hi"),
    ],
)
def test_strip_irc_formatting_removes_codes(text: str, expected: str) -> None:
    assert strip_irc_formatting(text) == expected


@pytest.mark.parametrize(
    ("text", "expected_encoding", "expected_units"),
    [
        ("", "GSM-7", 0),
        ("hello", "GSM-7", 5),
        ("@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ¤¡ÄÖÑÜ§¿äöñüà", "GSM-7", 42),
        ("\r\n", "GSM-7", 2),
        ("[", "GSM-7", 2),
        ("]", "GSM-7", 2),
        ("{", "GSM-7", 2),
        ("}", "GSM-7", 2),
        ("a[b]c", "GSM-7", 7),
        ("^~\\|", "GSM-7", 8),
        ("€", "GSM-7", 2),
        ("\f", "GSM-7", 2),
        ("5€", "GSM-7", 3),
        ("ç", "UCS-2", 1),  # only the capital Ç is in the GSM alphabet
        ("`", "UCS-2", 1),
        ("…", "UCS-2", 1),
        ("привет", "UCS-2", 6),
        ("a[b", "GSM-7", 4),
        ("a[bж", "UCS-2", 4),  # no escape cost in UCS-2
        (EMOJI, "UCS-2", 2),
        ("hi " + EMOJI, "UCS-2", 5),
        (FLAG, "UCS-2", 4),
    ],
)
def test_encoding_and_units(text: str, expected_encoding: str, expected_units: int) -> None:
    assert encoding(text) == expected_encoding
    assert units(text) == expected_units


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 159 + "[", 2),  # 161 units
        ("a" * 158 + "[", 1),  # 160 units
        ("a" * 80 + "€" * 40, 1),  # 160 units
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("a" * 459, 3),
        ("a" * 460, 4),
        # An escape pair never straddles two parts: 152 + (2 + 151) + 1.
        ("a" * 152 + "[" + "a" * 152, 3),
        ("ж" * 70, 1),
        ("ж" * 71, 2),
        ("ж" * 134, 2),
        ("ж" * 135, 3),
        (EMOJI * 35, 1),  # 70 units
        ("ж" + EMOJI * 35, 2),  # 71 units
        # A surrogate pair never straddles two parts: 66 + (2 + 64) + 1.
        ("ж" * 66 + EMOJI + "ж" * 66, 3),
    ],
)
def test_segments(text: str, expected: int) -> None:
    assert segments(text) == expected


@pytest.mark.parametrize(
    "text",
    ["", "short", "a" * 160, "a" * 158 + "[", "ж" * 70, EMOJI * 35, "x" * 150 + " " + "y" * 9],
)
def test_fit_returns_fitting_text_unchanged(text: str) -> None:
    assert fit(text) == text


def _assert_fitted(result: str, original: str, max_segments: int, ellipsis: str) -> None:
    assert segments(result) <= max_segments
    assert result.endswith(ellipsis)
    kept = result.removesuffix(ellipsis)
    assert original.startswith(kept)


@pytest.mark.parametrize(
    ("text", "max_segments", "ellipsis", "expected_len"),
    [
        ("a" * 200, 1, "...", 157),
        ("a" * 400, 2, "...", 303),
        ("a" * 200 + "ж", 1, "...", 157),  # the UCS-2 char is cut away: GSM-7 result
        ("ж" * 100, 1, "…", 69),
        ("ж" * 300, 2, "…", 133),
        ("[" * 100, 1, "...", 78),  # 78 * 2 + 3 = 159: no half extension char
        ("a" * 156 + "[" * 10, 1, "...", 156),  # a 157th unit would need an escape
        ("a" * 155 + "[" * 10, 1, "...", 156),  # 155 + 2 + 3 = 160
    ],
)
def test_fit_cuts_to_budget_with_ellipsis(
    text: str, max_segments: int, ellipsis: str, expected_len: int
) -> None:
    result = fit(text, max_segments)
    _assert_fitted(result, text, max_segments, ellipsis)
    assert len(result) == expected_len + len(ellipsis)


def test_fit_uses_three_dots_for_gsm_text() -> None:
    result = fit("word " * 50)
    assert result.endswith("...") and "…" not in result
    assert encoding(result) == "GSM-7"


def test_fit_uses_unicode_ellipsis_for_ucs2_text() -> None:
    text = "ж " + "word " * 50
    result = fit(text)
    _assert_fitted(result, text, 1, "…")
    assert units(result) <= 70


@pytest.mark.parametrize(
    ("text", "whole"),
    [
        ("ж" + EMOJI * 60, EMOJI),
        ("ж" * 67 + EMOJI * 2, EMOJI),
        ("ж" * 65 + FLAG * 5, FLAG),
        ("ж" * 66 + FLAG * 5, FLAG),
        ("ж" * 64 + THUMB_TONE * 5, THUMB_TONE),
        ("ж" * 66 + THUMB_TONE * 5, THUMB_TONE),
        ("ж" * 66 + "e\u0301" * 5, "e\u0301"),
    ],
)
def test_fit_never_splits_an_emoji_or_accent(text: str, whole: str) -> None:
    result = fit(text)
    _assert_fitted(result, text, 1, "…")
    kept = result.removesuffix("…").lstrip("ж")
    assert kept == whole * (len(kept) // len(whole))


def test_fit_prefers_cutting_at_a_space() -> None:
    text = "a" * 145 + " " + "b" * 40
    assert fit(text) == "a" * 145 + "..."


def test_fit_cuts_mid_word_when_no_space_is_near() -> None:
    text = "a" * 100 + " " + "b" * 100
    assert fit(text) == "a" * 100 + " " + "b" * 56 + "..."


def test_fit_rejects_zero_segments() -> None:
    with pytest.raises(ValueError, match="max_segments"):
        fit("text", 0)


@pytest.mark.parametrize(
    ("channel", "sender", "text", "expected"),
    [
        ("#chan", "bob", "al: hi", "[#chan] <bob> al: hi"),
        ("", "bob", "al: hi", "<bob> al: hi"),
        (
            "#chan",
            "bob",
            "\x02al\x02: \x0304hi\x03  there\r\nyou",
            "[#chan] <bob> al: hi there you",
        ),
        ("#chan", "bob", "  lots   of\tspace  ", "[#chan] <bob> lots of space"),
        ("#chan", "bob", "", "[#chan] <bob>"),
        ("#chan", "bob", "\x02\x02", "[#chan] <bob>"),
    ],
)
def test_format_highlight_builds_line(channel: str, sender: str, text: str, expected: str) -> None:
    assert format_highlight(channel, sender, text) == expected


@pytest.mark.parametrize(
    ("channel", "body", "max_segments", "ellipsis"),
    [
        ("#chan", "a" * 300, 1, "..."),
        ("#chan", "word " * 100, 1, "..."),
        ("#chan", "word " * 100, 3, "..."),
        ("#chan", "ж" * 300, 1, "…"),
        ("#chan", "ж" * 300, 2, "…"),
        ("", "a" * 300, 1, "..."),
    ],
)
def test_format_highlight_keeps_prefix_and_cuts_message(
    channel: str, body: str, max_segments: int, ellipsis: str
) -> None:
    result = format_highlight(channel, "bob", body, max_segments)
    prefix = f"[{channel}] <bob> " if channel else "<bob> "
    assert result.startswith(prefix)
    assert segments(result) <= max_segments
    assert result.endswith(ellipsis)
    assert body.startswith(result.removeprefix(prefix).removesuffix(ellipsis))


def test_format_highlight_cuts_the_channel_when_the_prefix_alone_is_too_long() -> None:
    channel = "#" + "ж" * 100
    result = format_highlight(channel, "bob", "hello")
    assert segments(result) <= 1
    assert result.startswith("[#ж")
    assert result.endswith("] <bob> …")


def test_format_highlight_cuts_everything_when_the_sender_alone_is_too_long() -> None:
    result = format_highlight("", "b" * 300, "hello")
    assert segments(result) <= 1
    assert result.startswith("<bbb")
    assert result.endswith("...")


def test_gsm_tables_hold_the_whole_default_alphabet() -> None:
    assert len(GSM7_BASIC) == 127  # 128 codes minus ESC
    assert units("".join(GSM7_BASIC)) == 127
    assert len(GSM7_EXTENSION) == 10
    assert units("".join(GSM7_EXTENSION)) == 20


@pytest.mark.parametrize("max_segments", [1, 2, 3, 4])
@pytest.mark.parametrize(
    "text",
    [
        "lorem ipsum dolor sit amet " * 40,
        "[x] " * 300,
        "ж€ " * 300,
        ("hi " + EMOJI + FLAG + THUMB_TONE) * 100,
        "é" * 1000,
    ],
    ids=["gsm-words", "gsm-extension", "ucs2-words", "emoji", "gsm-accents"],
)
def test_fit_result_always_fits_and_is_a_prefix(text: str, max_segments: int) -> None:
    result = fit(text, max_segments)
    assert segments(result) <= max_segments
    ellipsis = "…" if encoding(result) == "UCS-2" else "..."
    assert result.endswith(ellipsis)
    assert text.startswith(result.removesuffix(ellipsis))
    # Little is wasted: the space-preferring cut gives up at most ~15 characters.
    single, per_part = (160, 153) if encoding(result) == "GSM-7" else (70, 67)
    capacity = single if max_segments == 1 else per_part * max_segments
    assert units(result) >= capacity - 20
