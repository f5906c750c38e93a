"""Prometheus metrics, in a registry of our own (no process-wide globals).

Every labelled series exists from the start at 0 (one per configured network and
per known label value): dashboards and alerts then see 0, not "no data".
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)

from highlightd import __version__
from highlightd.core.policy import Reason

# The label values each counter is known to take, so that each starts at 0.
DECISIONS = (*(reason.value for reason in Reason), "digest")
SMS_RESULTS = ("sent", "failed")
RECEIVED_OUTCOMES = ("accepted", "command", "duplicate", "unknown_sender")
REPLY_OUTCOMES = ("said", "duplicate", "undeliverable")
# From a second to about ten minutes: Twilio's queue, a held digest, an IRC outage.
LATENCY_BUCKETS = (0.25, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600)


def _registry() -> CollectorRegistry:
    """A registry holding what every process exports: process, platform, GC, our version."""
    # `*_created` series double the output and no dashboard uses them. The switch is
    # the library's only one, and process-wide: every registry stops emitting them.
    disable_created_metrics()  # type: ignore[no-untyped-call]
    registry = CollectorRegistry()
    ProcessCollector(registry=registry)
    PlatformCollector(registry=registry)
    GCCollector(registry=registry)
    Info("highlightd_build", "The running highlightd", registry=registry).info(
        {"version": __version__}
    )
    return registry


def _latencies(registry: CollectorRegistry) -> tuple[Histogram, Histogram]:
    """The two end-to-end latencies: IRC line to SMS, SMS answer to IRC."""
    irc_to_sms = Histogram(
        "highlightd_irc_to_sms_seconds",
        "From the decision on an IRC line to Twilio accepting its SMS (highlights)",
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )
    sms_to_irc = Histogram(
        "highlightd_sms_to_irc_seconds",
        "From the webhook accepting an SMS answer to saying it on IRC",
        buckets=LATENCY_BUCKETS,
        registry=registry,
    )
    return irc_to_sms, sms_to_irc


class Metrics:
    def __init__(self, networks: Iterable[str] = ()) -> None:
        self.registry = _registry()
        self.highlights = Counter(
            "highlightd_highlights",
            "Mentions of registered users, by decision",
            ["network", "decision"],
            registry=self.registry,
        )
        self.sms_sent = Counter(
            "highlightd_sms_sent", "SMS sends, by result", ["result"], registry=self.registry
        )
        self.sms_waiting = Gauge(
            "highlightd_sms_waiting",
            "SMS decided and not sent yet (in the outbox)",
            registry=self.registry,
        )
        self.sms_received = Counter(
            "highlightd_sms_received",
            "SMS received by the webhook, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.webhook_rejected = Counter(
            "highlightd_webhook_rejected",
            "Web requests and connections refused, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.replies = Counter(
            "highlightd_replies",
            "SMS answers taken off the bus, by outcome",
            ["outcome"],
            registry=self.registry,
        )
        self.connected = Gauge(
            "highlightd_irc_connected",
            "1 while the network is connected",
            ["network"],
            registry=self.registry,
        )
        self.irc_to_sms, self.sms_to_irc = _latencies(self.registry)
        self._zero(list(networks))

    def _zero(self, networks: list[str]) -> None:
        for network in networks:
            self.connected.labels(network)
            for decision in DECISIONS:
                self.highlights.labels(network, decision)
        for result in SMS_RESULTS:
            self.sms_sent.labels(result)
        for outcome in RECEIVED_OUTCOMES:
            self.sms_received.labels(outcome)
        for outcome in REPLY_OUTCOMES:
            self.replies.labels(outcome)

    def observe_irc_to_sms(self, line_at: float, sent_at: float) -> None:
        """An SMS went out for a line said at line_at (both wall-clock seconds)."""
        self.irc_to_sms.observe(max(0.0, sent_at - line_at))

    def observe_sms_to_irc(self, received_at: float, said_at: float) -> None:
        """An answer the webhook accepted at received_at was said on IRC at said_at."""
        if received_at > 0:  # 0: an entry written before the field existed
            self.sms_to_irc.observe(max(0.0, said_at - received_at))

    def render(self) -> bytes:
        return generate_latest(self.registry)
