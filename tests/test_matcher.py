from __future__ import annotations

import random

import pytest

from highlightd.core.matcher import Matcher, fold_words, irc_lower, words


@pytest.mark.parametrize(
    ("text", "casemapping", "expected"),
    [
        ("ALICE", "ascii", "alice"),
        ("[]\\~", "ascii", "[]\\~"),
        ("[]\\~", "rfc1459", "{}|^"),
        ("[]\\~", "strict-rfc1459", "{}|~"),
        ("Al[X]", "rfc1459", "al{x}"),
        ("ÉLÈVE", "rfc1459", "ÉlÈve"),  # IRC folds ASCII only
        ("[AL]~", "rfc7613", "{al}^"),  # unknown mapping acts as rfc1459
    ],
)
def test_irc_lower_folds_per_casemapping(text: str, casemapping: str, expected: str) -> None:
    assert irc_lower(text, casemapping) == expected


def test_irc_lower_defaults_to_rfc1459() -> None:
    assert irc_lower("[AL]~") == "{al}^"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        ("   ", []),
        ("hello world", ["hello", "world"]),
        ("al, hi", ["al", "hi"]),
        ("<al> hi", ["al", "hi"]),
        ("al's", ["al", "s"]),
        (
            "[al] {bo} a|b a^b a`b a-b a_b a\\b",
            ["[al]", "{bo}", "a|b", "a^b", "a`b", "a-b", "a_b", "a\\b"],
        ),
        ("~al", ["al"]),  # ~ is not a nick character
        ("¡al!", ["al"]),
        ("alé éal", ["alé", "éal"]),
        ("ale\u0301", ["ale\u0301"]),  # decomposed accent stays in its word
        ("al\u0301", ["al\u0301"]),
        ("日本語 テスト", ["日本語", "テスト"]),
        ("a\x02b\x1fc", ["a", "b", "c"]),  # formatting codes separate words
        ("x—y", ["x", "y"]),  # em dash is punctuation
        ("10.5%", ["10", "5"]),
    ],
)
def test_words_finds_maximal_runs_of_word_characters(text: str, expected: list[str]) -> None:
    assert words(text) == expected


def test_words_treats_exactly_the_alnum_non_ascii_characters_as_word_characters() -> None:
    combining = {
        c
        for lo, hi in ((0x300, 0x36F), (0x1AB0, 0x1AFF), (0x1DC0, 0x1DFF), (0x20D0, 0x20FF))
        for c in map(chr, range(lo, hi + 1))
    } | set(map(chr, range(0xFE20, 0xFE30)))
    chars = [chr(c) for c in range(0x80, 0x30000) if not 0xD800 <= c <= 0xDFFF]
    expected = [c for c in chars if c.isalnum() or c in combining]
    assert words(" ".join(chars)) == expected


AL_MATCHES = ["al", "al,", "al:", "@al", "<al>", "al's", "hi al", "AL", "(al)", "¡al!", "Al."]
AL_NON_MATCHES = ["also", "al_", "[al]", "al-", "_al", "al2", "alé", "éal", "pal", "a l", ""]


@pytest.mark.parametrize("text", AL_MATCHES)
def test_match_finds_nick_as_whole_word(text: str) -> None:
    matcher: Matcher[str] = Matcher()
    matcher.add("al", "owner")
    assert matcher.match(text) == {"owner"}


@pytest.mark.parametrize("text", AL_NON_MATCHES)
def test_match_ignores_nick_inside_a_longer_word(text: str) -> None:
    matcher: Matcher[str] = Matcher()
    matcher.add("al", "owner")
    assert matcher.match(text) == set()


@pytest.mark.parametrize(
    "text",
    ["al", "al: hi", "hi al", "hi al!", "al al al", "al, al: al"],
    ids=["alone", "start", "end", "end-punct", "repeated", "repeated-punct"],
)
def test_match_finds_nick_at_any_position(text: str) -> None:
    matcher: Matcher[int] = Matcher()
    matcher.add("al", 1)
    assert matcher.match(text) == {1}


@pytest.mark.parametrize(
    ("casemapping", "nick", "text", "matches"),
    [
        ("rfc1459", "[al]", "[al]", True),
        ("rfc1459", "[al]", "{AL}", True),
        ("rfc1459", "{al}", "[AL]", True),
        ("strict-rfc1459", "[al]", "{AL}", True),
        ("ascii", "[al]", "[AL]", True),
        ("ascii", "[al]", "{al}", False),
        ("rfc1459", "a^b", "a^b", True),
        ("rfc1459", "a|b", "A\\B", True),
        ("strict-rfc1459", "a|b", "A\\B", True),
        ("ascii", "a|b", "a\\b", False),
        ("rfc1459", "al", "~al", True),  # ~ separates words, it does not fold into one
        ("rfc1459", "bob", "BOB", True),
        ("ascii", "bob", "BOB", True),
        ("rfc1459", "al", "ÀL", False),
    ],
)
def test_match_folds_case_with_casemapping(
    casemapping: str, nick: str, text: str, matches: bool
) -> None:
    matcher: Matcher[str] = Matcher(casemapping)
    matcher.add(nick, "owner")
    assert matcher.match(text) == ({"owner"} if matches else set())


def test_match_returns_every_owner_of_a_word_and_of_each_word() -> None:
    matcher: Matcher[str] = Matcher()
    matcher.add("al", "alice")
    matcher.add("AL", "albert")
    matcher.add("bob", "bob")
    matcher.add("carol", "carol")
    assert matcher.match("al and Bob") == {"alice", "albert", "bob"}


def test_add_is_idempotent_across_case() -> None:
    matcher: Matcher[str] = Matcher()
    matcher.add("al", "x")
    matcher.add("AL", "x")
    matcher.add("bob", "x")
    matcher.add("al", "y")
    assert len(matcher) == 3


def test_remove_drops_only_that_pair() -> None:
    matcher: Matcher[str] = Matcher()
    matcher.add("al", "alice")
    matcher.add("al", "albert")
    matcher.remove("AL", "alice")
    assert matcher.match("al") == {"albert"}
    assert len(matcher) == 1


@pytest.mark.parametrize(
    ("word", "owner"),
    [("nobody", "alice"), ("al", "nobody"), ("", "alice"), ("c++", "alice")],
)
def test_remove_of_absent_pair_is_a_no_op(word: str, owner: str) -> None:
    matcher: Matcher[str] = Matcher()
    matcher.add("al", "alice")
    matcher.remove(word, owner)
    assert len(matcher) == 1
    assert matcher.match("al") == {"alice"}


def test_remove_last_owner_forgets_the_word() -> None:
    matcher: Matcher[str] = Matcher()
    matcher.add("al", "alice")
    matcher.remove("al", "alice")
    assert len(matcher) == 0
    assert matcher.match("al") == set()


@pytest.mark.parametrize(
    ("start", "switch_to", "text", "expected"),
    [
        ("ascii", "rfc1459", "{AL}", {"owner"}),
        ("rfc1459", "ascii", "{AL}", set()),
        ("rfc1459", "ascii", "[AL]", {"owner"}),
        ("strict-rfc1459", "ascii", "{AL}", set()),
        ("ascii", "strict-rfc1459", "{AL}", {"owner"}),
    ],
)
def test_set_casemapping_refolds_stored_words(
    start: str, switch_to: str, text: str, expected: set[str]
) -> None:
    matcher: Matcher[str] = Matcher(start)
    matcher.add("[al]", "owner")
    matcher.set_casemapping(switch_to)
    assert matcher.match(text) == expected


def test_set_casemapping_separates_spellings_merged_before() -> None:
    matcher: Matcher[str] = Matcher("rfc1459")
    matcher.add("[al]", "owner")
    matcher.add("{al}", "owner")
    assert len(matcher) == 1
    matcher.set_casemapping("ascii")
    assert len(matcher) == 2
    assert matcher.match("[al]") == {"owner"}
    assert matcher.match("{al}") == {"owner"}


def test_set_casemapping_merges_spellings_that_now_fold_together() -> None:
    matcher: Matcher[str] = Matcher("ascii")
    matcher.add("[al]", "owner")
    matcher.add("{al}", "owner")
    assert len(matcher) == 2
    matcher.set_casemapping("rfc1459")
    assert len(matcher) == 1
    matcher.remove("{AL}", "owner")
    assert matcher.match("[al] {al}") == set()


@pytest.mark.parametrize("word", ["", "c++", "foo bar", "al,", "~al", "al\n", "#chan"])
def test_add_rejects_anything_but_one_irc_word(word: str) -> None:
    matcher: Matcher[str] = Matcher()
    with pytest.raises(ValueError, match="is not one IRC word"):
        matcher.add(word, "owner")
    assert len(matcher) == 0


@pytest.mark.parametrize("word", ["al", "[al]", "a`b", "élève", "日本", "x-1", "A|B^"])
def test_add_accepts_one_irc_word(word: str) -> None:
    matcher: Matcher[str] = Matcher()
    matcher.add(word, "owner")
    assert matcher.match(f"hey {word}: hi") == {"owner"}


ADDED = [
    ("alice", 1),
    ("Bob", 2),
    ("[al]", 3),
    ("{AL}", 3),  # the same word as "[al]" under rfc1459, another spelling
    ("deploy", 1),
    ("deploy", 2),  # one word, two owners
    ("DEPLOY", 2),  # again, in another case
]


@pytest.mark.parametrize("casemapping", ["rfc1459", "ascii"])
@pytest.mark.parametrize("added", [ADDED, ADDED[:3]])  # all, and distinct words
def test_add_all_is_add_one_at_a_time(casemapping: str, added: list[tuple[str, int]]) -> None:
    one: Matcher[int] = Matcher(casemapping)
    for word, owner in added:
        one.add(word, owner)
    bulk: Matcher[int] = Matcher(casemapping)
    bulk.add_all([w for w, _ in added], [o for _, o in added])
    assert len(bulk) == len(one)
    for text in ["alice", "BOB", "[al]", "{al}", "deploy", "Deploy now", "nobody"]:
        assert bulk.match(text) == one.match(text), text
    for m in (one, bulk):
        m.set_casemapping("strict-rfc1459" if casemapping == "ascii" else "ascii")
    for text in ["[al]", "{al}", "bob"]:
        assert bulk.match(text) == one.match(text), text


def test_add_all_rejects_what_add_rejects() -> None:
    matcher: Matcher[int] = Matcher()
    with pytest.raises(ValueError, match="is not one IRC word"):
        matcher.add_all(["alice", "foo bar"], [1, 2])


def test_remove_leaves_the_other_owner_of_a_shared_word() -> None:
    matcher: Matcher[int] = Matcher()
    matcher.add_all(["deploy", "Deploy", "ship"], [1, 2, 1])
    matcher.remove("DEPLOY", 1)
    assert matcher.match("deploy") == {2}
    assert matcher.found("Deploy it", 2) == ["Deploy"]
    assert matcher.found("Deploy it", 1) == []
    assert len(matcher) == 2


@pytest.mark.parametrize("casemapping", ["ascii", "rfc1459", "strict-rfc1459", "rfc7613"])
def test_the_ascii_shortcut_tokenizes_and_folds_as_the_pattern_does(casemapping: str) -> None:
    # An ASCII line is split by one translate; any other by the word pattern, then
    # folded. Both must give the same words: every ASCII character, in random lines.
    rng = random.Random(casemapping)
    alphabet = [chr(c) for c in range(128)] + ["al", "[Al]", "~al", "AL-x", "a_b"]
    for _ in range(2_000):
        text = "".join(rng.choices(alphabet, k=rng.randint(0, 40)))
        assert text.isascii()
        expected = [irc_lower(w, casemapping) for w in words(text)]
        assert fold_words(text, casemapping) == expected, text
        # A non-ASCII letter takes the other path; the ASCII words come out the same.
        assert fold_words(text + " é", casemapping) == [*expected, "é"], text
