"""Phone numbers: one parser (E.164 out, national numbers with a region) and one mask. Pure."""

from __future__ import annotations

import re

import phonenumbers

__all__ = ["PhoneError", "check_region", "code_refusal", "home_region", "mask_phone", "parse_phone"]

HINT = "write the phone number as +<country code><number>, like +15551230001"
_MASK = "•••••"
_PHONE_CHARS = re.compile(r"\+?[0-9\s().\-/]+")


class PhoneError(ValueError):
    """Not a phone number we can text; the message says how to write one."""


def parse_phone(text: str, region: str | None = None) -> str:
    """The number in E.164; a national number needs its region ('US', 'DE')."""
    text = text.strip()
    # phonenumbers skips leading junk and reads letters as keypad digits; a typo should fail.
    if not _PHONE_CHARS.fullmatch(text):
        raise PhoneError(f"not an E.164 phone number: {text[:40]!r}; {HINT}")
    try:
        number = phonenumbers.parse(text, region.upper() if region else None)
    except phonenumbers.NumberParseException:
        raise PhoneError(f"not an E.164 phone number: {text[:40]!r}; {HINT}") from None
    # "Possible" (right length for its country), not "valid": the validity tables lag
    # behind new number ranges, and Twilio rejects a wrong number itself (21211).
    if not phonenumbers.is_possible_number(number):
        raise PhoneError(f"not a possible phone number: {text[:40]!r}; {HINT}")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def check_region(value: str) -> str:
    """An ISO 3166 region phonenumbers knows ('us' -> 'US'), for reading national numbers."""
    region = value.upper()
    if region not in phonenumbers.SUPPORTED_REGIONS:
        raise ValueError(f"not a phone region (ISO 3166 code like US or DE): {value!r}")
    return region


_Type = phonenumbers.PhoneNumberType
# Verification codes go only to numbers that reach someone's own phone. The others are
# how SMS pumping earns its money (premium-rate, shared-cost, international networks)
# or do not reach a person (pagers, voicemail, forwarding): never worth a code.
_TEXTABLE = frozenset({_Type.MOBILE, _Type.FIXED_LINE_OR_MOBILE, _Type.FIXED_LINE})
_KINDS = {
    _Type.PREMIUM_RATE: "a premium-rate number",
    _Type.SHARED_COST: "a shared-cost number",
    _Type.TOLL_FREE: "a toll-free number",
    _Type.UAN: "a company (UAN) number",
    _Type.VOIP: "a VoIP or international-network number",
    _Type.PAGER: "a pager number",
    _Type.PERSONAL_NUMBER: "a personal (forwarding) number",
    _Type.VOICEMAIL: "a voicemail number",
}


def code_refusal(phone: str, regions: frozenset[str]) -> str | None:
    """Why no verification code may be texted to phone (E.164), or None when one may.

    regions are the countries (ISO 3166 codes) codes may go to; empty means any.
    """
    number = phonenumbers.parse(phone, None)
    kind = phonenumbers.number_type(number)
    if kind not in _TEXTABLE:
        if what := _KINDS.get(kind):
            return f"{mask_phone(phone)} is {what}; codes go only to mobile and landline numbers"
        return (
            f"{mask_phone(phone)} is not a number I know as mobile or landline; "
            "ask the operator to add it"
        )
    region = phonenumbers.region_code_for_number(number)
    if regions and region not in regions:
        allowed = ", ".join(sorted(regions))
        return f"{mask_phone(phone)} is a number in {region}; codes go only to numbers in {allowed}"
    return None


def home_region(phone: str) -> str | None:
    """The country (ISO 3166) of an E.164 number; for one outside phonenumbers' tables,
    the main country of its calling code (+1: US). None when not even that is known."""
    number = phonenumbers.parse(phone, None)
    region = phonenumbers.region_code_for_number(
        number
    ) or phonenumbers.region_code_for_country_code(number.country_code or 0)
    return region if region in phonenumbers.SUPPORTED_REGIONS else None


# A stored phone (E.164): its calling code is the prefix phonenumbers knows, as its
# parse finds it (calling codes are prefix-free); the whole parse was a twentieth of
# the daemon's CPU per SMS, for the log line that says it was sent.
_E164 = re.compile(r"\+[1-9][0-9]{7,14}")


def _calling_code(number: str) -> str | None:
    for end in (2, 3, 4):
        if int(number[1:end]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            return number[1:end]
    return None


def mask_phone(phone: str) -> str:
    """Hide a phone number for logs: "+15551230001" -> "+1•••••0001"."""
    channel, colon, number = phone.strip().rpartition(":")  # "whatsapp:+1555..." keeps its channel
    plus = "+" if number.startswith("+") else ""
    digits = "".join(ch for ch in number if ch.isdigit())
    country = _calling_code(number) if _E164.fullmatch(number) else None
    if country is None:
        try:
            country = str(phonenumbers.parse(number, None).country_code)
        except phonenumbers.NumberParseException:
            country = digits[:1]
    if len(digits) < len(country) + 7:
        # Too short to show both ends without giving most of it away.
        return f"{channel}{colon}{plus}{_MASK}{digits[-2:]}"
    return f"{channel}{colon}{plus}{country}{_MASK}{digits[-4:]}"
