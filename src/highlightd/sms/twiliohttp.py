"""Twilio's HTTP: its aiohttp client made usable (base URL, timeout), and the one request
on the hot path, creating a Message, made directly.

twilio 9.13's `messages.create_async` builds a dict of 27 optional fields, the
headers (`platform.system()` and friends) and the URL on every call, encodes the
form through aiohttp's FormData, and parses the answer into a `MessageInstance`
(three RFC 2822 dates): the largest single cost per mention. `MessagePoster`
sends the same request (same URL, headers, form, timeouts) from parts made once, and
reads the sid and status from the JSON; errors are still twilio's own exceptions,
made by twilio's `Version.exception` from the same answer.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, urlencode, urlsplit, urlunsplit

import aiohttp
from twilio.base.version import Version
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.http.response import Response
from twilio.rest import Client

logger = logging.getLogger(__name__)

CONNECT_LIMIT = 5.0  # seconds to reach Twilio (name lookup included), within the timeout


def rebase_url(url: str, base_url: str) -> str:
    """Point a twilio.com URL at `base_url` (http(s)://host[:port][/prefix]); keep path, query."""
    base = urlsplit(base_url)
    if base.scheme not in ("http", "https") or not base.netloc or base.query or base.fragment:
        raise ValueError(f"API base URL must be http(s)://host[:port][/path], got {base_url!r}")
    parts = urlsplit(url)
    path = base.path.rstrip("/") + parts.path
    return urlunsplit((base.scheme, base.netloc, path, parts.query, ""))


def client_timeout(total: float) -> aiohttp.ClientTimeout:
    # A connection not made within CONNECT_LIMIT sent nothing: fail fast and retry,
    # rather than after the whole timeout (an offline or firewalled host).
    return aiohttp.ClientTimeout(total=total, connect=min(total, CONNECT_LIMIT), sock_connect=total)


def basic_auth(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


class RebasedHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """Twilio's aiohttp client with a base URL, a real timeout, and no deprecated BasicAuth.

    twilio 9.13's client ignores its timeout, has no base-URL option, and passes
    `auth=` to aiohttp (a DeprecationWarning with aiohttp 3.14); this replaces its
    request() wholesale. It never retries: a retried POST can send an SMS twice.
    """

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__(pool_connections=False, timeout=timeout)
        rebase_url("https://api.twilio.com/", base_url)  # a bad URL fails now, not at the first SMS
        self.base_url = base_url
        self.session = aiohttp.ClientSession()

    async def request(
        self,
        method: str,
        uri: str,
        params: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (twilio's signature)
        allow_redirects: bool = False,
    ) -> Response:
        request_headers = dict(headers or {})
        if auth is not None:
            request_headers["Authorization"] = basic_auth(*auth)
        async with self.session.request(
            method.upper(),
            rebase_url(uri, self.base_url),
            params=params,
            data=data,
            headers=request_headers,
            timeout=client_timeout(timeout or self.timeout),
            allow_redirects=allow_redirects,
        ) as response:
            text = await response.text()
        logger.debug("Twilio API %s %s -> %d", method.upper(), response.url.path, response.status)
        return Response(response.status, text, response.headers)

    async def close(self) -> None:
        await self.session.close()


@dataclass(frozen=True)
class Created:
    """What a created Message's answer says that we use."""

    sid: object
    status: object


class MessagePoster:
    """POST .../Messages.json as `messages.create_async` would, from parts made once."""

    def __init__(
        self, client: Client, http: RebasedHttpClient, from_number: str, status_callback: str | None
    ) -> None:
        self._http = http
        self._uri = client.api.v2010.account.messages._uri
        self._version: Version = client.api.v2010
        url = client.get_hostname(self._version.absolute_url(self._uri))
        self._url = rebase_url(url, http.base_url)
        form = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        headers = client.get_headers("POST", form)
        headers["Authorization"] = basic_auth(*client.auth)
        self._headers = headers
        fixed = {"From": from_number}
        if status_callback is not None:
            fixed["StatusCallback"] = status_callback
        self._form = urlencode(fixed)  # what twilio's client and aiohttp's FormData make
        self._timeout = client_timeout(http.timeout)

    async def create(self, to: str, body: str) -> Created:
        """Create the message; twilio's TwilioRestException (or TwilioServiceException)
        for an error answer, ValueError/AttributeError for one that cannot be read."""
        data = f"To={quote_plus(to)}&{self._form}&Body={quote_plus(body)}".encode()
        async with self._http.session.post(
            self._url, data=data, headers=self._headers, timeout=self._timeout,
            allow_redirects=False,
        ) as response:  # fmt: skip
            status = response.status
            text = await response.text()
        if not 200 <= status < 300:
            answer = Response(status, text, response.headers)
            raise self._version.exception("POST", self._uri, answer, "Unable to create record")
        payload = json.loads(text) if text else {}
        if not isinstance(payload, dict):
            raise AttributeError(f"a {type(payload).__name__}, not a Message")
        return Created(payload.get("sid"), payload.get("status"))
