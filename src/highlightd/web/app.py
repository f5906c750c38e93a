"""The HTTP side: Twilio's webhooks (signature checked), health and metrics."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial

from aiohttp import web
from prometheus_client import Counter
from twilio.twiml.messaging_response import MessagingResponse

from highlightd.core.phones import mask_phone
from highlightd.core.records import IncomingSms
from highlightd.infra.bus import REDIS_DOWN, Bus
from highlightd.infra.metrics import Metrics
from highlightd.infra.ratelog import ThrottledLog
from highlightd.sms.delivery import on_status
from highlightd.store import Store
from highlightd.web.forms import INCOMING, STATUS, Signer
from highlightd.web.inbound import SmsOutcome, handle_sms, is_answer, plain_answer
from highlightd.web.intake import Intake, Refused, read_form
from highlightd.web.outbox import Outbox

log = logging.getLogger(__name__)

# Never an SMS back from the webhook: an answer costs money, and strangers get nothing.
EMPTY_TWIML = str(MessagingResponse())
_EMPTY_BODY = EMPTY_TWIML.encode()
_XML = {"Content-Type": "application/xml; charset=utf-8"}  # copied by each Response


@dataclass(frozen=True, slots=True)
class WebDeps:
    store: Store
    bus: Bus
    outbox: Outbox
    metrics: Metrics
    network_names: list[str]
    # Each network's state: from this process when it runs IRC, else from the bus.
    network_state: Callable[[], Awaitable[dict[str, str]]]
    public_url: str | None
    auth_token: str | None
    max_body: int
    account_sid: str | None = None  # a form naming another account is refused
    body_timeout: float = 10.0
    extra_form_keys: frozenset[str] = field(default_factory=frozenset)


class Rejections:
    """Every refused request: counted by reason, and logged at most once a minute."""

    def __init__(self, metrics: Metrics, clock: Callable[[], float] = time.monotonic) -> None:
        self._counter = metrics.webhook_rejected
        self._by_reason: dict[str, Counter] = {}  # the labelled child, looked up once
        self.log = ThrottledLog(log, "web request(s) refused", clock=clock)

    def note(self, reason: str, detail: str | Callable[[], str]) -> None:
        if (child := self._by_reason.get(reason)) is None:
            child = self._by_reason[reason] = self._counter.labels(reason)
        child.inc()
        self.log.note(reason, detail)


DEPS = web.AppKey("deps", WebDeps)
INTAKE = web.AppKey("intake", Intake)
REJECTED = web.AppKey("rejected", Rejections)
# Signed SMS we drop (a stranger's, a copy): a replayed request could repeat them by
# the thousand, so they are summed up too; highlightd_sms_received_total counts each.
IGNORED = web.AppKey("ignored", ThrottledLog)
# highlightd_sms_received_total's child for each outcome, looked up once.
RECEIVED = web.AppKey("received", dict[str, Counter])
# MessageSids this process is handling now: a claim of one of them is not a leftover.
HANDLING = web.AppKey("handling", set[str])
# Which form each webhook takes (its keys and their shapes).
SCHEMAS = {"/twilio/sms": INCOMING, "/twilio/status": STATUS}


def make_app(deps: WebDeps) -> web.Application:
    app = web.Application(client_max_size=deps.max_body)
    app[DEPS] = deps
    signer = None
    if deps.auth_token and deps.public_url:
        signer = Signer(deps.auth_token, deps.public_url.rstrip("/"))
    app[INTAKE] = Intake(
        signer, deps.max_body, deps.body_timeout, deps.account_sid, deps.extra_form_keys
    )
    app[REJECTED] = Rejections(deps.metrics)
    app[IGNORED] = ThrottledLog(log, "SMS ignored", level=logging.INFO)
    app[HANDLING] = set()
    outcomes = ("accepted", "command", "duplicate", "unknown_sender")
    app[RECEIVED] = {outcome: deps.metrics.sms_received.labels(outcome) for outcome in outcomes}
    app.cleanup_ctx.append(_summaries)
    app.router.add_post("/twilio/sms", incoming_sms)
    app.router.add_post("/twilio/status", status_callback)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app


async def _summaries(app: web.Application) -> AsyncIterator[None]:
    """Say what was refused once a minute even when nothing more comes, and at the end."""
    logs = (app[REJECTED].log, app[IGNORED])

    async def tick() -> None:
        while True:
            await asyncio.sleep(5.0)
            for throttled in logs:
                throttled.flush()

    task = asyncio.create_task(tick())
    yield
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    for throttled in logs:
        throttled.flush(force=True)


def _twiml(message: str | None = None) -> web.Response:
    """Twilio's answer: empty, or one SMS back (it costs the same as any SMS)."""
    if message is None:
        return web.Response(body=_EMPTY_BODY, headers=_XML)
    response = MessagingResponse()
    response.message(message)
    return web.Response(text=str(response), content_type="application/xml")


async def _signed_form(request: web.Request) -> dict[str, str] | web.Response:
    """The form Twilio posted, once its signature and every field are proven.

    Else the refusal to answer with (counted): 403 unsigned, 413 too large, 408 too
    slow, 400 not exactly a form Twilio sends for this webhook, even when signed.
    Returned, not raised: aiohttp's way with a raised HTTPException costs some 30 us
    of CPU more, and a forged request should cost us little.
    """
    form = await read_form(request, request.app[INTAKE], SCHEMAS[request.path])
    if not isinstance(form, Refused):
        return form
    no = form

    def detail() -> str:  # only for the one refusal a log line names
        said = f"{no.reason} on {request.path} from {request.remote}"
        return f"{said}: {no.note}" if no.note else said

    request.app[REJECTED].note(no.reason, detail)
    return no.response


def _require(form: dict[str, str], *names: str) -> None:
    missing = [n for n in names if not form.get(n)]
    if missing:
        raise web.HTTPBadRequest(text=f"missing form fields: {', '.join(missing)}\n")


async def incoming_sms(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    form = await _signed_form(request)
    if isinstance(form, web.Response):
        return form
    phone, sid, body = form["From"], form["MessageSid"], form["Body"]
    handling = request.app[HANDLING]
    # Claimed before anything is done: of concurrent duplicates exactly one acts. A
    # claim that is not this process's own was left by one that died mid-way.
    if sid in handling:
        return _duplicate(request, sid)
    sms = IncomingSms(sid, phone, body, time.time())
    handling.add(sid)
    try:
        # The common case, an answer: looked up and stored in one job of the group
        # commit, committed before the 200. Commands are claimed, then handled.
        registered, taken = await deps.store.received.take_if_answer(
            sms, partial(is_answer, body), take_over=True, surely=plain_answer(body) is True
        )
        if not registered:
            request.app[RECEIVED]["unknown_sender"].inc()
            request.app[IGNORED].note("unknown_sender", f"SMS {sid} from {mask_phone(phone)}")
            return _twiml()
        if taken is None:
            outcome = await _command(deps.store, sms)
        else:
            outcome = SmsOutcome(relay=True) if taken else None
    finally:
        handling.discard(sid)
    if outcome is None:
        return _duplicate(request, sid)
    if not outcome.relay:
        # STOP, HELP, PAUSE and the like are for us and Twilio, not for IRC.
        request.app[RECEIVED]["command"].inc()
        log.info("SMS %s from %s is a command; not relayed", sid, mask_phone(phone))
        return _twiml(outcome.reply)
    request.app[RECEIVED]["accepted"].inc()
    # Stored first, then put on the bus: a Redis outage only delays it.
    deps.outbox.accepted(sms)
    return _twiml()


async def _command(store: Store, sms: IncomingSms) -> SmsOutcome | None:
    """Claim an SMS, then act on it; None when it was claimed before (a copy)."""
    if not await store.received.claim(sms, take_over=True):
        return None
    try:
        outcome = await handle_sms(store, sms.from_phone, sms.body, sms.received_at)
        if not outcome.relay:
            await store.received.handled(sms.sid, sms.received_at)
        else:
            await store.received.release(sms.sid)
    except Exception:
        await store.received.forget(sms.sid)  # Twilio's retry gets its chance
        raise
    return outcome


def _duplicate(request: web.Request, sid: str) -> web.Response:
    request.app[RECEIVED]["duplicate"].inc()
    request.app[IGNORED].note("duplicate", f"SMS {sid} seen before (a Twilio retry)")
    return _twiml()


async def status_callback(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    form = await _signed_form(request)
    if isinstance(form, web.Response):
        return form
    _require(form, "MessageSid", "MessageStatus")
    await on_status(
        deps.store,
        form["MessageSid"],
        form["MessageStatus"],
        form.get("ErrorCode"),
        form.get("To"),
        time.time(),
    )
    return web.Response(status=204)


async def healthz(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    try:
        await deps.bus.ping()
        redis_up = True
    except REDIS_DOWN:
        redis_up = False
    try:
        networks = await deps.network_state()
    except REDIS_DOWN:
        networks = {}
    states = {name: networks.get(name, "disconnected") for name in deps.network_names}
    connected = all(state == "connected" for state in states.values())
    ok = redis_up and bool(networks) == bool(deps.network_names) and connected
    body = {
        "status": "ok" if ok else "degraded",
        "redis": "up" if redis_up else "down",
        "networks": states,
    }
    return web.json_response(body, status=200 if ok else 503)


async def metrics(request: web.Request) -> web.Response:
    return web.Response(
        body=request.app[DEPS].metrics.render(),
        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
    )
