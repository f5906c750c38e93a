"""Answering by SMS without a phone: a POST signed the way Twilio signs it, to the demo's
webhook. `highlightd demo reply TEXT` finds the running demo through its state file."""

from __future__ import annotations

import json
import secrets
import shlex
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from twilio.request_validator import RequestValidator

STATE_FILE = "demo.json"
SIGNATURE_HEADER = "X-Twilio-Signature"


@dataclass(frozen=True, slots=True)
class DemoState:
    """What another process needs to answer as the demo's user: where, and how to sign."""

    pid: int
    irc_port: int
    web_port: int
    auth_token: str  # generated for this demo; signs its webhook calls
    account_sid: str
    phone: str  # the demo user's (fictional) phone
    from_number: str  # "our" Twilio number

    @property
    def webhook(self) -> str:
        return f"http://127.0.0.1:{self.web_port}/twilio/sms"

    def save(self, folder: Path) -> None:
        path = folder / STATE_FILE
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")
        path.chmod(0o600)  # it holds the token

    @classmethod
    def load(cls, folder: Path) -> DemoState | None:
        try:
            return cls(**json.loads((folder / STATE_FILE).read_text(encoding="utf-8")))
        except (OSError, ValueError, TypeError):
            return None


def sms_form(state: DemoState, body: str, sid: str | None = None) -> dict[str, str]:
    """The form Twilio posts for an incoming SMS (the fields highlightd reads, and a few more)."""
    sid = sid or "SM" + secrets.token_hex(16)
    return {
        "AccountSid": state.account_sid,
        "ApiVersion": "2010-04-01",
        "Body": body,
        "From": state.phone,
        "MessageSid": sid,
        "NumMedia": "0",
        "NumSegments": "1",
        "SmsMessageSid": sid,
        "SmsSid": sid,
        "SmsStatus": "received",
        "To": state.from_number,
    }


def signature(state: DemoState, form: dict[str, str]) -> str:
    value: str = RequestValidator(state.auth_token).compute_signature(state.webhook, form)
    return value


async def post_sms(state: DemoState, body: str) -> int:
    """POST body as the demo user's SMS; the webhook's HTTP status."""
    form = sms_form(state, body)
    headers = {SIGNATURE_HEADER: signature(state, form)}
    timeout = aiohttp.ClientTimeout(total=10)
    async with (
        aiohttp.ClientSession(timeout=timeout) as http,
        http.post(state.webhook, data=form, headers=headers) as resp,
    ):
        await resp.read()
        return resp.status


def curl_command(state: DemoState, body: str) -> str:
    """A curl command that posts body once (Twilio's MessageSid makes a second time a no-op)."""
    form = sms_form(state, body)
    return (
        f"curl -s -o /dev/null -w '%{{http_code}}\\n' {state.webhook} "
        f"-H {shlex.quote(SIGNATURE_HEADER + ': ' + signature(state, form))} "
        f"--data {shlex.quote(urlencode(form))}"
    )
