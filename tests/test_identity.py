"""Identity rules: nick, and the services account where the network reports one."""

from __future__ import annotations

import pytest

from highlightd.core.identity import (
    account_to_bind,
    consent_by_account,
    is_registration,
    may_follow,
    refusal,
)


@pytest.mark.parametrize(
    ("registering", "bound_to", "current", "require", "refused_with"),
    [
        # Networks that do not report accounts: the nick alone decides.
        (True, None, None, False, None),
        (False, None, None, False, None),
        (True, None, None, True, "does not tell me yours"),
        # REGISTER with require_account.
        (True, None, "", True, "logged in to services"),
        (True, None, "alice", True, None),
        (True, None, "", False, None),
        # A registration bound to an account.
        (False, "alice", "alice", False, None),
        (False, "alice", "ALICE", False, None),  # accounts compare folded
        (False, "alice", "", False, "log in to it first"),
        (False, "alice", "mallory", False, "not mallory"),
        (False, "alice", None, False, "cannot see accounts now"),
        # Re-registering a bound nick is a command on that registration too.
        (True, "alice", "mallory", False, "not mallory"),
        (True, "alice", "alice", True, None),
        # Unbound registrations stay usable by the nick, logged in or not.
        (False, None, "", False, None),
        (False, None, "someone", False, None),
    ],
)
def test_refusal(
    registering: bool,
    bound_to: str | None,
    current: str | None,
    require: bool,
    refused_with: str | None,
) -> None:
    reason = refusal(
        registering=registering, bound_to=bound_to, current=current, require_account=require
    )
    if refused_with is None:
        assert reason is None
    else:
        assert reason is not None and refused_with in reason


@pytest.mark.parametrize(("current", "bound"), [(None, None), ("", None), ("alice", "alice")])
def test_account_to_bind(current: str | None, bound: str | None) -> None:
    assert account_to_bind(current) == bound


@pytest.mark.parametrize(
    ("bound_to", "account", "by_nick", "expected"),
    [
        # No accounts reported, or an unbound registration: the nick rules decide.
        (None, None, True, True),
        (None, None, False, False),
        (None, "mallory", True, True),
        ("alice", None, True, True),
        # Bound, and the network says: the account decides, whatever the nick.
        ("alice", "alice", False, True),
        ("alice", "ALICE", True, True),
        ("alice", "mallory", True, False),
        ("alice", "", True, False),
    ],
)
def test_is_registration(
    bound_to: str | None, account: str | None, by_nick: bool, expected: bool
) -> None:
    assert is_registration(bound_to, account, by_nick=by_nick) is expected


@pytest.mark.parametrize(
    ("bound_to", "account", "was", "taken", "expected"),
    [
        (None, None, True, False, True),
        (None, None, False, False, False),  # was not the registration under the old nick
        (None, None, True, True, False),  # into another user's registered nick or alias
        ("alice", "alice", True, False, True),
        ("alice", "mallory", True, False, False),  # case 2: mallory renames out of alice
        ("alice", "", True, False, False),
    ],
)
def test_may_follow(
    bound_to: str | None, account: str | None, was: bool, taken: bool, expected: bool
) -> None:
    got = may_follow(bound_to, account, was_registration=was, new_taken=taken)
    assert got is expected


@pytest.mark.parametrize(
    ("bound_to", "current", "expected"),
    [
        (None, "alice", False),
        ("alice", None, False),
        ("alice", "mallory", False),
        ("alice", "", False),
        ("alice", "Alice", True),
    ],
)
def test_consent_by_account(bound_to: str | None, current: str | None, expected: bool) -> None:
    assert consent_by_account(bound_to, current, str.lower) is expected
