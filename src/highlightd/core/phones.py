"""Phone numbers: one parser (E.164 out, national numbers with a region) and one mask. Pure."""

from __future__ import annotations

import re

import phonenumbers

__all__ = ["PhoneError", "check_region", "mask_phone", "parse_phone"]

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


def mask_phone(phone: str) -> str:
    """Hide a phone number for logs: "+15551230001" -> "+1•••••0001"."""
    channel, colon, number = phone.strip().rpartition(":")  # "whatsapp:+1555..." keeps its channel
    plus = "+" if number.startswith("+") else ""
    digits = "".join(ch for ch in number if ch.isdigit())
    try:
        country = str(phonenumbers.parse(number, None).country_code)
    except phonenumbers.NumberParseException:
        country = digits[:1]
    if len(digits) < len(country) + 7:
        # Too short to show both ends without giving most of it away.
        return f"{channel}{colon}{plus}{_MASK}{digits[-2:]}"
    return f"{channel}{colon}{plus}{country}{_MASK}{digits[-4:]}"
