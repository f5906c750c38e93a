"""`highlightd sms test --to NUMBER`: one SMS through the configured backend, and what
Twilio answered, in words."""

from __future__ import annotations

from highlightd.admin import AdminError, UsageError
from highlightd.config import Settings
from highlightd.core.phones import mask_phone, parse_phone
from highlightd.sms.errors import hint, meaning
from highlightd.sms.gateway import ConsoleGateway, SmsError, SmsGateway, TwilioGateway

TEST_BODY = "highlightd test SMS: if you read this, sending works."


async def _gateway(settings: Settings) -> SmsGateway:
    twilio = settings.twilio
    if settings.sms.backend == "console" or twilio is None:
        return ConsoleGateway()
    try:
        return await TwilioGateway.create(
            account_sid=twilio.account_sid,
            auth_token=twilio.auth_token.get_secret_value(),
            from_number=twilio.from_number,
            api_base_url=str(twilio.api_base_url),
            timeout=twilio.timeout,
        )
    except ValueError as exc:
        raise AdminError(f"twilio.api_base_url: {exc}") from exc


async def sms_test(settings: Settings, to_text: str, body: str = TEST_BODY) -> list[str]:
    """Send one SMS; the lines to print. AdminError carries Twilio's refusal, explained."""
    try:
        to = parse_phone(to_text, settings.defaults.region)
    except ValueError as exc:
        raise UsageError(f"--to: {exc}") from exc
    gateway = await _gateway(settings)
    try:
        sent = await gateway.send(to, body)
    except SmsError as exc:
        raise AdminError(_refusal(exc, to)) from exc
    finally:
        await gateway.aclose()
    if isinstance(gateway, ConsoleGateway):
        return [
            f"console backend: printed, not sent (to {mask_phone(to)}): {body}",
            'set sms.backend = "twilio" and a [twilio] section to send for real',
        ]
    return [f"sent to {mask_phone(to)}: sid {sent.sid}, status {sent.status}"]


def _refusal(exc: SmsError, to: str) -> str:
    """Twilio's refusal (or silence) in words: the code's meaning and what to do."""
    if exc.code is None:
        return f"not sent to {mask_phone(to)}: {exc.message}"
    lines = [f"not sent to {mask_phone(to)}: {meaning(exc.code)} (HTTP {exc.http_status})"]
    if exc.detail:
        lines.append(f"  Twilio says: {exc.detail}")
    if tip := hint(exc.code):
        lines.append(f"  what to do: {tip}")
    return "\n".join(lines)
