"""Twilio's webhook forms, taken strictly: the body, the signature, and every field's shape.

Twilio signs the URL followed by every key and value, sorted by key, concatenated
with nothing between them. The signature therefore does not fix where one field
ends and the next begins: a captured request can be re-cut (`Body=Yes. Do not
deploy` into `Body=Yes. ` plus a key `Do not deploy`; a MessageSid swallowing
`NumMedia0`) and still be signed. So a form is accepted only when each key is one
Twilio documents for that webhook and each value has the shape Twilio gives it:
a re-cut form always breaks one of them. Pure: no I/O.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote

MAX_FIELDS = 64


class FormError(Exception):
    """A request refused before it is acted on; reason labels the counter."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _shape(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, re.ASCII)


MESSAGE_SID = _shape(r"(?:SM|MM)[0-9a-fA-F]{32}")
ACCOUNT_SID = _shape(r"AC[0-9a-fA-F]{32}")
E164 = _shape(r"\+[1-9][0-9]{1,14}")
_SERVICE_SID = _shape(r"MG[0-9a-fA-F]{32}")
_CHANNEL_SID = _shape(r"[A-Z]{2}[0-9a-fA-F]{32}")
_COUNT = _shape(r"[0-9]{1,4}")
_CODE = _shape(r"[0-9]{1,6}")
_DIGITS = _shape(r"[0-9]{1,20}")
_VERSION = _shape(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_STATUS = _shape(r"[a-z_-]{1,32}")
_WORD = _shape(r"[A-Za-z_]{1,32}")
_MIME = _shape(r"[\w.+-]{1,64}/[\w.+;= -]{1,100}")
_URL = _shape(r"https://[!-~]{1,500}")
# Place names, error texts: one line, no control characters.
_LINE = re.compile(r"[^\x00-\x1f\x7f]{0,200}")
_TEXT = re.compile(r".{0,1600}", re.DOTALL)  # an SMS body: Twilio joins at most 1600
_PLACE = {
    f"{side}{part}": _LINE
    for side in ("From", "To")
    for part in ("City", "State", "Zip", "Country")
}


@dataclass(frozen=True, slots=True)
class Schema:
    """The fields of one webhook: which must be there, and the shape of each."""

    required: tuple[str, ...]
    fields: Mapping[str, re.Pattern[str]]
    numbered: Mapping[str, re.Pattern[str]] = field(default_factory=dict)  # MediaUrl0..9
    may_be_empty: frozenset[str] = frozenset()  # required, but "" is a value (an empty SMS)


# Twilio's request to the incoming-message webhook (SMS and MMS; not WhatsApp).
INCOMING = Schema(
    required=("MessageSid", "From", "Body"),
    fields={
        "MessageSid": MESSAGE_SID,
        "SmsSid": MESSAGE_SID,
        "SmsMessageSid": MESSAGE_SID,
        "AccountSid": ACCOUNT_SID,
        "MessagingServiceSid": _SERVICE_SID,
        "From": E164,
        "To": E164,
        "Body": _TEXT,
        "NumMedia": _COUNT,
        "NumSegments": _COUNT,
        "ReferralNumMedia": _COUNT,
        "ApiVersion": _VERSION,
        "SmsStatus": _STATUS,
        "MessageType": _WORD,
        "OptOutType": _WORD,  # Advanced Opt-Out: STOP, START, HELP
        **_PLACE,
    },
    numbered={"MediaUrl": _URL, "MediaContentType": _MIME},
    may_be_empty=frozenset({"Body"}),
)

# Twilio's status callback for a message we sent.
STATUS = Schema(
    required=("MessageSid", "MessageStatus"),
    fields={
        "MessageSid": MESSAGE_SID,
        "SmsSid": MESSAGE_SID,
        "AccountSid": ACCOUNT_SID,
        "MessagingServiceSid": _SERVICE_SID,
        "From": E164,
        "To": E164,
        "MessageStatus": _STATUS,
        "SmsStatus": _STATUS,
        "ApiVersion": _VERSION,
        "ErrorCode": _CODE,
        "ErrorMessage": _LINE,
        "RawDlrDoneDate": _DIGITS,
        "ChannelToAddress": _LINE,
        "ChannelPrefix": _WORD,
        "ChannelInstallSid": _CHANNEL_SID,
        "ChannelStatusMessage": _LINE,
    },
)

_NUMBERED = re.compile(r"([A-Za-z]+)([0-9])", re.ASCII)


def parse_form(body: bytes) -> dict[str, str]:
    """An application/x-www-form-urlencoded body in UTF-8, each key once, every pair with
    an `=` (urllib's parse_qsl with strict_parsing, without its generality's cost)."""
    try:
        text = body.decode("utf-8")
        if not text:
            return {}
        pairs = text.split("&")
        if len(pairs) > MAX_FIELDS:
            raise FormError("bad_form", "not a form Twilio sends")
        keys, values = [], []
        for pair in pairs:
            key, equals, value = pair.partition("=")
            if not equals:
                raise FormError("bad_form", "not a form Twilio sends")
            keys.append(key)
            values.append(value)
        decoded = _unquote_all(keys + values)
        form = dict(zip(decoded[: len(keys)], decoded[len(keys) :], strict=True))
        if len(form) < len(keys):
            raise FormError("bad_form", "a form field appears twice")
    except UnicodeDecodeError:
        raise FormError("undecodable", "the form is not valid UTF-8") from None
    return form


def _unquote_all(parts: list[str]) -> list[str]:
    """Each part with "+" a space and %XX decoded, in one `unquote` (a Python function,
    the larger part of a form's cost when called per field) unless an escaped "&"
    would then split a part: the parts are joined with "&", which none holds raw."""
    joined = "&".join(parts)
    if "+" in joined:
        joined = joined.replace("+", " ")
    if "%" not in joined:
        return joined.split("&")
    if "%26" in joined:
        return [_unquote(part) for part in parts]
    return unquote(joined, errors="strict").split("&")


def _unquote(text: str) -> str:
    if "+" in text:
        text = text.replace("+", " ")
    return unquote(text, errors="strict") if "%" in text else text


class Signer:
    """X-Twilio-Signature for one auth token and public URL: HMAC-SHA1 over the URL called
    (ours as the public sees it, plus the path) and every key and value, sorted by key.
    The key's part of the HMAC is made once; each request then costs one HMAC."""

    def __init__(self, auth_token: str, base_url: str) -> None:
        self._mac = hmac.new(auth_token.encode(), digestmod=hashlib.sha1)
        self._base = base_url  # the URL up to the path: "https://example.org"

    def signature(self, path: str, form: Mapping[str, str]) -> str:
        mac = self._mac.copy()
        mac.update((self._base + path + "".join(k + form[k] for k in sorted(form))).encode())
        return base64.b64encode(mac.digest()).decode("ascii")

    def valid(self, path: str, form: Mapping[str, str], header: str) -> bool:
        """Whether header signs form posted to our public URL + path (compared in constant time)."""
        expected = self.signature(path, form).encode("ascii")
        return hmac.compare_digest(expected, header.encode("utf-8", "replace"))


def signature(auth_token: str, url: str, form: Mapping[str, str]) -> str:
    """X-Twilio-Signature for a POST of form to url."""
    return Signer(auth_token, url).signature("", form)


def signed(auth_token: str, url: str, form: Mapping[str, str], header: str) -> bool:
    """Whether header is Twilio's signature of form posted to exactly url (one HMAC)."""
    return Signer(auth_token, url).valid("", form, header)


def check(
    form: Mapping[str, str],
    schema: Schema,
    account_sid: str | None,
    extra_keys: Collection[str] = (),
) -> None:
    """Raise FormError unless form is one Twilio would send for schema's webhook."""
    fields = schema.fields
    shapes: list[re.Pattern[str] | None] = []
    numbered: list[tuple[str, int]] = []  # MediaUrl0: ("MediaUrl0", 0)
    unexpected = []
    for key in form:
        # One dictionary look-up for the keys of every form; the rest by pattern.
        shape = fields.get(key) or _other_shape(key, schema, extra_keys, numbered)
        if shape is None:
            unexpected.append(key)
        shapes.append(shape)
    if unexpected:
        names = ", ".join(repr(key[:40]) for key in sorted(unexpected)[:5])
        raise FormError("unexpected_field", f"unexpected form fields: {names}")
    missing = [
        name
        for name in schema.required
        if not form.get(name) and not (name in schema.may_be_empty and name in form)
    ]
    if missing:
        raise FormError("missing_field", f"missing form fields: {', '.join(missing)}")
    for (key, value), shape in zip(form.items(), shapes, strict=True):
        if shape is not None and not shape.fullmatch(value):
            raise FormError("bad_field", f"form field {key} is not what Twilio sends")
    _consistent(form, account_sid, numbered)


def _other_shape(
    key: str, schema: Schema, extra_keys: Collection[str], numbered: list[tuple[str, int]]
) -> re.Pattern[str] | None:
    """The shape of a key not in schema.fields: a numbered one (noted), an extra one, or none."""
    if (match := _NUMBERED.fullmatch(key)) and match[1] in schema.numbered:
        numbered.append((key, int(match[2])))
        return schema.numbered[match[1]]
    return _TEXT if key in extra_keys else None


def _consistent(
    form: Mapping[str, str], account_sid: str | None, numbered: list[tuple[str, int]]
) -> None:
    # Hex digits in either case: the config may spell them differently from Twilio.
    if account_sid and form.get("AccountSid", account_sid).lower() != account_sid.lower():
        raise FormError("wrong_account", "AccountSid is not this account's")
    sid = form["MessageSid"]
    if form.get("SmsSid", sid) != sid or form.get("SmsMessageSid", sid) != sid:
        raise FormError("bad_field", "the message SIDs of the form differ")
    if numbered:
        media = int(form.get("NumMedia", "0"))
        for key, index in numbered:
            if index >= media:
                raise FormError("bad_field", f"form field {key} is past NumMedia")
