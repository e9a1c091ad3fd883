"""Monitor webhooks as values: the body, its signature, where it may go, and when it is tried again.

The signature is Stripe's scheme: `Heliograph-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
"<t>.<body>" with the monitor's webhook secret>`, so a receiver checks both the sender and the age.
Targets follow the gateway's address rule (`heliograph.netguard`): internal addresses are refused
unless HELIOGRAPH_WEBHOOK_ALLOW_PRIVATE is true, and with HELIOGRAPH_WEBHOOK_ALLOWED_HOSTS set, every
host not listed is refused before its name is resolved.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit

from heliograph.domain.monitors import DeliveryKind, Measurement, Monitor
from heliograph.errors import InvalidInput
from heliograph.netguard import AddressPolicy, RefusedAddress

__all__ = [
    "RETRY_SPAN_BACKOFFS",
    "SIGNATURE_HEADER",
    "WebhookPolicy",
    "retry_at",
    "sign",
    "webhook_body",
]

SIGNATURE_HEADER = "Heliograph-Signature"
# A delivery is retried for this many times the backoff base (1 hour with the default 30 s), then failed.
RETRY_SPAN_BACKOFFS = 120
_EVERYWHERE = AddressPolicy(
    allowed_networks=(ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))
)


def sign(secret: str, body: str, *, timestamp: int) -> str:
    """The value of the signature header for `body` sent at `timestamp` (unix seconds)."""
    mac = hmac.new(secret.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def webhook_body(
    monitor: Monitor,
    *,
    kind: DeliveryKind,
    delivery_id: str,
    measurement: Measurement,
    window_end_ms: int,
    dashboard_base: str,
) -> str:
    """The JSON a delivery sends (the same bytes on every attempt)."""
    spec = monitor.spec
    base = dashboard_base.rstrip("/")
    samples = list(measurement.sample_session_ids)
    return json.dumps(
        {
            "delivery_id": delivery_id,
            "monitor_id": monitor.id,
            "monitor_name": spec.name,
            "state": kind,
            "feedback_name": spec.feedback_name,
            "metric": spec.metric,
            "operator": spec.operator,
            "value": measurement.value,
            "threshold": spec.threshold,
            "rated": measurement.rated,
            "min_rated": spec.min_rated,
            "window_start": _iso(window_end_ms - spec.window_s * 1000),
            "window_end": _iso(window_end_ms),
            "sample_session_ids": samples,
            "sample_sessions": [
                {"session_id": s, "dashboard_url": f"{base}/dashboard/sessions/{quote(s, safe='')}"}
                for s in samples
            ],
        },
        separators=(",", ":"),
    )


def retry_at(*, attempts: int, now_ms: int, created_at_ms: int, backoff_s: float) -> int | None:
    """When to try a delivery again after its `attempts`-th failed attempt (the waits double from
    `backoff_s`); None once that would fall past RETRY_SPAN_BACKOFFS backoffs after its creation."""
    at = now_ms + int(backoff_s * 1000 * 2 ** (attempts - 1))
    return None if at > created_at_ms + int(RETRY_SPAN_BACKOFFS * backoff_s * 1000) else at


@dataclass(frozen=True, slots=True)
class WebhookPolicy:
    """Where webhooks may go: `listed` (when set) names the only hosts; `addresses` rules each address a
    host resolves to."""

    addresses: AddressPolicy
    listed: AddressPolicy | None = None

    @classmethod
    def from_settings(cls, *, allow_private: bool, allowed_hosts: str | None) -> WebhookPolicy:
        listed = (
            AddressPolicy.from_setting(allowed_hosts) if allowed_hosts and allowed_hosts.strip() else None
        )
        addresses = _EVERYWHERE if allow_private else (listed or AddressPolicy())
        return cls(addresses, listed)

    def check_host(self, host: str) -> None:
        """Raise RefusedAddress for a host refused before any resolution: one not listed, or an address
        literal the address rule refuses."""
        name = host.lower().rstrip(".").strip("[]")
        try:
            literal: ipaddress.IPv4Address | ipaddress.IPv6Address | None = ipaddress.ip_address(name)
        except ValueError:
            literal = None
        if self.listed is not None:
            by_name = name in self.listed.allowed_hosts
            by_network = literal is not None and any(literal in n for n in self.listed.allowed_networks)
            if not (by_name or by_network):
                raise RefusedAddress(f"{name} is not in HELIOGRAPH_WEBHOOK_ALLOWED_HOSTS")
            return
        if literal is not None and not self.addresses.permits(name, literal):
            raise RefusedAddress(
                f"{name} is an internal address (HELIOGRAPH_WEBHOOK_ALLOW_PRIVATE=true allows it)"
            )

    def check_url(self, url: str) -> None:
        """InvalidInput unless `url` is an http(s) URL whose host this policy does not refuse outright."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInput(
                "Invalid webhook_url: expected an http(s) URL such as https://hooks.example.com/x"
            )
        try:
            self.check_host(parts.hostname)
        except RefusedAddress as exc:
            raise InvalidInput(f"Invalid webhook_url: {exc}") from exc
