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


@dataclass(frozen=True, slots=True)
class Refused:
    """A request refused: why (the counter's label), the answer, and a note for the log.

    Returned, not raised: an exception raised through the coroutines, caught and
    cleaned up, was some 5 us of a forged request's cost."""

    reason: str
    response: web.Response
    note: str = ""


def _answer(status: int, text: str) -> web.Response:
    # A plain Response, not aiohttp's HTTPException (a Response built with more steps):
    # a forged request should cost us little.
    return web.Response(status=status, body=text.encode(), content_type="text/plain")


def _forbidden(reason: str, note: str = "") -> Refused:
    return Refused(reason, _answer(403, "invalid signature\n"), note)


async def read_form(
    request: web.Request, intake: Intake, schema: Schema
) -> dict[str, str] | Refused:
    """The form, once signed and in schema's shape; else the refusal."""
    signature = request.headers.get(SIGNATURE_HEADER)
    if intake.signer is None:
        return _forbidden("not_configured", "set twilio.auth_token and web.public_url")
    if not signature:
        return _forbidden("no_signature")  # before reading the body: unsigned is cheap
    length = request.content_length
    if length is not None and length > intake.max_body:
        too_large = web.HTTPRequestEntityTooLarge(max_size=intake.max_body, actual_size=length)
        return Refused("too_large", _answer(too_large.status, too_large.text or ""))
    if request.content_type != FORM_TYPE or request.charset not in (None, "utf-8", "utf8"):
        return Refused("not_a_form", _answer(400, "expected a UTF-8 form\n"))
    body = await _body(request, intake.body_timeout)
    if isinstance(body, Refused):
        return body
    try:
        form = parse_form(body)
    except FormError as exc:
        return Refused(exc.reason, _answer(400, f"{exc}\n"))
    # Twilio signs the URL it called: ours as the public sees it, never request.url
    # (behind a proxy the scheme and host differ). One HMAC: a forgery costs little.
    if not intake.signer.valid(request.path_qs, form, signature):
        return _forbidden("bad_signature")
    try:
        check(form, schema, intake.account_sid, intake.extra_form_keys)
    except FormError as exc:
        return Refused(exc.reason, _answer(400, f"{exc}\n"), str(exc))
    return form


async def _body(request: web.Request, timeout: float) -> bytes | Refused:  # noqa: ASYNC109
    try:
        if request.content.is_eof():
            # All of it came with the headers (a Twilio form does): no timer to arm.
            return await request.read()
        async with asyncio.timeout(timeout):
            return await request.read()  # 413 past client_max_size
    except TimeoutError:
        return Refused("slow_body", _answer(408, "request body too slow\n"))
    except web.HTTPRequestEntityTooLarge as exc:
        return Refused("too_large", _answer(exc.status, exc.text or ""))
