"""The index of registered users: nicks, followed nicks, keywords minus exceptions."""

from __future__ import annotations

import pytest

from highlightd.core.index import NetworkIndex, UserIndex
from highlightd.core.records import Keyword, User

ALICE = User(1, "libera", "alice", "+15551230001", 0.0)
BOB = User(2, "libera", "bob", "+15551230002", 0.0)
CAROL = User(3, "oftc", "carol", "+15551230003", 0.0)
KEYWORDS = [
    Keyword(1, "deploy", False),
    Keyword(2, "build", False),
    Keyword(2, "nightly", True),  # bob: "build", but never in a line saying "nightly"
    Keyword(3, "oftcword", False),
]


def libera(*renames: tuple[str, str]) -> NetworkIndex:
    index = UserIndex.build([ALICE, BOB, CAROL], KEYWORDS).network("libera", "rfc1459")
    for old, new in renames:
        index.renamed(old, new)
    return index


@pytest.mark.parametrize(
    ("renames", "text", "expected"),
    [
        ((), "alice: lunch?", {"alice"}),
        ((), "ALICE and Bob", {"alice", "bob"}),
        ((), "malice also [alice] alice_", set()),
        ((), "deploy finished", {"alice"}),
        ((), "Deploy, finished", {"alice"}),
        ((), "the build is green", {"bob"}),
        ((), "the nightly build is red", set()),
        ((), "bob: the nightly build is red", {"bob"}),  # the exception is for keywords only
        ((), "nightly deploy", {"alice"}),  # bob's exception is not alice's
        ((), "oftcword", set()),  # carol's keyword, on another network
        ((("alice", "alice_lunch"),), "alice_lunch: back?", {"alice"}),
        ((("alice", "alice_lunch"),), "alice: back?", {"alice"}),
        ((("alice", "alice_lunch"), ("alice_lunch", "alice")), "alice_lunch: back?", set()),
        ((("alice", "al2"), ("al2", "al3")), "al2 al3", {"alice"}),
        ((("dave", "dave_"),), "dave_: hi", set()),  # not registered: not followed
    ],
)
def test_match_and_why_agree(
    renames: tuple[tuple[str, str], ...], text: str, expected: set[str]
) -> None:
    index = libera(*renames)
    assert {u.nick for u in index.match(text)} == expected
    for user in (ALICE, BOB):
        assert index.why(text, user).highlights == (user.nick in expected)


def test_why_names_the_words_as_written() -> None:
    index = libera(("alice", "Alice_Away"))
    why = index.why("ALICE_away, deploy the nightly", ALICE)
    assert (why.nicks, why.followed, why.keywords, why.exceptions) == (
        (),
        ("ALICE_away",),
        ("deploy",),
        (),
    )
    assert index.why("nightly build", BOB).exceptions == ("nightly",)


def test_owner_and_current_nick_follow_renames_and_quits() -> None:
    index = libera(("alice", "alice_lunch"))
    assert index.owner("Alice_Lunch") == ALICE.id
    assert index.owner("alice") == ALICE.id  # the registered nick stays hers
    assert index.owner("carol") is None  # registered on oftc, not here
    assert index.current_nick(ALICE) == "alice_lunch"
    index.left("ALICE_LUNCH")
    assert index.current_nick(ALICE) == "alice"
    assert index.match("alice_lunch") == []


def test_casemapping_change_refolds_followed_nicks() -> None:
    users = UserIndex.build([ALICE], [])
    index = users.network("libera", "rfc1459")
    index.renamed("alice", "[al]")
    assert index.owner("{al}") == ALICE.id  # rfc1459: [ and { are one letter
    index = users.network("libera", "ascii")
    assert index.owner("{al}") is None
    assert index.owner("[al]") == ALICE.id
    assert [u.nick for u in index.match("[al]: hi")] == ["alice"]


def test_rebuild_keeps_casemapping_and_follows_of_users_still_registered() -> None:
    old = UserIndex.build([ALICE, BOB], [])
    net = old.network("libera", "ascii")
    net.renamed("alice", "alice_lunch")
    net.renamed("bob", "bob_away")
    new = UserIndex.build([ALICE], [])  # bob unregistered meanwhile
    new.carry_over(old)
    index = new.network("libera", "ascii")
    assert index.casemapping == "ascii"
    assert index.follows() == {"alice_lunch": ALICE.id}
    assert [u.nick for u in index.match("alice_lunch bob_away")] == ["alice"]


MALLORY = User(4, "libera", "mallory", "+15551230004", 0.0)
ALICE_BOUND = User(1, "libera", "alice", "+15551230001", 0.0, account="alice")
MALLORY_BOUND = User(4, "libera", "mallory", "+15551230004", 0.0, account="mallory")


def network_of(*users: User) -> NetworkIndex:
    return UserIndex.build(users, []).network("libera", "rfc1459")


def test_a_rename_into_anothers_registered_nick_ends_the_follow() -> None:
    index = network_of(ALICE, MALLORY)
    index.renamed("mallory", "alice")
    assert index.owner("alice") is None and index.held_by_other("alice")
    assert not index.is_user(ALICE, "alice", None)
    assert not index.is_user(MALLORY, "alice", None)
    assert index.match("alice: the door code") == [ALICE]
    index.renamed("alice", "mal_decoy")
    assert index.match("mal_decoy: psst") == []
    assert index.owner("alice") == ALICE.id  # whoever comes next is trusted by nick again


def test_the_holder_of_a_nick_taken_from_a_registration_is_forgotten_when_it_quits() -> None:
    index = network_of(ALICE, MALLORY)
    index.renamed("mallory", "alice")
    index.left("alice")
    assert index.is_user(ALICE, "alice", None)


def test_a_rename_under_another_account_is_not_followed() -> None:
    index = network_of(ALICE_BOUND, MALLORY_BOUND)
    # mallory, logged in as mallory, holds nick alice (no rename seen) and leaves it.
    index.renamed("alice", "mal_decoy", "mallory")
    assert index.match("mal_decoy: psst") == []
    index.renamed("alice", "alice_lunch", "alice")
    assert index.match("alice_lunch: lunch?") == [ALICE_BOUND]
    assert index.is_user(ALICE_BOUND, "alice_lunch", "alice")
    assert not index.is_user(ALICE_BOUND, "alice", "mallory")  # presence: the account decides


def test_carry_over_keeps_who_holds_a_taken_nick() -> None:
    old = UserIndex.build([ALICE, MALLORY], [])
    old.network("libera", "rfc1459").renamed("mallory", "alice")
    fresh = UserIndex.build([ALICE, MALLORY], [])
    fresh.carry_over(old)
    assert fresh.network("libera", "rfc1459").held_by_other("alice")


def test_the_index_from_the_stores_rows_is_the_one_from_records() -> None:
    def row(u: User) -> tuple[object, ...]:
        return (u.id, u.nick, u.phone, u.created_at, None, None, None, 0, None, None)

    rows = {
        "libera": ([row(ALICE), row(BOB)], [(1, "deploy"), (2, "build")], [(2, "nightly")]),
        "oftc": ([row(CAROL)], [(3, "oftcword")], []),
    }
    built = UserIndex.from_rows(rows, [(1, "#quiet")])
    assert len(built) == 3
    assert built.user(3) == CAROL
    net = built.network("libera", "rfc1459")
    for text in ["alice: lunch?", "the nightly build", "the build", "deploy", "oftcword"]:
        assert net.match(text) == libera().match(text), text
    assert net.muted(1) == frozenset({"#quiet"})
    assert net.registered("ALICE") == ALICE


@pytest.mark.parametrize("casemapping", ["rfc1459", "ascii"])
def test_a_registered_nick_is_found_by_its_stored_identity(casemapping: str) -> None:
    brackets = User(4, "libera", "[al]", "+15551230004", 0.0)
    net = UserIndex.build([ALICE, brackets], []).network("libera", casemapping)
    assert net.registered("ALICE") == ALICE
    assert net.registered("{AL}") == brackets  # nick_key folds as rfc1459, always
    assert net.owner("[AL]") == 4
    later = User(5, "libera", "dan", "+15551230005", 0.0)
    net.add_user(later)  # after the lookups above
    assert net.registered("Dan") == later
    assert net.registered("bob") is None


def test_users_and_keywords_added_after_a_line_match_the_next() -> None:
    net = libera()
    assert net.match("dan: zorb?") == []  # the first line: what a line is looked up in
    dan = User(5, "libera", "Dan", "+15551230005", 0.0)
    net.add_user(dan)
    net.add_keyword(Keyword(1, "Zorb", False))
    assert net.match("DAN: hi") == [dan]
    assert net.match("zorb!") == [ALICE]
    net.set_casemapping("ascii")
    assert net.match("dan zorb") == [ALICE, dan]


def test_an_index_read_again_is_folded_as_the_server_said() -> None:
    row = (4, "[al]", "+15551230004", 0.0, None, None, None, 0, None, None)
    none: list[tuple[int, str]] = []
    rows = {"libera": ([row], [(4, "Zorb[1]")], none)}
    built = UserIndex.from_rows(rows, casemappings={"libera": "ascii"})
    assert built.casemappings() == {"libera": "ascii"}
    net = built.network("libera", "ascii")
    assert [u.id for u in net.match("[AL] zorb[1]")] == [4]
    assert net.match("{al} zorb{1}") == []  # ascii: brackets are not braces
    assert net.registered("{AL}") is not None  # the stored identity folds as rfc1459


def test_no_users_under_another_casemapping() -> None:
    net = UserIndex.build([], []).network("libera", "ascii")
    assert net.owner("alice") is None
    assert net.registered("alice") is None


def test_a_patch_reads_users_again_as_they_are_now() -> None:
    index = UserIndex.build([ALICE, BOB, CAROL], KEYWORDS)
    net = index.network("libera", "rfc1459")
    net.renamed("alice", "alice_away")
    net.renamed("bob", "bob_away")

    def row(u: User, opted_out: int = 0) -> tuple[object, ...]:
        return (u.network, u.id, u.nick, u.phone, u.created_at, None, None, None, opted_out)

    # alice opted out and changed keywords; bob unregistered; dan new (on libera)
    dan = User(5, "libera", "dan", "+15551230005", 0.0)
    index.patch(
        [1, 2, 5],
        [(*row(ALICE, 1), None, None), (*row(dan), None, None)],
        [(1, "ship", 0), (5, "deploy", 0)],
        [(1, "#quiet")],
    )
    alice = index.user(1)
    assert alice is not None and alice.opted_out
    assert index.user(2) is None
    assert [u.id for u in net.match("deploy")] == [5]  # alice's old keyword is gone
    assert [u.id for u in net.match("ship it")] == [1]
    assert net.match("bob: build") == []
    assert net.muted(1) == frozenset({"#quiet"})
    assert net.follows() == {"alice_away": 1}  # bob's is gone with him
    assert [u.id for u in net.match("alice_away: hi")] == [1]
    assert [u.id for u in index.network("oftc", "rfc1459").match("oftcword")] == [3]
