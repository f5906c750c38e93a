"""SMS gateways: Twilio's REST API, or the console for trying the daemon without an account."""

from __future__ import annotations

import itertools
import logging
from dataclasses import dataclass
from typing import Protocol

import aiohttp
from twilio.base.exceptions import TwilioException, TwilioRestException, TwilioServiceException
from twilio.rest import Client

from highlightd.core.phones import mask_phone
from highlightd.core.smstext import segments
from highlightd.sms.errors import meaning
from highlightd.sms.twiliohttp import MessagePoster, RebasedHttpClient, rebase_url

__all__ = ["ConsoleGateway", "SentSms", "SmsError", "SmsGateway", "TwilioGateway", "rebase_url"]

logger = logging.getLogger(__name__)

LOOKUP_LIMIT = 50  # newest messages read to find one an unclear attempt may have created


@dataclass(frozen=True)
class SentSms:
    """An SMS the gateway accepted."""

    sid: str
    status: str  # Twilio's status at creation ("queued", "accepted", ...), "printed" for console


class SmsError(Exception):
    """A send that failed; .retryable says whether sending again cannot duplicate the SMS."""

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        http_status: int | None = None,
        retryable: bool = False,
        detail: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status
        self.retryable = retryable
        self.detail = detail  # Twilio's own words, when it answered

    @property
    def may_have_sent(self) -> bool:
        """Whether the SMS may exist anyway: a 5xx, no answer, a broken or unreadable one.

        Only a 4xx proves that nothing was created; anything else is looked up
        (SmsGateway.find_sent) before the SMS is sent again.
        """
        if self.retryable:
            return False
        return self.http_status is None or not 400 <= self.http_status < 500


class SmsGateway(Protocol):
    """Where the notifier sends SMS."""

    async def send(self, to: str, body: str) -> SentSms: ...

    async def find_sent(self, to: str, body: str, since: float) -> list[SentSms]:
        """SMS of ours to `to` with this body, created at or after `since` (oldest first).

        Raises SmsError when the gateway cannot say.
        """
        ...

    async def aclose(self) -> None: ...


class ConsoleGateway:
    """The documented "console" backend: logs each SMS instead of sending it."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)

    async def send(self, to: str, body: str) -> SentSms:
        masked = mask_phone(to)
        # The extra fields let a handler (`highlightd demo`) show the SMS without parsing.
        extra = {"sms_to": masked, "sms_body": body}
        logger.info("SMS to %s (%d segment(s)): %s", masked, segments(body), body, extra=extra)
        return SentSms(sid=f"console-{next(self._counter)}", status="printed")

    async def find_sent(self, to: str, body: str, since: float) -> list[SentSms]:
        return []  # a printed SMS never fails in a way that needs looking up

    async def aclose(self) -> None:
        return None


class TwilioGateway:
    """Sends SMS through Twilio's REST API (or a Twilio-compatible one at `api_base_url`)."""

    def __init__(
        self,
        client: Client,
        http_client: RebasedHttpClient,
        from_number: str,
        status_callback: str | None,
    ) -> None:
        self._client = client
        self._http = http_client
        self._from = from_number
        # Creating a message, the request of every SMS, skips twilio's request machinery.
        self._poster = MessagePoster(client, http_client, from_number, status_callback)

    @classmethod
    async def create(
        cls,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str,
        api_base_url: str = "https://api.twilio.com",
        status_callback: str | None = None,
        timeout: float = 15.0,  # noqa: ASYNC109 (a setting stored for every request)
    ) -> TwilioGateway:
        """Build the gateway; async because its HTTP session must belong to the running loop."""
        http_client = RebasedHttpClient(api_base_url, timeout)
        client = Client(account_sid, auth_token, http_client=http_client)
        return cls(client, http_client, from_number, status_callback)

    async def send(self, to: str, body: str) -> SentSms:
        """Create the message; raise SmsError saying whether a retry is safe."""
        try:
            message = await self._poster.create(to, body)
        except (TwilioRestException, TwilioServiceException) as e:
            raise SmsError(
                f"Twilio refused the SMS (HTTP {e.status}, {meaning(e.code)}): {_rest_message(e)}",
                code=e.code,
                http_status=e.status,
                retryable=e.status == 429,  # rate limited: the message was not created
                detail=_rest_message(e),
            ) from e
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as e:
            # No connection was made, so nothing was sent.
            raise SmsError(f"Twilio API unreachable: {e}", retryable=True) from e
        except TimeoutError as e:
            raise SmsError(
                f"Twilio API gave no answer within {self._http.timeout} s;"
                " the SMS may have been sent"
            ) from e
        except aiohttp.ClientError as e:
            raise SmsError(
                f"Twilio API connection failed ({type(e).__name__}: {e});"
                " the SMS may have been sent"
            ) from e
        except (TwilioException, ValueError, TypeError, KeyError, AttributeError) as e:
            # An answer that is not a Message (invalid UTF-8, not JSON, a list, a number
            # where a date goes): twilio's parser fails in any of these ways. The
            # message may have been created all the same, so this is not retryable.
            raise SmsError(f"Unreadable Twilio API answer ({type(e).__name__}: {e})") from e
        sid, status = message.sid, message.status
        if not isinstance(sid, str) or not sid:
            raise SmsError("Twilio API answer has no message sid")
        if logger.isEnabledFor(logging.DEBUG):  # masking parses the number: not for nothing
            logger.debug("SMS to %s accepted: sid=%s status=%s", mask_phone(to), sid, status)
        return SentSms(sid=sid, status=str(status))

    async def check(self) -> str:
        """Fetch our Account resource: its status ("active"), or SmsError (.http_status 401)."""
        try:
            account = await self._client.api.v2010.account.fetch_async()
        except (TwilioRestException, TwilioServiceException) as e:
            raise SmsError(
                f"Twilio refused the credentials (HTTP {e.status}, {meaning(e.code)})",
                code=e.code,
                http_status=e.status,
            ) from e
        except (aiohttp.ClientError, TimeoutError, TwilioException, ValueError) as e:
            raise SmsError(
                f"Twilio API unreachable: {type(e).__name__}: {e}", retryable=True
            ) from e
        return str(account.status)

    async def verify(self) -> None:
        """At start-up: raise SmsError when Twilio refuses our credentials; a network
        failure is only a warning (Twilio may be unreachable for a moment)."""
        try:
            status = await self.check()
        except SmsError as exc:
            if exc.retryable or exc.http_status is None or exc.http_status >= 500:
                logger.warning("could not check the Twilio credentials (%s); going on", exc)
                return
            raise SmsError(
                f"{exc}: check twilio.account_sid and twilio.auth_token", code=exc.code
            ) from exc
        if status != "active":
            logger.warning("the Twilio account is %s, not active: SMS will fail", status)
        else:
            logger.debug("Twilio credentials accepted")

    async def find_sent(self, to: str, body: str, since: float) -> list[SentSms]:
        """Look for an SMS an ambiguous attempt may have created, in Twilio's Messages list.

        Not filtered by DateSent: Twilio fills date_sent only once the message left
        its queue, and filters it by whole days. The newest messages to this phone
        from our number are matched on Body and date_created instead.
        """
        try:
            messages = await self._client.messages.list_async(
                to=to, from_=self._from, limit=LOOKUP_LIMIT
            )
            found = [
                SentSms(sid=m.sid, status=str(m.status))
                for m in messages
                if m.body == body
                and isinstance(m.sid, str)
                and (m.date_created is None or m.date_created.timestamp() >= since)
            ]
        # Whatever the list's failure, the answer is "cannot say yet".
        except (TwilioException, aiohttp.ClientError, TimeoutError, ValueError) as e:
            raise SmsError(f"Twilio's Messages list unavailable ({type(e).__name__}: {e})") from e
        except (KeyError, TypeError, AttributeError) as e:
            raise SmsError(f"Unreadable Twilio Messages list ({type(e).__name__}: {e})") from e
        return found[::-1]  # Twilio lists the newest first

    async def aclose(self) -> None:
        """Close the HTTP session."""
        await self._http.close()


def _rest_message(e: TwilioRestException | TwilioServiceException) -> str:
    if isinstance(e, TwilioRestException):
        return str(e.msg)
    return str(e.detail or e.title)
