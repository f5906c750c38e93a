from __future__ import annotations

import asyncio
import base64
import gc
import logging
import time
import warnings
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import aiohttp
import phonenumbers
import pytest
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from fake_twilio import FakeTwilio, twilio_signature
from highlightd.core.phones import mask_phone
from highlightd.sms.gateway import ConsoleGateway, SmsError, SmsGateway, TwilioGateway, rebase_url
from highlightd.sms.twiliohttp import RebasedHttpClient
from servers import free_port

FROM = "+15005550006"
TO = "+15551230001"
STATUS_CALLBACK = "https://sms.example.org/twilio/status"


async def make_gateway(
    fake: FakeTwilio,
    *,
    auth_token: str | None = None,
    api_base_url: str | None = None,
    status_callback: str | None = STATUS_CALLBACK,
    timeout: float = 15.0,  # noqa: ASYNC109 (the gateway setting under test)
) -> TwilioGateway:
    return await TwilioGateway.create(
        account_sid=fake.account_sid,
        auth_token=auth_token or fake.auth_token,
        from_number=FROM,
        api_base_url=api_base_url or fake.base_url,
        status_callback=status_callback,
        timeout=timeout,
    )


@pytest.fixture
async def gateway(fake_twilio: FakeTwilio) -> AsyncIterator[TwilioGateway]:
    gateway = await make_gateway(fake_twilio)
    yield gateway
    await gateway.aclose()


async def test_send_is_recorded_with_to_from_body_status_callback_and_returns_sid(
    gateway: TwilioGateway, fake_twilio: FakeTwilio
) -> None:
    sent = await gateway.send(TO, "[#chan] <bob> alice: lunch?")

    [message] = await fake_twilio.wait_for_messages(1)
    assert (message.to, message.from_, message.body, message.status_callback) == (
        TO,
        FROM,
        "[#chan] <bob> alice: lunch?",
        STATUS_CALLBACK,
    )
    assert sent.sid == message.sid
    assert sent.sid.startswith("SM") and len(sent.sid) == 34
    assert sent.status == "queued"


async def test_the_request_is_the_one_twilios_own_client_makes(
    gateway: TwilioGateway, fake_twilio: FakeTwilio
) -> None:
    """The gateway builds the Messages POST itself (sms/twiliohttp.py): same form, same
    headers as twilio's `messages.create_async`, whatever the body holds."""
    body = "naïve + café & x=1 %20 😀 <bob>\tend"
    http = RebasedHttpClient(fake_twilio.base_url, 15.0)
    try:
        client = Client(fake_twilio.account_sid, fake_twilio.auth_token, http_client=http)
        await client.messages.create_async(
            to=TO, from_=FROM, body=body, status_callback=STATUS_CALLBACK
        )
    finally:
        await http.close()
    await gateway.send(TO, body)

    theirs, ours = await fake_twilio.wait_for_messages(2)
    assert ours.params == theirs.params and ours.body == body
    compared = ("User-Agent", "X-Twilio-Client", "Accept", "Accept-Charset", "Content-Type")
    assert {h: ours.headers.get(h) for h in (*compared, "Authorization")} == {
        h: theirs.headers.get(h) for h in (*compared, "Authorization")
    }
    assert all(theirs.headers.get(h) for h in compared)


async def test_without_status_callback_none_is_sent(fake_twilio: FakeTwilio) -> None:
    gateway = await make_gateway(fake_twilio, status_callback=None)
    try:
        await gateway.send(TO, "hi")
    finally:
        await gateway.aclose()

    [message] = await fake_twilio.wait_for_messages(1)
    assert message.status_callback is None
    assert "StatusCallback" not in message.params


async def test_wrong_token_is_http_401_code_20003_not_retryable(fake_twilio: FakeTwilio) -> None:
    gateway = await make_gateway(fake_twilio, auth_token="wrong-token")
    try:
        with pytest.raises(SmsError) as caught:
            await gateway.send(TO, "hi")
    finally:
        await gateway.aclose()

    assert (caught.value.http_status, caught.value.code) == (401, 20003)
    assert not caught.value.retryable
    assert fake_twilio.messages == []


async def test_invalid_number_error_21211_is_not_retryable(
    gateway: TwilioGateway, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.fail_next(400, 21211, "The 'To' number +1555 is not a valid phone number.")

    with pytest.raises(SmsError) as caught:
        await gateway.send(TO, "hi")

    assert (caught.value.http_status, caught.value.code) == (400, 21211)
    assert not caught.value.retryable
    assert "not a valid phone number" in str(caught.value)


async def test_rate_limit_429_is_retryable(gateway: TwilioGateway, fake_twilio: FakeTwilio) -> None:
    fake_twilio.fail_next(429, 20429, "Too Many Requests")

    with pytest.raises(SmsError) as caught:
        await gateway.send(TO, "hi")

    assert (caught.value.http_status, caught.value.code, caught.value.retryable) == (
        429,
        20429,
        True,
    )


async def test_server_error_is_not_retryable_and_not_retried(
    gateway: TwilioGateway, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.fail_next(500, 20500, "Internal Server Error")

    with pytest.raises(SmsError) as caught:
        await gateway.send(TO, "hi")

    assert (caught.value.http_status, caught.value.retryable) == (500, False)
    assert fake_twilio.requests == 1  # a retried POST could send the SMS twice


async def test_connection_refused_is_retryable(fake_twilio: FakeTwilio) -> None:
    gateway = await make_gateway(fake_twilio, api_base_url=f"http://127.0.0.1:{free_port()}")
    try:
        with pytest.raises(SmsError) as caught:
            await gateway.send(TO, "hi")
    finally:
        await gateway.aclose()

    assert caught.value.retryable
    assert caught.value.http_status is None


async def test_hung_request_times_out_and_is_not_retryable(fake_twilio: FakeTwilio) -> None:
    gateway = await make_gateway(fake_twilio, timeout=0.5)
    fake_twilio.hang_next()
    try:
        async with asyncio.timeout(10):  # guard: twilio's own client would wait forever
            with pytest.raises(SmsError) as caught:
                await gateway.send(TO, "hi")
    finally:
        await gateway.aclose()

    assert not caught.value.retryable  # the request reached the API: it may have been sent
    assert fake_twilio.requests == 1


async def test_connection_dropped_after_request_is_not_retryable(
    gateway: TwilioGateway, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.drop_next()

    with pytest.raises(SmsError) as caught:
        await gateway.send(TO, "hi")

    assert not caught.value.retryable
    assert (await gateway.send(TO, "again")).sid  # the pool recovers from the dropped connection


async def test_closed_gateway_leaves_no_unclosed_session_warning(
    fake_twilio: FakeTwilio, caplog: pytest.LogCaptureFixture
) -> None:
    gateway = await make_gateway(fake_twilio)
    await gateway.send(TO, "hi")
    await gateway.aclose()

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del gateway
        gc.collect()

    assert [str(w.message) for w in caught] == []
    assert "Unclosed" not in caplog.text


async def test_console_gateway_logs_masked_number_never_the_full_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gateway: SmsGateway = ConsoleGateway()
    caplog.set_level(logging.INFO, logger="highlightd.sms.gateway")

    first = await gateway.send(TO, "[#chan] <bob> alice: lunch?")
    second = await gateway.send(TO, "ж" * 71)
    await gateway.aclose()

    assert (first.sid, first.status, second.sid) == ("console-1", "printed", "console-2")
    assert [r.getMessage() for r in caplog.records] == [
        "SMS to +1•••••0001 (1 segment(s)): [#chan] <bob> alice: lunch?",
        "SMS to +1•••••0001 (2 segment(s)): " + "ж" * 71,
    ]
    assert "5551230001" not in caplog.text


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("+15551230001", "+1•••••0001"),
        ("+447700900123", "+44•••••0123"),
        ("+33612345678", "+33•••••5678"),
        ("+8613812345678", "+86•••••5678"),
        (" +1 (555) 123-0001 ", "+1•••••0001"),
        ("15551230001", "1•••••0001"),  # no "+": not parsable, first digit kept
        ("+999123456789", "+9•••••6789"),  # unknown country code
        ("whatsapp:+15551230001", "whatsapp:+1•••••0001"),
        ("+1234", "+•••••34"),  # too short to show both ends
        ("", "•••••"),
    ],
)
def test_mask_phone(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


@pytest.mark.parametrize("length", [10, 12, 15])
def test_mask_phone_shows_the_calling_code_phonenumbers_parses(length: int) -> None:
    """Every calling code, at lengths that show it, up to E.164's longest: the
    prefix mask_phone shows is the one phonenumbers' whole parse finds."""
    for code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
        number = f"+{code}" + "4567890123456"[: length - len(str(code))]
        parsed = phonenumbers.parse(number, None).country_code
        assert mask_phone(number) == f"+{parsed}•••••{number[-4:]}", number


@pytest.mark.parametrize(
    ("base_url", "rebased"),
    [
        (
            "http://127.0.0.1:8999",
            "http://127.0.0.1:8999/2010-04-01/Accounts/AC1/Messages.json?a=1",
        ),
        ("https://gw.example/", "https://gw.example/2010-04-01/Accounts/AC1/Messages.json?a=1"),
        (
            "https://gw.example/tw",
            "https://gw.example/tw/2010-04-01/Accounts/AC1/Messages.json?a=1",
        ),
    ],
)
def test_rebase_url_keeps_path_and_query(base_url: str, rebased: str) -> None:
    url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json?a=1"
    assert rebase_url(url, base_url) == rebased


@pytest.mark.parametrize("base_url", ["api.twilio.com", "ftp://x", "http://", "http://h/?q=1"])
async def test_bad_api_base_url_fails_at_create(fake_twilio: FakeTwilio, base_url: str) -> None:
    with pytest.raises(ValueError, match="API base URL"):
        await make_gateway(fake_twilio, api_base_url=base_url)


def test_twilio_signature_validates_with_twilio_request_validator() -> None:
    url = "https://sms.example.org/twilio/sms"
    params = {"From": TO, "Body": "hi", "MessageSid": "SM" + "0" * 32}

    signature = twilio_signature("token", url, params)

    assert RequestValidator("token").validate(url, params, signature)
    assert not RequestValidator("other").validate(url, params, signature)


# Finding an SMS an ambiguous answer may have created (Twilio's Messages list)


async def test_a_500_after_creating_may_have_sent_and_the_list_finds_it(
    gateway: TwilioGateway, fake_twilio: FakeTwilio
) -> None:
    before = time.time() - 2  # Twilio dates messages to the second
    await gateway.send(TO, "[#chan] <bob> alice: hi")  # same body, earlier: not this one
    since = time.time() - 1
    fake_twilio.fail_after_create_next(500, 20500, "Internal Server Error")
    with pytest.raises(SmsError) as caught:
        await gateway.send(TO, "[#chan] <bob> alice: lunch?")
    assert caught.value.may_have_sent

    found = await gateway.find_sent(TO, "[#chan] <bob> alice: lunch?", since)
    created = fake_twilio.messages[-1]
    assert [s.sid for s in found] == [created.sid]
    assert await gateway.find_sent(TO, "[#chan] <bob> alice: other", before) == []
    assert await gateway.find_sent("+15551230009", "[#chan] <bob> alice: lunch?", before) == []
    both = await gateway.find_sent(TO, "[#chan] <bob> alice: hi", before)
    assert [s.sid for s in both] == [fake_twilio.messages[0].sid]
    assert await gateway.find_sent(TO, "[#chan] <bob> alice: lunch?", time.time() + 60) == []


async def test_the_list_during_an_outage_raises_sms_error(
    gateway: TwilioGateway, fake_twilio: FakeTwilio
) -> None:
    fake_twilio.unavailable_for(60)
    with pytest.raises(SmsError):
        await gateway.find_sent(TO, "hi", 0)
    with pytest.raises(SmsError) as caught:
        await gateway.send(TO, "hi")
    assert (caught.value.http_status, caught.value.may_have_sent) == (503, True)
    fake_twilio.available()
    assert await gateway.find_sent(TO, "hi", 0) == []
    assert fake_twilio.list_requests == 2


@pytest.mark.parametrize(
    ("fault", "may_have_sent"),
    [
        (lambda f: f.fail_next(429, 20429, "Too Many Requests"), False),  # retried as it is
        (lambda f: f.fail_next(400, 21211, "Invalid 'To'"), False),  # final
        (lambda f: f.fail_next(500, 20500, "Internal Server Error"), True),
        (lambda f: f.fail_next(503, 20503, "Service Unavailable"), True),
        (lambda f: f.drop_next(), True),  # reset after the request was written
        (lambda f: f.hang_next(), True),  # no answer in time
    ],
    ids=["429", "400", "500", "503", "reset", "timeout"],
)
async def test_which_failures_may_have_sent_the_sms(
    fake_twilio: FakeTwilio, fault: Callable[[FakeTwilio], None], may_have_sent: bool
) -> None:
    gateway = await make_gateway(fake_twilio, timeout=0.5)
    fault(fake_twilio)
    try:
        with pytest.raises(SmsError) as caught:
            await gateway.send(TO, "hi")
    finally:
        await gateway.aclose()
    assert caught.value.may_have_sent is may_have_sent


async def test_refused_connection_has_not_sent(fake_twilio: FakeTwilio) -> None:
    gateway = await make_gateway(fake_twilio, api_base_url=f"http://127.0.0.1:{free_port()}")
    try:
        with pytest.raises(SmsError) as caught:
            await gateway.send(TO, "hi")
        with pytest.raises(SmsError):
            await gateway.find_sent(TO, "hi", 0)
    finally:
        await gateway.aclose()
    assert not caught.value.may_have_sent


async def test_console_finds_nothing_to_look_up() -> None:
    assert await ConsoleGateway().find_sent(TO, "hi", 0) == []


async def test_fake_list_filters_by_date_sent_days(
    gateway: TwilioGateway, fake_twilio: FakeTwilio
) -> None:
    await gateway.send(TO, "hi")
    url = f"{fake_twilio.base_url}/2010-04-01/Accounts/{fake_twilio.account_sid}/Messages.json"
    today = datetime.now(UTC).date()
    token = base64.b64encode(f"{fake_twilio.account_sid}:{fake_twilio.auth_token}".encode())
    headers = {"Authorization": "Basic " + token.decode()}
    async with aiohttp.ClientSession(headers=headers) as http:

        async def listed(**query: str) -> int:
            async with http.get(url, params={"To": TO, **query}) as resp:
                return len((await resp.json())["messages"])

        assert await listed() == 1
        assert await listed(**{"DateSent>": str(today)}) == 1
        assert await listed(**{"DateSent>": str(today + timedelta(days=1))}) == 0
        assert await listed(**{"DateSent<": str(today - timedelta(days=1))}) == 0
        assert await listed(DateSent=f"{today}T00:00:00Z") == 1
