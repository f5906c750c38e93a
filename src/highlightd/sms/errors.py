"""Twilio's error codes that an operator meets, each with what it means and what to do."""

from __future__ import annotations

from typing import NamedTuple


class TwilioCode(NamedTuple):
    meaning: str
    hint: str


CODES: dict[int, TwilioCode] = {
    20003: TwilioCode(
        "authentication failed: the Account SID or Auth Token is wrong",
        "copy both from the Twilio console's Account Info (test credentials cannot send)",
    ),
    20404: TwilioCode(
        "not found: no such account or resource",
        "check twilio.account_sid, and twilio.api_base_url if you changed it",
    ),
    20429: TwilioCode("too many requests", "Twilio is rate-limiting the account; it passes"),
    21211: TwilioCode(
        "invalid To number", "write it as +<country code><number>, like +15551230001"
    ),
    21212: TwilioCode(
        "invalid From number", "twilio.from_number must be a number of this Twilio account"
    ),
    21408: TwilioCode(
        "sending to this region is not enabled",
        "enable the country in the console's Messaging Geo Permissions",
    ),
    21606: TwilioCode(
        "the From number cannot send SMS",
        "set twilio.from_number to an SMS-capable number of this account",
    ),
    21608: TwilioCode(
        "a trial account texts only verified numbers",
        "verify this number in the console (Verified Caller IDs), or upgrade the account",
    ),
    21610: TwilioCode(
        "the recipient answered STOP",
        "nothing goes to them until they text START to your Twilio number",
    ),
    21614: TwilioCode("the To number is not a mobile number", "SMS need a mobile number"),
    30003: TwilioCode(
        "unreachable handset", "the phone is off or out of coverage; later SMS may arrive"
    ),
    30005: TwilioCode("unknown handset", "the number does not exist or is no longer in service"),
    30006: TwilioCode(
        "landline or unreachable carrier", "the number cannot receive SMS; use a mobile number"
    ),
    30007: TwilioCode(
        "filtered by the carrier as spam",
        "register the sender with the carrier (A2P 10DLC in the US) or use a verified number",
    ),
    30008: TwilioCode("unknown error from the carrier", "try again later; if it stays, ask Twilio"),
    30034: TwilioCode(
        "the From number is not registered for A2P 10DLC (US)",
        "register a brand and campaign in the console, and add this number to it",
    ),
}


def meaning(code: int | None) -> str:
    """'error 21608: a trial account texts only verified numbers', or just the code."""
    if code is None:
        return "no error code"
    known = CODES.get(code)
    return f"error {code}: {known.meaning}" if known else f"error {code}"


def hint(code: int | None) -> str | None:
    """What to do about it, when we know."""
    known = CODES.get(code) if code is not None else None
    return known.hint if known else None
