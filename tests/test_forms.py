"""Twilio's webhook forms, taken strictly: parsing, the one-HMAC signature, and the shapes."""

from __future__ import annotations

import random
from collections.abc import Callable
from urllib.parse import parse_qsl, urlencode

import pytest
from twilio.request_validator import RequestValidator

from highlightd.web.forms import INCOMING, STATUS, FormError, check, parse_form, signature, signed

TOKEN = "test-auth-token-0123456789abcdef"
URL = "https://sms.example.org/twilio/sms"
ACCOUNT = "AC" + "0123456789abcdef" * 2
SID = "SM" + "5a" * 16

# What Twilio posts for an SMS, every field as it sends them.
GENUINE = {
    "ToCountry": "US",
    "ToState": "NJ",
    "SmsMessageSid": SID,
    "NumMedia": "0",
    "ToCity": "",
    "FromZip": "07001",
    "SmsSid": SID,
    "FromState": "NJ",
    "SmsStatus": "received",
    "FromCity": "AVENEL",
    "Body": "Yes. Do not deploy",
    "FromCountry": "US",
    "To": "+15005550006",
    "MessagingServiceSid": "MG" + "0f" * 16,
    "ToZip": "",
    "NumSegments": "1",
    "ReferralNumMedia": "0",
    "MessageSid": SID,
    "AccountSid": ACCOUNT,
    "From": "+12015550001",
    "ApiVersion": "2010-04-01",
}


def test_the_signature_is_twilios() -> None:
    expected = RequestValidator(TOKEN).compute_signature(URL, GENUINE)
    assert signature(TOKEN, URL, GENUINE) == expected
    assert signed(TOKEN, URL, GENUINE, expected)
    assert not signed(TOKEN, URL + "?x=1", GENUINE, expected)
    assert not signed(TOKEN, URL, GENUINE, "bm9wZQ==")
    assert not signed(TOKEN, URL, GENUINE, "não")  # not ASCII: no exception, just no


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        pytest.param(b"", {}, id="empty"),
        pytest.param(b"Body=a+b%21&From=%2B1", {"Body": "a b!", "From": "+1"}, id="escapes"),
        pytest.param(b"Body=", {"Body": ""}, id="blank-value"),
        pytest.param("Body=grüße".encode(), {"Body": "grüße"}, id="raw-utf8"),
        pytest.param(b"Body=gr%C3%BC%C3%9Fe", {"Body": "grüße"}, id="escaped-utf8"),
    ],
)
def test_forms_that_parse(body: bytes, expected: dict[str, str]) -> None:
    assert parse_form(body) == expected


def test_forms_parse_as_urllib_parses_them() -> None:
    # The fields are decoded in one call where that is safe: escaped separators, plus
    # signs, percent signs and UTF-8, in any field, must come out as urllib's parse.
    rng = random.Random(8)
    alphabet = [*"ab +%&=#é😀", "%26", "%3D", "%25", "%2B", "%41", "%2", "%%"]
    for _ in range(3_000):
        form = {
            f"K{n}{rng.choice(alphabet)}": "".join(rng.choices(alphabet, k=rng.randint(0, 8)))
            for n in range(rng.randint(1, 20))
        }
        body = urlencode(form).encode()
        assert parse_form(body) == dict(parse_qsl(body.decode(), keep_blank_values=True)), form
    raw = b"A=%2&B=6x&C=%2B%2&D=%"  # broken escapes stay as they are, as in urllib
    assert parse_form(raw) == dict(parse_qsl(raw.decode(), keep_blank_values=True))


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        pytest.param(b"Body=%ff", "undecodable", id="escaped-invalid-utf8"),
        pytest.param(b"Body=\xff\xfe", "undecodable", id="raw-invalid-utf8"),
        pytest.param(b"Body=a&Body=b", "bad_form", id="key-twice"),
        pytest.param(b"Body", "bad_form", id="no-equals"),
        pytest.param(b"&".join(b"K%d=v" % n for n in range(65)), "bad_form", id="too-many"),
    ],
)
def test_forms_that_do_not_parse(body: bytes, reason: str) -> None:
    with pytest.raises(FormError) as caught:
        parse_form(body)
    assert caught.value.reason == reason


def test_a_genuine_form_passes() -> None:
    check(GENUINE, INCOMING, ACCOUNT)
    check(GENUINE, INCOMING, ACCOUNT.upper())  # the hex digits in another case
    mms = {**GENUINE, "NumMedia": "1", "MediaUrl0": "https://api.twilio.com/m/1"}
    check({**mms, "MediaContentType0": "image/jpeg"}, INCOMING, ACCOUNT)
    check({"MessageSid": SID, "From": "+12015550001", "Body": ""}, INCOMING, ACCOUNT)


def _recut_body() -> tuple[dict[str, str], dict[str, str]]:
    """Body=Yes. Do not deploy, cut into Body=Yes. and a key of its own."""
    form = {k: v for k, v in GENUINE.items() if k != "Body"}
    return GENUINE, {**form, "Body": "Yes. ", "Do not deploy": ""}


def _recut_sid() -> tuple[dict[str, str], dict[str, str]]:
    """MessageSid swallows NumMedia0, the field after it in the signed string (a new SID
    would pass deduplication)."""
    original = {k: v for k, v in GENUINE.items() if k != "MessagingServiceSid"}
    recut = {k: v for k, v in original.items() if k != "NumMedia"}
    return original, {**recut, "MessageSid": SID + "NumMedia0"}


@pytest.mark.parametrize("recut", [_recut_body, _recut_sid], ids=["body", "message-sid"])
def test_a_recut_form_keeps_its_signature_and_is_refused(
    recut: Callable[[], tuple[dict[str, str], dict[str, str]]],
) -> None:
    original, form = recut()
    check(original, INCOMING, ACCOUNT)
    # The attack: Twilio's scheme cannot tell the two apart.
    assert signature(TOKEN, URL, form) == signature(TOKEN, URL, original)
    with pytest.raises(FormError):
        check(form, INCOMING, ACCOUNT)


@pytest.mark.parametrize(
    ("change", "reason", "says"),
    [
        ({"Do not deploy": ""}, "unexpected_field", "'Do not deploy'"),
        ({"MediaUrl0": "https://x.example/1"}, "bad_field", "MediaUrl0 is past NumMedia"),
        ({"MediaUrlX": "https://x.example/1"}, "unexpected_field", "MediaUrlX"),
        ({"MessageSid": "SM1"}, "bad_field", "MessageSid"),
        ({"MessageSid": "XX" + "0" * 32}, "bad_field", "MessageSid"),
        ({"SmsSid": "SM" + "0" * 32}, "bad_field", "SIDs of the form differ"),
        ({"AccountSid": "AC" + "f" * 32}, "wrong_account", "AccountSid"),
        ({"AccountSid": "ACx"}, "bad_field", "AccountSid"),
        ({"From": "12015550001"}, "bad_field", "From"),
        ({"From": "whatsapp:+12015550001"}, "bad_field", "From"),
        ({"To": "+1 201 555 0001"}, "bad_field", "To"),
        ({"NumMedia": "0NumSegments1"}, "bad_field", "NumMedia"),
        ({"NumSegments": "-1"}, "bad_field", "NumSegments"),
        ({"FromCity": "A\nB"}, "bad_field", "FromCity"),
        ({"ApiVersion": "latest"}, "bad_field", "ApiVersion"),
        ({"From": ""}, "missing_field", "From"),
    ],
)
def test_a_field_out_of_shape_is_refused(change: dict[str, str], reason: str, says: str) -> None:
    with pytest.raises(FormError) as caught:
        check({**GENUINE, **change}, INCOMING, ACCOUNT)
    assert caught.value.reason == reason
    assert says in str(caught.value)


def test_missing_fields_are_named() -> None:
    with pytest.raises(FormError, match="missing form fields: From, Body"):
        check({"MessageSid": SID}, INCOMING, ACCOUNT)


def test_operator_may_accept_a_key_twilio_added_later() -> None:
    form = {**GENUINE, "NewThing": "x"}
    with pytest.raises(FormError):
        check(form, INCOMING, ACCOUNT)
    check(form, INCOMING, ACCOUNT, extra_keys={"NewThing"})


def test_a_status_callback_takes_its_own_fields() -> None:
    status = {
        "SmsSid": SID,
        "SmsStatus": "undelivered",
        "MessageStatus": "undelivered",
        "To": "+12015550001",
        "MessageSid": SID,
        "AccountSid": ACCOUNT,
        "From": "+15005550006",
        "ApiVersion": "2010-04-01",
        "ErrorCode": "30003",
        "RawDlrDoneDate": "2611291200",
    }
    check(status, STATUS, ACCOUNT)
    with pytest.raises(FormError, match="unexpected form fields: 'Body'"):
        check({**status, "Body": "hi"}, STATUS, ACCOUNT)
    with pytest.raises(FormError, match="missing form fields: MessageStatus"):
        check({"MessageSid": SID}, STATUS, ACCOUNT)
