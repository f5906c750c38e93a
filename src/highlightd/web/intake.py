"""Reading a webhook's request: the cheap refusals first, the body, one HMAC, the fields.

What a request costs before it is refused matters: anyone who can reach the port
can send forged ones by the thousand. So the unsigned are refused before the body
is read, the fixed parts of the signature (the key, the public URL) are made once
(`Intake`), and a body already received is read without arming a timer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from dataclasses import dataclass

from aiohttp import web

from highlightd.web.forms import FormError, Schema, Signer, check, parse_form

SIGNATURE_HEADER = "X-Twilio-Signature"
FORM_TYPE = "application/x-www-form-urlencoded"


@dataclass(frozen=True, slots=True)
class Intake:
    """What reading a webhook takes: made once, when the app is."""

    signer: Signer | None  # None: twilio.auth_token or web.public_url missing
    max_body: int
    body_timeout: float
    account_sid: str | None
    extra_form_keys: Collection[str]


class Refused(Exception):
    """A request refused: why (the counter's label), the answer, and a note for the log."""

    def __init__(self, reason: str, response: web.Response, note: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.response = response
        self.note = note


def _answer(status: int, text: str) -> web.Response:
    # A plain Response, not aiohttp's HTTPException (a Response built with more steps):
    # a forged request should cost us little.
    return web.Response(status=status, body=text.encode(), content_type="text/plain")


def _forbidden(reason: str, note: str = "") -> Refused:
    return Refused(reason, _answer(403, "invalid signature\n"), note)


async def read_form(request: web.Request, intake: Intake, schema: Schema) -> dict[str, str]:
    """The form, once signed and in schema's shape; else Refused."""
    signature = request.headers.get(SIGNATURE_HEADER)
    if intake.signer is None:
        raise _forbidden("not_configured", "set twilio.auth_token and web.public_url")
    if not signature:
        raise _forbidden("no_signature")  # before reading the body: unsigned is cheap
    length = request.content_length
    if length is not None and length > intake.max_body:
        too_large = web.HTTPRequestEntityTooLarge(max_size=intake.max_body, actual_size=length)
        raise Refused("too_large", _answer(too_large.status, too_large.text or ""))
    if request.content_type != FORM_TYPE or request.charset not in (None, "utf-8", "utf8"):
        raise Refused("not_a_form", _answer(400, "expected a UTF-8 form\n"))
    body = await _body(request, intake.body_timeout)
    try:
        form = parse_form(body)
    except FormError as exc:
        raise Refused(exc.reason, _answer(400, f"{exc}\n")) from None
    # Twilio signs the URL it called: ours as the public sees it, never request.url
    # (behind a proxy the scheme and host differ). One HMAC: a forgery costs little.
    if not intake.signer.valid(request.path_qs, form, signature):
        raise _forbidden("bad_signature")
    try:
        check(form, schema, intake.account_sid, intake.extra_form_keys)
    except FormError as exc:
        raise Refused(exc.reason, _answer(400, f"{exc}\n"), str(exc)) from None
    return form


async def _body(request: web.Request, timeout: float) -> bytes:  # noqa: ASYNC109
    try:
        if request.content.is_eof():
            # All of it came with the headers (a Twilio form does): no timer to arm.
            return await request.read()
        async with asyncio.timeout(timeout):
            return await request.read()  # 413 past client_max_size
    except TimeoutError:
        raise Refused("slow_body", _answer(408, "request body too slow\n")) from None
    except web.HTTPRequestEntityTooLarge as exc:
        raise Refused("too_large", _answer(exc.status, exc.text or "")) from None
