"""What the API does with monitors: check a spec (its filter, its webhook target), find an organization's
monitor or answer not found, and queue a test delivery."""

from __future__ import annotations

import json
import uuid

from heliograph.domain.filters import parse_filter
from heliograph.domain.monitors import Delivery, Measurement, Monitor, MonitorSpec
from heliograph.domain.records import now_ms
from heliograph.domain.store import Store
from heliograph.domain.webhooks import WebhookPolicy, webhook_body
from heliograph.errors import NotFound

__all__ = ["MAX_DELIVERIES", "checked_spec", "find_monitor", "queue_test_delivery", "stored_filter"]

MAX_DELIVERIES = 1_000  # most deliveries one list answers


def stored_filter(raw: object) -> str | None:
    """The filter as stored (JSON text), None for none (null, "all" or {}); InvalidInput when the
    parser rejects it."""
    if raw is None or parse_filter(raw) is None:
        return None
    return json.dumps(raw, separators=(",", ":"))


def checked_spec(spec: MonitorSpec, policy: WebhookPolicy) -> MonitorSpec:
    """`spec` if its webhook target is not refused outright (InvalidInput otherwise)."""
    policy.check_url(spec.webhook_url)
    return spec


async def find_monitor(store: Store, *, org_id: str, monitor_id: str) -> Monitor:
    """The organization's monitor; NotFound for any other id (another organization's included)."""
    monitor = await store.get_monitor(org_id=org_id, monitor_id=monitor_id)
    if monitor is None:
        raise NotFound(f"No monitor {monitor_id[:64]!r} in this organization")
    return monitor


async def queue_test_delivery(store: Store, monitor: Monitor, *, dashboard_base: str) -> Delivery:
    """A `test` delivery with the monitor's last status, due now (the sender makes it)."""
    now = now_ms()
    status = monitor.status
    new_id = str(uuid.uuid4())
    body = webhook_body(
        monitor,
        kind="test",
        delivery_id=new_id,
        measurement=Measurement(status.value, status.rated, ()),
        window_end_ms=now,
        dashboard_base=dashboard_base,
    )
    delivery = Delivery(
        new_id, monitor.org_id, monitor.id, "test", body, "pending", 0, now, None, None, now, now
    )
    await store.add_delivery(delivery=delivery)
    return delivery
