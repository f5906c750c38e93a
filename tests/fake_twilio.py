"""A local fake of the part of Twilio's REST API highlightd uses: creating and listing Messages,
and fetching the Account (the credential check at start-up).

Faults on command: an error instead of the message, an error or no answer *after*
creating it (the ambiguous cases), a dropped connection, an outage for a while.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import math
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from types import TracebackType
from typing import Any

from aiohttp import web
from twilio.request_validator import RequestValidator

API_VERSION = "2010-04-01"
TEST_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
TEST_AUTH_TOKEN = "test-auth-token-0123456789abcdef"


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """The X-Twilio-Signature Twilio would send for a POST of `params` to `url`."""
    signature: str = RequestValidator(auth_token).compute_signature(url, params)
    return signature


@dataclass(frozen=True)
class FakeMessage:
    """One message the fake accepted."""

    sid: str
    to: str
    from_: str
    body: str
    status_callback: str | None
    params: dict[str, str] = field(repr=False)  # the whole form, for anything else
    headers: dict[str, str] = field(default_factory=dict, repr=False)  # the request's
    created: datetime = field(default_factory=lambda: datetime.now(UTC), repr=False)


@dataclass(frozen=True)
class _Failure:
    http_status: int
    code: int
    message: str
    after_create: bool = False  # the message exists anyway: the ambiguous 5xx


@dataclass(frozen=True)
class _Hang:
    after_create: bool = False


class _Drop:
    pass


@dataclass(frozen=True)
class _Slow:
    seconds: float


@dataclass(frozen=True)
class _Garble:
    body: bytes
    after_create: bool = True  # the message exists; the answer is unreadable


class FakeTwilio:
    """aiohttp server on 127.0.0.1 answering like Twilio's Messages endpoint."""

    def __init__(self, account_sid: str, auth_token: str) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.messages: list[FakeMessage] = []
        self.requests = 0  # POSTs to the Messages endpoint, including refused ones
        self.list_requests = 0  # GETs of the Messages list, including refused ones
        self.account_fetches = 0  # GETs of the Account resource, including refused ones
        self._down_until = 0.0  # time.monotonic(): every request is refused before then
        self._down_status = 503
        self._outcomes: deque[_Failure | _Hang | _Drop | _Garble | _Slow] = deque()
        self._changed = asyncio.Condition()
        self._release = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeTwilio is not started")
        return f"http://127.0.0.1:{self._port}"

    def fail_next(self, http_status: int, code: int, message: str = "Fake failure") -> None:
        """Answer the next authenticated POST with this Twilio error."""
        self._outcomes.append(_Failure(http_status, code, message))

    def hang_next(self) -> None:
        """Never answer the next authenticated POST (until stop())."""
        self._outcomes.append(_Hang())

    def fail_after_create_next(
        self, http_status: int = 500, code: int = 20500, message: str = "Fake failure"
    ) -> None:
        """Create the next message, then answer this error as if it had not been."""
        self._outcomes.append(_Failure(http_status, code, message, after_create=True))

    def hang_after_create_next(self) -> None:
        """Create the next message, then never answer (until stop())."""
        self._outcomes.append(_Hang(after_create=True))

    def unavailable_for(self, seconds: float, http_status: int = 503) -> None:
        """Refuse every request (POST and list) with http_status for this long, creating nothing."""
        self._down_until = time.monotonic() + seconds
        self._down_status = http_status

    def available(self) -> None:
        """End an outage started by unavailable_for() now."""
        self._down_until = 0.0

    @property
    def down(self) -> bool:
        return time.monotonic() < self._down_until

    def slow_next(self, seconds: float) -> None:
        """Answer the next authenticated POST as usual, but only after `seconds`."""
        self._outcomes.append(_Slow(seconds))

    def drop_next(self) -> None:
        """Close the connection without answering the next authenticated POST."""
        self._outcomes.append(_Drop())

    def garble_next(self, body: bytes) -> None:
        """Create the next message, but answer `body` (201, as JSON) instead of its resource."""
        self._outcomes.append(_Garble(body))

    async def wait_for_messages(self, n: int, timeout: float = 10) -> list[FakeMessage]:  # noqa: ASYNC109
        """Return the messages once at least `n` were accepted (a guard, not a timing test)."""
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(lambda: len(self.messages) >= n)
        except TimeoutError:
            raise AssertionError(
                f"FakeTwilio: expected {n} message(s) within {timeout}s, got"
                f" {len(self.messages)}: {self.messages}"
            ) from None
        return list(self.messages)

    async def start(self) -> None:
        app = web.Application()
        path = f"/{API_VERSION}/Accounts/{{account_sid}}/Messages.json"
        app.router.add_post(path, self._create_message)
        app.router.add_get(path, self._list_messages)
        app.router.add_get(f"/{API_VERSION}/Accounts/{{account_sid}}.json", self._fetch_account)
        self._runner = web.AppRunner(app, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        self._release.set()  # let hung requests finish so shutdown is quick
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTwilio:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    def _authenticated(self, request: web.Request) -> bool:
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return user == self.account_sid and password == self.auth_token

    async def _fetch_account(self, request: web.Request) -> web.Response:
        self.account_fetches += 1
        if not self._authenticated(request) or request.match_info["account_sid"] != (
            self.account_sid
        ):
            return _error(401, 20003, "Authenticate")
        now = format_datetime(datetime.now(UTC))
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}"
        return web.json_response(
            {
                "auth_token": self.auth_token,
                "date_created": now,
                "date_updated": now,
                "friendly_name": "highlightd test account",
                "owner_account_sid": self.account_sid,
                "sid": self.account_sid,
                "status": "active",
                "subresource_uris": {"messages": f"{uri}/Messages.json"},
                "type": "Full",
                "uri": f"{uri}.json",
            }
        )

    async def _create_message(self, request: web.Request) -> web.Response:
        self.requests += 1
        if refused := self._refusal(request):
            return refused
        outcome = self._outcomes.popleft() if self._outcomes else None
        if isinstance(outcome, _Drop):
            assert request.transport is not None
            request.transport.abort()
            return web.Response()  # never written: the connection is gone
        if isinstance(outcome, _Slow):
            await asyncio.sleep(outcome.seconds)
        if isinstance(outcome, _Hang) and not outcome.after_create:
            await self._release.wait()
            return _error(503, 20500, "Fake hang released")
        if isinstance(outcome, _Failure) and not outcome.after_create:
            return _error(outcome.http_status, outcome.code, outcome.message)
        form = {key: str(value) for key, value in (await request.post()).items()}
        if not form.get("To"):
            return _error(400, 21604, "A 'To' phone number is required.")
        if not form.get("From") and not form.get("MessagingServiceSid"):
            return _error(400, 21603, "A 'From' phone number is required.")
        if not form.get("Body") and not form.get("MediaUrl") and not form.get("ContentSid"):
            return _error(400, 21602, "Message body is required.")
        message = FakeMessage(
            sid="SM" + secrets.token_hex(16),
            to=form["To"],
            from_=form.get("From", ""),
            body=form.get("Body", ""),
            status_callback=form.get("StatusCallback"),
            params=form,
            headers=dict(request.headers),
        )
        async with self._changed:
            self.messages.append(message)
            self._changed.notify_all()
        if isinstance(outcome, _Hang):
            await self._release.wait()
            return _error(503, 20500, "Fake hang released")
        if isinstance(outcome, _Failure):
            return _error(outcome.http_status, outcome.code, outcome.message)
        if isinstance(outcome, _Garble):
            return web.Response(body=outcome.body, status=201, content_type="application/json")
        return web.json_response(self._resource(message), status=201)

    async def _list_messages(self, request: web.Request) -> web.Response:
        """The Messages list, newest first, filtered by To, From and DateSent (=, <, >)."""
        self.list_requests += 1
        if refused := self._refusal(request):
            return refused
        query = request.query
        try:
            on, before, after = (
                _date(query.get(key)) for key in ("DateSent", "DateSent<", "DateSent>")
            )
        except ValueError:
            return _error(400, 20001, "Invalid DateSent")
        found = [
            m
            for m in reversed(self.messages)
            if query.get("To", m.to) == m.to
            and query.get("From", m.from_) == m.from_
            and _sent_within(m.created, on, before, after)
        ]
        size = int(query.get("PageSize", "50"))
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"
        return web.json_response(
            {
                "messages": [self._resource(m, listed=True) for m in found[:size]],
                "end": min(size, len(found)) - 1,
                "first_page_uri": uri,
                "next_page_uri": None,  # one page: enough for any test
                "page": 0,
                "page_size": size,
                "previous_page_uri": None,
                "start": 0,
                "uri": uri,
            }
        )

    def _refusal(self, request: web.Request) -> web.Response | None:
        if not self._authenticated(request) or request.match_info["account_sid"] != (
            self.account_sid
        ):
            return _error(401, 20003, "Authenticate")
        if self.down:
            return _error(self._down_status, 20500 if self._down_status >= 500 else 20429, "Down")
        return None

    def _resource(self, message: FakeMessage, listed: bool = False) -> dict[str, Any]:
        # Created just now, or (in the list) sent at once: the fake has no queue.
        now = format_datetime(message.created if listed else datetime.now(UTC))
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{message.sid}"
        return {
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": message.body,
            "date_created": now,
            "date_sent": now if listed else None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": message.from_ or None,
            "messaging_service_sid": message.params.get("MessagingServiceSid"),
            "num_media": "0",
            "num_segments": str(_segments(message.body)),
            "price": None,
            "price_unit": "USD",
            "sid": message.sid,
            "status": "sent" if listed else "queued",
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": message.to,
            "uri": f"{uri}.json",
        }


def _segments(body: str) -> int:
    # Rough: enough for a plausible resource; highlightd counts segments itself.
    single, multi = (160, 153) if body.isascii() else (70, 67)
    return 1 if len(body) <= single else math.ceil(len(body) / multi)


def _error(http_status: int, code: int, message: str) -> web.Response:
    return web.json_response(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": http_status,
        },
        status=http_status,
    )


def _date(value: str | None) -> datetime | None:
    """A DateSent filter value: YYYY-MM-DD (midnight UTC) or an ISO 8601 time, as twilio sends."""
    if value is None:
        return None
    if len(value) == 10:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _sent_within(
    sent: datetime, on: datetime | None, before: datetime | None, after: datetime | None
) -> bool:
    # Twilio compares DateSent by day: "DateSent>" is on or after that day.
    day = sent.date()
    return (
        (on is None or day == on.date())
        and (before is None or day <= before.date())
        and (after is None or day >= after.date())
    )
