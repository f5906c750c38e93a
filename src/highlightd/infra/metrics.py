"""Prometheus counters, in a registry of our own (no process-wide globals)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
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

    def render(self) -> bytes:
        return generate_latest(self.registry)
