"""Verification codes: which numbers may get one, the limits, and how the store counts them."""

from __future__ import annotations

from typing import Any

import pytest

from highlightd.config import Settings
from highlightd.core.codes import CodeCounts, CodeLimits, Requester, over_limit
from highlightd.core.phones import code_refusal
from highlightd.core.records import Pending
from highlightd.store import Store

US = frozenset({"US"})
ANY: frozenset[str] = frozenset()
ALICE = "+12015550001"
TWILIO = {"account_sid": "AC" + "0" * 32, "auth_token": "x", "from_number": "+15005550006"}


@pytest.mark.parametrize(
    ("phone", "regions", "says"),
    [
        ("+12015550001", US, None),  # US fixed line or mobile
        ("+4915112345678", ANY, None),  # German mobile, any country allowed
        ("+4930123456", ANY, None),  # German landline
        ("+4915112345678", US, "+49•••••5678 is a number in DE; codes go only to numbers in US"),
        (
            "+33612345678",
            frozenset({"DE", "US"}),
            "number in FR; codes go only to numbers in DE, US",
        ),
        ("+449071234567", ANY, "+44•••••4567 is a premium-rate number"),
        ("+19005550100", US, "is a premium-rate number"),
        ("+18005550100", US, "is a toll-free number"),
        ("+88216123456", ANY, "is a VoIP or international-network number"),
        ("+882123456789", ANY, "is not a number I know as mobile or landline"),
        ("+15551230001", US, "+1•••••0001 is not a number I know as mobile or landline"),
        ("+15005550006", US, "is a personal (forwarding) number"),
    ],
)
def test_where_codes_may_go(phone: str, regions: frozenset[str], says: str | None) -> None:
    refusal = code_refusal(phone, regions)
    if says is None:
        assert refusal is None
    else:
        assert refusal is not None and says in refusal


@pytest.mark.parametrize(
    ("settings", "regions"),
    [
        pytest.param({}, ANY, id="console-no-region-anywhere"),
        pytest.param({"defaults": {"region": "de"}}, {"DE"}, id="the-region"),
        pytest.param({"twilio": TWILIO, "sms": {"backend": "twilio"}}, {"US"}, id="from-number"),
        pytest.param(
            {"defaults": {"region": "DE"}, "twilio": TWILIO}, {"DE"}, id="region-before-number"
        ),
        pytest.param(
            {"twilio": {**TWILIO, "from_number": "+14165550100"}}, {"CA"}, id="canadian-number"
        ),
        pytest.param(
            {"sms": {"allowed_countries": ["us", "CA"]}, "defaults": {"region": "DE"}},
            {"US", "CA"},
            id="the-list",
        ),
        pytest.param({"sms": {"allowed_countries": []}, "twilio": TWILIO}, ANY, id="empty-any"),
    ],
)
def test_allowed_countries_default(settings: dict[str, Any], regions: set[str]) -> None:
    assert Settings(**settings).code_regions() == regions


WHO = Requester("mallory", "mallory", "evil.example")
LIMITS = CodeLimits()


@pytest.mark.parametrize(
    ("counts", "who", "says"),
    [
        (CodeCounts(), WHO, None),
        (CodeCounts(total=49, phone=9, phone_requester=2, nick=2, account=2, host=9), WHO, None),
        (CodeCounts(phone_requester=3), WHO, "+1•••••0001 had 3 codes today; try tomorrow"),
        (CodeCounts(nick=3), WHO, "mallory asked for 3 codes today; try tomorrow"),
        (CodeCounts(account=3), WHO, "account mallory asked for 3 codes today"),
        (CodeCounts(account=3), Requester("m", None, None), None),  # no account known
        (CodeCounts(host=10), WHO, "your host asked for 10 codes today"),
        (CodeCounts(host=10), Requester("m", None, None), None),
        (CodeCounts(phone=10), WHO, "had 10 codes today, asked by several people"),
        (CodeCounts(total=50), WHO, "the daily limit for everyone is reached"),
    ],
)
def test_code_limits(counts: CodeCounts, who: Requester, says: str | None) -> None:
    answer = over_limit(counts, LIMITS, "+1•••••0001", who)
    if says is None:
        assert answer is None
    else:
        assert answer is not None and says in answer


def test_no_codes_at_all_when_the_daily_total_is_zero() -> None:
    answer = over_limit(CodeCounts(), CodeLimits(total=0), "+1•••••0001", WHO)
    assert answer == "REGISTER is turned off here; ask the operator"


async def _code(
    store: Store, nick: str, phone: str, at: float, account: str | None, host: str | None
) -> int:
    pending = Pending("libera", nick, phone, "hash", None, at + 600, 0)
    return await store.registrations.put_pending(
        pending, nick.lower(), at, account=account, host=host
    )


async def test_codes_are_counted_per_requester_and_phone(store: Store) -> None:
    # Three strangers from one host ask for alice's phone; one of them for bob's too.
    await _code(store, "eve", ALICE, 100.0, None, "evil.example")
    await _code(store, "eve2", ALICE, 110.0, None, "evil.example")
    await _code(store, "trent", ALICE, 120.0, "trent", "other.example")
    await _code(store, "eve", "+12015550002", 130.0, None, "evil.example")
    await _code(store, "old", ALICE, 1.0, None, "evil.example")  # too long ago
    registrations = store.registrations
    eve = await registrations.code_counts(50.0, ALICE, "libera", "eve", None, "evil.example")
    assert eve == CodeCounts(total=4, phone=3, phone_requester=2, nick=2, account=0, host=3)
    alice = await registrations.code_counts(50.0, ALICE, "libera", "alice", "alice", "home.net")
    assert alice == CodeCounts(total=4, phone=3, phone_requester=0, nick=0, account=0, host=0)
    trent = await registrations.code_counts(50.0, ALICE, "libera", "t2", "trent", None)
    assert trent == CodeCounts(total=4, phone=3, phone_requester=1, nick=0, account=1, host=0)
    elsewhere = await registrations.code_counts(50.0, ALICE, "oftc", "eve", None, "evil.example")
    assert elsewhere.phone_requester == 0 and elsewhere.phone == 3


async def test_codes_do_not_spend_the_highlight_budget(store: Store) -> None:
    user = await store.users.add("libera", "alice", "alice", ALICE)
    await store.sent.record("SM" + "1" * 32, user.id, ALICE, "sent", 2, at=100.0)
    code_id = await _code(store, "bob", ALICE, 110.0, None, None)
    await store.registrations.code_sent(code_id, "SM" + "2" * 32)
    await store.sent.record("SM" + "2" * 32, None, ALICE, "sent", 1, at=110.0)
    await store.sent.record("SM" + "3" * 32, None, ALICE, "sent", 1, at=120.0)  # a bounce
    assert await store.sent.segments_since(0.0) == 3  # the code is not in it
    assert await store.sent.segments_since(0.0, user.id) == 2
