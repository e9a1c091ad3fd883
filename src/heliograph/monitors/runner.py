"""The monitor evaluator and the webhook sender: two asyncio tasks of the app, each working only while
its process holds the job's lease in the store, so that one process of all those on the database
evaluates each monitor and sends each delivery.

Every `interval_s` the evaluator measures each monitor over its window (Store.feedback_window) and
records the new status, with the delivery of a transition in the same write (Store.record_evaluation).
The sender polls for due deliveries and makes one attempt at each, concurrently, with a bounded time:
a slow receiver holds only the sender's task, never ingestion or the API. A killed process loses
nothing: a recorded transition's delivery is pending in the store until another attempt sends it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace

from heliograph.domain.filters import parse_filter
from heliograph.domain.monitors import (
    MAX_WINDOW_RECORDS,
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Monitor,
    MonitorStatus,
    delivery_id,
    measure,
    next_state,
    transition_kind,
)
from heliograph.domain.records import now_ms
from heliograph.domain.store import Store
from heliograph.domain.webhooks import WebhookPolicy, retry_at, webhook_body
from heliograph.errors import HeliographError
from heliograph.monitors.sender import WebhookClient

__all__ = ["EVALUATOR_LEASE", "SENDER_LEASE", "MonitorRunner", "evaluate"]

log = logging.getLogger(__name__)
EVALUATOR_LEASE = "monitor-evaluator"
SENDER_LEASE = "webhook-sender"
DUE_PER_TURN = 50  # deliveries attempted at once


async def evaluate(store: Store, monitor: Monitor, *, now: int, dashboard_base: str) -> bool:
    """Measure `monitor` now and record its status (with a transition's delivery); False when another
    evaluator recorded a transition first."""
    spec = monitor.spec
    filter = None if spec.filter is None else parse_filter(json.loads(spec.filter))
    records = await store.feedback_window(
        org_id=monitor.org_id,
        filter=filter,
        name=spec.feedback_name,
        start_ms=now - spec.window_s * 1000,
        end_ms=now + 1,
        limit=MAX_WINDOW_RECORDS,
    )
    measurement = measure(spec, records)
    state = next_state(spec, measurement)
    kind = transition_kind(monitor.status.state, state)
    transitions = monitor.status.transitions + (1 if kind else 0)
    status = MonitorStatus(state, measurement.value, measurement.rated, now, transitions)
    delivery = None
    if kind is not None:
        new_id = delivery_id(monitor.id, transitions)
        body = webhook_body(
            monitor,
            kind=kind,
            delivery_id=new_id,
            measurement=measurement,
            window_end_ms=now,
            dashboard_base=dashboard_base,
        )
        delivery = new_delivery(monitor, delivery_id=new_id, kind=kind, body=body, now=now)
    return await store.record_evaluation(
        org_id=monitor.org_id, monitor_id=monitor.id, status=status, delivery=delivery
    )


def new_delivery(monitor: Monitor, *, delivery_id: str, kind: DeliveryKind, body: str, now: int) -> Delivery:
    """A pending delivery, due now."""
    return Delivery(
        id=delivery_id,
        org_id=monitor.org_id,
        monitor_id=monitor.id,
        kind=kind,
        body=body,
        status="pending",
        attempts=0,
        next_attempt_at_ms=now,
        status_code=None,
        error=None,
        created_at_ms=now,
        updated_at_ms=now,
    )


class _Lease:
    """A job's lease as this process sees it: renewed in the store once half its time has run, so the
    holder writes a few times per lease instead of at every turn (on ClickHouse each write is a part)."""

    def __init__(self, store: Store, *, name: str, holder: str, ttl_ms: int) -> None:
        self._store, self._name, self._holder, self._ttl_ms = store, name, holder, ttl_ms
        self._held_until = 0  # by this process's clock, read before the store took the lease

    async def held(self) -> bool:
        now = now_ms()
        if now < self._held_until - self._ttl_ms // 2:
            return True
        if await self._store.take_lease(name=self._name, holder=self._holder, ttl_ms=self._ttl_ms):
            self._held_until = now + self._ttl_ms
            return True
        self._held_until = 0
        return False


class MonitorRunner:
    """Starts and stops the two tasks; `holder` names this process in the leases."""

    def __init__(
        self,
        store: Store,
        *,
        interval_s: float,
        backoff_s: float,
        timeout_s: float,
        policy: WebhookPolicy,
        dashboard_base: str,
    ) -> None:
        self._store = store
        self._interval_s = interval_s
        self._backoff_s = backoff_s
        self._timeout_s = timeout_s
        self._policy = policy
        self._dashboard_base = dashboard_base
        holder = uuid.uuid4().hex
        self._tasks: list[asyncio.Task[None]] = []
        self._client: WebhookClient | None = None
        # A lease outlives a few turns of its task; the sender's also outlives a whole turn of attempts.
        evaluator_ttl_ms = int(max(3 * interval_s, 1.0) * 1000)
        self._poll_s = min(interval_s, backoff_s, 1.0)
        sender_ttl_ms = int((2 * timeout_s + 3 * self._poll_s + 1) * 1000)
        self._evaluator = _Lease(store, name=EVALUATOR_LEASE, holder=holder, ttl_ms=evaluator_ttl_ms)
        self._sender = _Lease(store, name=SENDER_LEASE, holder=holder, ttl_ms=sender_ttl_ms)

    def start(self) -> None:
        self._client = WebhookClient(self._policy, timeout_s=self._timeout_s)
        self._tasks = [
            asyncio.create_task(
                self._every(self._interval_s, self._evaluate_turn), name="heliograph-monitors"
            ),
            asyncio.create_task(self._every(self._poll_s, self._send_turn), name="heliograph-webhooks"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._client is not None:
            await self._client.close()

    async def _every(self, period_s: float, turn: Callable[[], Awaitable[None]]) -> None:
        while True:
            try:
                await turn()
            except HeliographError as exc:  # the database is away: the next turn tries again
                log.warning("%s: %s", getattr(turn, "__name__", "monitor turn"), exc)
            except Exception:  # a bug in one turn must not end monitoring for the process's life
                log.exception("monitor turn failed")
            await asyncio.sleep(period_s)

    async def _evaluate_turn(self) -> None:
        if not await self._evaluator.held():
            return
        for monitor in await self._store.list_monitors(org_id=None):
            try:
                await evaluate(self._store, monitor, now=now_ms(), dashboard_base=self._dashboard_base)
            except HeliographError as exc:
                log.warning("monitor %s not evaluated: %s", monitor.id, exc)

    async def _send_turn(self) -> None:
        # Renewed with half its time left, which outlasts a turn of attempts (each under timeout_s).
        if not await self._sender.held():
            return
        due = await self._store.due_deliveries(now_ms=now_ms(), limit=DUE_PER_TURN)
        if due:
            await asyncio.gather(*(self._attempt(d) for d in due))

    async def _attempt(self, delivery: Delivery) -> None:
        assert self._client is not None
        monitor = await self._store.get_monitor(org_id=delivery.org_id, monitor_id=delivery.monitor_id)
        if monitor is None:
            return  # deleted with its deliveries
        attempt = await self._client.send(
            monitor.spec.webhook_url, secret=monitor.spec.webhook_secret, body=delivery.body
        )
        now = now_ms()
        attempts = delivery.attempts + 1
        again = (
            retry_at(
                attempts=attempts, now_ms=now, created_at_ms=delivery.created_at_ms, backoff_s=self._backoff_s
            )
            if attempt.retry
            else None
        )
        status: DeliveryStatus = "sent" if attempt.delivered else "pending" if again is not None else "failed"
        await self._store.update_delivery(
            delivery=replace(
                delivery,
                status=status,
                attempts=attempts,
                next_attempt_at_ms=again if again is not None else delivery.next_attempt_at_ms,
                status_code=attempt.status_code,
                error=attempt.error,
                updated_at_ms=now,
            )
        )
