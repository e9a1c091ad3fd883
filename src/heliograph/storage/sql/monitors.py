"""Feedback monitors, their webhook deliveries and the leases of their jobs on SQLite and PostgreSQL.

A monitor's status and the delivery of its transition are written in one transaction, and only where
the stored transition count is the one the evaluator read, so two evaluators (or one that restarted)
store one transition and one delivery. A lease is taken by one conditional UPDATE (or an INSERT of a
name never leased), which the database serializes: SQLite has one writer, and PostgreSQL re-checks
the UPDATE's condition on the row it locked.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from heliograph.domain.filters import FilterNode
from heliograph.domain.monitors import (
    Delivery,
    DeliveryKind,
    DeliveryStatus,
    Monitor,
    MonitorMetric,
    MonitorOperator,
    MonitorSpec,
    MonitorState,
    MonitorStatus,
    WindowRecord,
)
from heliograph.domain.records import now_ms
from heliograph.domain.sessions import SessionQuery
from heliograph.storage.sql.dialect import Dialect, insert
from heliograph.storage.sql.feedback import record_value
from heliograph.storage.sql.schema import feedback_records, leases, monitor_deliveries, monitors, sessions

__all__ = ["SqlMonitors"]

_SPEC_COLUMNS = (
    "name",
    "feedback_name",
    "metric",
    "operator",
    "threshold",
    "window_s",
    "min_rated",
    "filter",
    "webhook_url",
    "webhook_secret",
)


def _spec_values(spec: MonitorSpec) -> dict[str, Any]:
    return {name: getattr(spec, name) for name in _SPEC_COLUMNS}


def _monitor_values(monitor: Monitor) -> dict[str, Any]:
    status = monitor.status
    return {
        "id": monitor.id,
        "org_id": monitor.org_id,
        **_spec_values(monitor.spec),
        "created_at_ms": monitor.created_at_ms,
        "updated_at_ms": monitor.updated_at_ms,
        "state": status.state,
        "value": status.value,
        "rated": status.rated,
        "evaluated_at_ms": status.evaluated_at_ms,
        "transitions": status.transitions,
    }


def _monitor(row: Any) -> Monitor:
    spec = MonitorSpec(
        name=row.name,
        feedback_name=row.feedback_name,
        metric=cast(MonitorMetric, row.metric),
        operator=cast(MonitorOperator, row.operator),
        threshold=float(row.threshold),
        window_s=int(row.window_s),
        min_rated=int(row.min_rated),
        filter=row.filter,
        webhook_url=row.webhook_url,
        webhook_secret=row.webhook_secret,
    )
    status = MonitorStatus(
        state=cast(MonitorState, row.state),
        value=row.value,
        rated=int(row.rated),
        evaluated_at_ms=row.evaluated_at_ms,
        transitions=int(row.transitions),
    )
    return Monitor(row.id, row.org_id, spec, int(row.created_at_ms), int(row.updated_at_ms), status)


def _delivery(row: Any) -> Delivery:
    return Delivery(
        id=row.id,
        org_id=row.org_id,
        monitor_id=row.monitor_id,
        kind=cast(DeliveryKind, row.kind),
        body=row.body,
        status=cast(DeliveryStatus, row.status),
        attempts=int(row.attempts),
        next_attempt_at_ms=int(row.next_attempt_at_ms),
        status_code=row.status_code,
        error=row.error,
        created_at_ms=int(row.created_at_ms),
        updated_at_ms=int(row.updated_at_ms),
    )


def _delivery_values(delivery: Delivery) -> dict[str, Any]:
    return {
        "id": delivery.id,
        "org_id": delivery.org_id,
        "monitor_id": delivery.monitor_id,
        "kind": delivery.kind,
        "body": delivery.body,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "next_attempt_at_ms": delivery.next_attempt_at_ms,
        "status_code": delivery.status_code,
        "error": delivery.error,
        "created_at_ms": delivery.created_at_ms,
        "updated_at_ms": delivery.updated_at_ms,
    }


class SqlMonitors:
    """The monitor half of `SqlStore` (a mixin: it uses the store's connections)."""

    _dialect: Dialect
    _sessions_where: Callable[[str, SessionQuery], Awaitable[list[sa.ColumnElement[bool]]]]
    _read: Callable[..., AbstractAsyncContextManager[AsyncConnection]]
    _write: Callable[[Callable[[sa.Connection], Any]], Awaitable[Any]]

    async def feedback_window(
        self, *, org_id: str, filter: FilterNode, name: str, start_ms: int, end_ms: int, limit: int
    ) -> list[WindowRecord]:
        f = feedback_records.c
        stmt = sa.select(f.session_id, f.kind, f.number, f.label, f.updated_at_ms).where(
            f.org_id == org_id, f.name == name, f.updated_at_ms >= start_ms, f.updated_at_ms < end_ms
        )
        if filter is not None:
            # A join on the session's key, not `IN (matching sessions)`: each record then probes its own
            # session (and that session's properties) by index. The IN form let PostgreSQL, before its
            # first ANALYZE of a new table, test every matching session for every record (400 records
            # on 400 sessions: 6 s).
            where = await self._sessions_where(org_id, SessionQuery(filter=filter))
            on_session = sa.and_(sessions.c.org_id == f.org_id, sessions.c.session_id == f.session_id)
            stmt = stmt.select_from(feedback_records.join(sessions, on_session)).where(*where)
        stmt = stmt.order_by(f.updated_at_ms.desc(), f.id).limit(limit)
        async with self._read(cached=filter is None) as conn:
            rows = (await conn.execute(stmt)).all()
        return [WindowRecord(r.session_id, record_value(r), int(r.updated_at_ms)) for r in rows]

    async def create_monitor(self, *, org_id: str, spec: MonitorSpec) -> Monitor:
        now = now_ms()
        monitor = Monitor(str(uuid.uuid4()), org_id, spec, now, now, MonitorStatus())
        await self._write(lambda conn: conn.execute(sa.insert(monitors).values(_monitor_values(monitor))))
        return monitor

    async def restore_monitor(self, monitor: Monitor) -> None:
        stmt = insert(self._dialect, monitors).values(_monitor_values(monitor))
        await self._write(lambda conn: conn.execute(stmt.on_conflict_do_nothing(index_elements=["id"])))

    async def update_monitor(self, *, org_id: str, monitor_id: str, spec: MonitorSpec) -> Monitor | None:
        def work(conn: sa.Connection) -> bool:
            result = conn.execute(
                sa.update(monitors)
                .where(monitors.c.org_id == org_id, monitors.c.id == monitor_id)
                .values(**_spec_values(spec), updated_at_ms=now_ms())
            )
            return bool(result.rowcount)

        if not await self._write(work):
            return None
        return await self.get_monitor(org_id=org_id, monitor_id=monitor_id)

    async def get_monitor(self, *, org_id: str, monitor_id: str) -> Monitor | None:
        stmt = sa.select(monitors).where(monitors.c.org_id == org_id, monitors.c.id == monitor_id)
        async with self._read() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else _monitor(row)

    async def list_monitors(self, *, org_id: str | None) -> list[Monitor]:
        stmt = sa.select(monitors).order_by(monitors.c.created_at_ms, monitors.c.id)
        if org_id is not None:
            stmt = stmt.where(monitors.c.org_id == org_id)
        async with self._read() as conn:
            return [_monitor(row) for row in (await conn.execute(stmt)).all()]

    async def delete_monitor(self, *, org_id: str, monitor_id: str) -> bool:
        def work(conn: sa.Connection) -> bool:
            found = conn.execute(
                sa.delete(monitors).where(monitors.c.org_id == org_id, monitors.c.id == monitor_id)
            )
            d = monitor_deliveries.c
            conn.execute(sa.delete(monitor_deliveries).where(d.org_id == org_id, d.monitor_id == monitor_id))
            return bool(found.rowcount)

        result: bool = await self._write(work)
        return result

    async def record_evaluation(
        self, *, org_id: str, monitor_id: str, status: MonitorStatus, delivery: Delivery | None
    ) -> bool:
        read = status.transitions - (1 if delivery is not None else 0)

        def work(conn: sa.Connection) -> bool:
            # The count read is the condition: of two evaluators, the second finds it changed.
            changed = conn.execute(
                sa.update(monitors)
                .where(
                    monitors.c.org_id == org_id,
                    monitors.c.id == monitor_id,
                    monitors.c.transitions == read,
                )
                .values(
                    state=status.state,
                    value=status.value,
                    rated=status.rated,
                    evaluated_at_ms=status.evaluated_at_ms,
                    transitions=status.transitions,
                )
            )
            if not changed.rowcount:
                return False
            if delivery is not None:
                stmt = insert(self._dialect, monitor_deliveries).values(_delivery_values(delivery))
                conn.execute(stmt.on_conflict_do_nothing(index_elements=["id"]))
            return True

        result: bool = await self._write(work)
        return result

    async def add_delivery(self, *, delivery: Delivery) -> None:
        await self._write(
            lambda conn: conn.execute(sa.insert(monitor_deliveries).values(_delivery_values(delivery)))
        )

    async def due_deliveries(self, *, now_ms: int, limit: int) -> list[Delivery]:
        d = monitor_deliveries.c
        stmt = (
            sa.select(monitor_deliveries)
            .where(d.status == "pending", d.next_attempt_at_ms <= now_ms)
            .order_by(d.next_attempt_at_ms, d.id)
            .limit(limit)
        )
        async with self._read() as conn:
            return [_delivery(row) for row in (await conn.execute(stmt)).all()]

    async def update_delivery(self, *, delivery: Delivery) -> None:
        values = _delivery_values(delivery)
        for key in ("id", "org_id", "monitor_id", "kind", "body", "created_at_ms"):
            values.pop(key)
        await self._write(
            lambda conn: conn.execute(
                sa.update(monitor_deliveries).where(monitor_deliveries.c.id == delivery.id).values(values)
            )
        )

    async def list_deliveries(self, *, org_id: str, monitor_id: str, limit: int) -> list[Delivery]:
        d = monitor_deliveries.c
        stmt = (
            sa.select(monitor_deliveries)
            .where(d.org_id == org_id, d.monitor_id == monitor_id)
            .order_by(d.created_at_ms.desc(), d.id.desc())
            .limit(limit)
        )
        async with self._read() as conn:
            return [_delivery(row) for row in (await conn.execute(stmt)).all()]

    async def take_lease(self, *, name: str, holder: str, ttl_ms: int) -> bool:
        def work(conn: sa.Connection) -> bool:
            now = now_ms()
            # One statement decides: the row is ours already, or its holder's time ran out.
            taken = conn.execute(
                sa.update(leases)
                .where(leases.c.name == name, sa.or_(leases.c.holder == holder, leases.c.expires_at_ms < now))
                .values(holder=holder, expires_at_ms=now + ttl_ms)
            )
            if taken.rowcount:
                return True
            # Never leased: the first INSERT wins, any other finds the row and does nothing.
            stmt = insert(self._dialect, leases).values(name=name, holder=holder, expires_at_ms=now + ttl_ms)
            return bool(conn.execute(stmt.on_conflict_do_nothing(index_elements=["name"])).rowcount)

        result: bool = await self._write(work)
        return result
