"""The HTTP side: Twilio's webhooks (signature checked), health and metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from highlightd.core.phones import mask_phone
from highlightd.core.records import IncomingSms
from highlightd.infra.bus import REDIS_DOWN, Bus
from highlightd.infra.metrics import Metrics
from highlightd.sms.delivery import on_status
from highlightd.store import Store
from highlightd.web.inbound import handle_sms
from highlightd.web.outbox import Outbox

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Twilio-Signature"
# Never an SMS back from the webhook: an answer costs money, and strangers get nothing.
EMPTY_TWIML = str(MessagingResponse())


@dataclass(frozen=True, slots=True)
class WebDeps:
    store: Store
    bus: Bus
    outbox: Outbox
    metrics: Metrics
    network_names: list[str]
    # Each network's state: from this process when it runs IRC, else from the bus.
    network_state: Callable[[], Awaitable[dict[str, bool]]]
    public_url: str | None
    auth_token: str | None
    max_body: int


DEPS = web.AppKey("deps", WebDeps)


def make_app(deps: WebDeps) -> web.Application:
    app = web.Application(client_max_size=deps.max_body)
    app[DEPS] = deps
    app.router.add_post("/twilio/sms", incoming_sms)
    app.router.add_post("/twilio/status", status_callback)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app


def _twiml(message: str | None = None) -> web.Response:
    """Twilio's answer: empty, or one SMS back (it costs the same as any SMS)."""
    if message is None:
        return web.Response(text=EMPTY_TWIML, content_type="application/xml")
    response = MessagingResponse()
    response.message(message)
    return web.Response(text=str(response), content_type="application/xml")


async def _signed_form(request: web.Request) -> dict[str, str]:
    """The form Twilio posted, once its signature is proven; 403/413/400 otherwise."""
    deps = request.app[DEPS]
    signature = request.headers.get(SIGNATURE_HEADER)
    if not signature or not deps.auth_token or not deps.public_url:
        if not deps.auth_token or not deps.public_url:
            log.warning("refusing %s: set twilio.auth_token and web.public_url", request.path)
        raise web.HTTPForbidden(text="invalid signature\n")
    if request.content_length is not None and request.content_length > deps.max_body:
        raise web.HTTPRequestEntityTooLarge(
            max_size=deps.max_body, actual_size=request.content_length
        )
    form = await request.post()  # raises 413 past client_max_size
    params = {k: v for k, v in form.items() if isinstance(v, str)}
    if len(params) != len(form):
        raise web.HTTPBadRequest(text="file uploads are not expected\n")
    # Twilio signs the URL it called: ours as the public sees it, never request.url
    # (behind a proxy the scheme and host differ).
    url = deps.public_url.rstrip("/") + request.path_qs
    if not RequestValidator(deps.auth_token).validate(url, params, signature):
        log.warning("bad Twilio signature on %s", request.path)
        raise web.HTTPForbidden(text="invalid signature\n")
    return params


def _require(form: dict[str, str], *names: str) -> None:
    missing = [n for n in names if not form.get(n)]
    if missing:
        raise web.HTTPBadRequest(text=f"missing form fields: {', '.join(missing)}\n")


async def incoming_sms(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    form = await _signed_form(request)
    _require(form, "From", "MessageSid")
    if "Body" not in form:
        raise web.HTTPBadRequest(text="missing form fields: Body\n")
    phone, sid, body = form["From"], form["MessageSid"], form["Body"]
    if not await deps.store.users.by_phone(phone):
        deps.metrics.sms_received.labels("unknown_sender").inc()
        log.info("SMS %s from unregistered %s ignored", sid, mask_phone(phone))
        return _twiml()
    if await deps.store.received.seen(sid):
        deps.metrics.sms_received.labels("duplicate").inc()
        log.info("SMS %s seen before (a Twilio retry); dropped", sid)
        return _twiml()
    now = time.time()
    outcome = await handle_sms(deps.store, phone, body, now)
    await deps.store.received.accept(IncomingSms(sid, phone, body, now), relay=outcome.relay)
    if not outcome.relay:
        # STOP, HELP, PAUSE and the like are for us and Twilio, not for IRC.
        deps.metrics.sms_received.labels("command").inc()
        log.info("SMS %s from %s is a command; not relayed", sid, mask_phone(phone))
        return _twiml(outcome.reply)
    deps.metrics.sms_received.labels("accepted").inc()
    # Stored first, then put on the bus: a Redis outage only delays it.
    deps.outbox.wake()
    return _twiml()


async def status_callback(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    form = await _signed_form(request)
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
    ok = redis_up and bool(networks) == bool(deps.network_names) and all(networks.values())
    body = {
        "status": "ok" if ok else "degraded",
        "redis": "up" if redis_up else "down",
        "networks": {
            name: "connected" if networks.get(name) else "disconnected"
            for name in deps.network_names
        },
    }
    return web.json_response(body, status=200 if ok else 503)


async def metrics(request: web.Request) -> web.Response:
    return web.Response(
        body=request.app[DEPS].metrics.render(),
        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
    )
