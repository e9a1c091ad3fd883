"""Feedback monitors, their webhook deliveries and the leases of their jobs in ClickHouse.

ClickHouse has no transactions, so each write is ordered to survive a crash between its INSERTs:
- A transition writes its delivery first, at version 1 (below any later change of it), then the
  monitor's status. A crash between the two leaves the status unchanged: the next evaluation finds
  the same transition and writes the same delivery id again, which FINAL reads once, and never over a
  recorded attempt (that has a higher version).
- A lease is a versioned row per name; the newest version is its holder. A process claims a free or
  expired lease by inserting its claim, waits LEASE_SETTLE_S, then reads the row back: it holds the
  lease only if its claim is the newest. Two processes that claimed together both read the same
  newest row, so one wins. Limits: a claim whose INSERT lands more than LEASE_SETTLE_S after its
  read of the expired row (a stalled process) can overlap another's term once; versions come from
  each server's clock, so servers' clocks should agree within the lease's time to live. An overlap
  costs at most a second evaluation (stored once, see above) or a second attempt of one delivery.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from typing import Any, cast

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
from heliograph.storage.clickhouse.client import Connection, WriteSession, change_version
from heliograph.storage.clickhouse.feedback import value_of
from heliograph.storage.clickhouse.reads import Params, live, session_rollup
from heliograph.storage.clickhouse.rollups import RollupQueue
from heliograph.storage.clickhouse.schema import LEASES, MONITOR_DELIVERIES, MONITOR_STATES, MONITORS
from heliograph.storage.clickhouse.selects import session_where

__all__ = ["LEASE_SETTLE_S", "ClickHouseMonitors"]

LEASE_SETTLE_S = 0.5
_CREATED_VERSION = 1  # a delivery's first row (see the module's docstring)
_MONITOR_COLUMNS = MONITORS.column_names()[:-2]
_STATE_COLUMNS = MONITOR_STATES.column_names()[:-2]
_DELIVERY_COLUMNS = MONITOR_DELIVERIES.column_names()[:-2]


def _monitor_row(monitor: Monitor) -> tuple[Any, ...]:
    s = monitor.spec
    return (
        monitor.org_id,
        monitor.id,
        s.name,
        s.feedback_name,
        s.metric,
        s.operator,
        s.threshold,
        s.window_s,
        s.min_rated,
        s.filter,
        s.webhook_url,
        s.webhook_secret,
        monitor.created_at_ms,
        monitor.updated_at_ms,
        change_version(),
        0,
    )


def _state_row(org_id: str, monitor_id: str, status: MonitorStatus) -> tuple[Any, ...]:
    return (
        org_id,
        monitor_id,
        status.state,
        status.value,
        status.rated,
        status.evaluated_at_ms,
        status.transitions,
        change_version(),
        0,
    )


def _monitor(row: Sequence[Any], status: MonitorStatus) -> Monitor:
    r = dict(zip(_MONITOR_COLUMNS, row, strict=True))
    spec = MonitorSpec(
        name=r["name"],
        feedback_name=r["feedback_name"],
        metric=cast(MonitorMetric, r["metric"]),
        operator=cast(MonitorOperator, r["operator"]),
        threshold=float(r["threshold"]),
        window_s=int(r["window_s"]),
        min_rated=int(r["min_rated"]),
        filter=r["filter"],
        webhook_url=r["webhook_url"],
        webhook_secret=r["webhook_secret"],
    )
    return Monitor(r["id"], r["org_id"], spec, int(r["created_at_ms"]), int(r["updated_at_ms"]), status)


def _status(row: Sequence[Any]) -> MonitorStatus:
    r = dict(zip(_STATE_COLUMNS, row, strict=True))
    return MonitorStatus(
        state=cast(MonitorState, r["state"]),
        value=r["value"],
        rated=int(r["rated"]),
        evaluated_at_ms=r["evaluated_at_ms"],
        transitions=int(r["transitions"]),
    )


def _delivery_row(d: Delivery, version: int) -> tuple[Any, ...]:
    return (
        d.org_id,
        d.monitor_id,
        d.id,
        d.kind,
        d.body,
        d.status,
        d.attempts,
        d.next_attempt_at_ms,
        d.status_code,
        d.error,
        d.created_at_ms,
        d.updated_at_ms,
        version,
        0,
    )


def _delivery(row: Sequence[Any]) -> Delivery:
    r = dict(zip(_DELIVERY_COLUMNS, row, strict=True))
    return Delivery(
        id=r["id"],
        org_id=r["org_id"],
        monitor_id=r["monitor_id"],
        kind=cast(DeliveryKind, r["kind"]),
        body=r["body"],
        status=cast(DeliveryStatus, r["status"]),
        attempts=int(r["attempts"]),
        next_attempt_at_ms=int(r["next_attempt_at_ms"]),
        status_code=r["status_code"],
        error=r["error"],
        created_at_ms=int(r["created_at_ms"]),
        updated_at_ms=int(r["updated_at_ms"]),
    )


def _stored_status(session: WriteSession, org_id: str, monitor_id: str) -> MonitorStatus | None:
    """The monitor's status (the initial one if never evaluated); None when the monitor is gone."""
    params = {"org": org_id, "id": monitor_id}
    if not session.rows(
        f"SELECT 1 FROM {live(MONITORS.name)} WHERE org_id = {{org:String}} AND id = {{id:String}}", params
    ):
        return None
    rows = session.rows(
        f"SELECT {', '.join(_STATE_COLUMNS)} FROM {live(MONITOR_STATES.name)} "
        "WHERE org_id = {org:String} AND monitor_id = {id:String}",
        params,
    )
    return _status(rows[0]) if rows else MonitorStatus()


class ClickHouseMonitors:
    """The monitor half of `ClickHouseStore` (a mixin: it uses the store's connection)."""

    _db: Connection
    _rollups: RollupQueue

    async def feedback_window(
        self, *, org_id: str, filter: FilterNode, name: str, start_ms: int, end_ms: int, limit: int
    ) -> list[WindowRecord]:
        params = Params()
        where = (
            f"org_id = {params.text(org_id)} AND name = {params.text(name)} "
            f"AND updated_at_ms >= {params.number(start_ms)} AND updated_at_ms < {params.number(end_ms)}"
        )
        if filter is not None:
            matching = session_where(params, org_id, SessionQuery(filter=filter))
            rollup = session_rollup(params, org_id)
            where += f" AND session_id IN (SELECT session_id FROM {rollup} WHERE {matching})"
            await self._rollups.settle()
        rows = await self._db.rows(
            f"SELECT session_id, kind, number, label, updated_at_ms FROM {live('feedback_records')} "
            f"WHERE {where} ORDER BY updated_at_ms DESC, id LIMIT {int(limit)}",
            params.values,
        )
        return [
            WindowRecord(s, value_of(kind, number, label), int(at)) for s, kind, number, label, at in rows
        ]

    async def create_monitor(self, *, org_id: str, spec: MonitorSpec) -> Monitor:
        now = now_ms()
        monitor = Monitor(str(uuid.uuid4()), org_id, spec, now, now)
        await self._db.write(
            lambda s: s.insert(MONITORS.name, MONITORS.column_names(), [_monitor_row(monitor)])
        )
        return monitor

    async def restore_monitor(self, monitor: Monitor) -> None:
        def work(session: WriteSession) -> None:
            if _read_monitors(session, monitor.org_id, monitor.id):
                return
            session.insert(MONITORS.name, MONITORS.column_names(), [_monitor_row(monitor)])
            row = _state_row(monitor.org_id, monitor.id, monitor.status)
            session.insert(MONITOR_STATES.name, MONITOR_STATES.column_names(), [row])

        await self._db.write(work)

    async def update_monitor(self, *, org_id: str, monitor_id: str, spec: MonitorSpec) -> Monitor | None:
        def work(session: WriteSession) -> bool:
            found = _read_monitors(session, org_id, monitor_id)
            if not found:
                return False
            old = found[0]
            changed = Monitor(old.id, org_id, spec, old.created_at_ms, now_ms(), old.status)
            session.insert(MONITORS.name, MONITORS.column_names(), [_monitor_row(changed)])
            return True

        if not await self._db.write(work):
            return None
        return await self.get_monitor(org_id=org_id, monitor_id=monitor_id)

    async def get_monitor(self, *, org_id: str, monitor_id: str) -> Monitor | None:
        found = await self._db.write(lambda s: _read_monitors(s, org_id, monitor_id))
        return found[0] if found else None

    async def list_monitors(self, *, org_id: str | None) -> list[Monitor]:
        return await self._db.write(lambda s: _read_monitors(s, org_id, None))

    async def delete_monitor(self, *, org_id: str, monitor_id: str) -> bool:
        def work(session: WriteSession) -> bool:
            if not _read_monitors(session, org_id, monitor_id):
                return False
            version = change_version()
            session.insert(
                MONITORS.name, ("org_id", "id", "version", "deleted"), [(org_id, monitor_id, version, 1)]
            )
            session.insert(
                MONITOR_STATES.name,
                ("org_id", "monitor_id", "version", "deleted"),
                [(org_id, monitor_id, version, 1)],
            )
            ids = session.rows(
                f"SELECT id FROM {live(MONITOR_DELIVERIES.name)} "
                "WHERE org_id = {org:String} AND monitor_id = {id:String}",
                {"org": org_id, "id": monitor_id},
            )
            if ids:
                session.insert(
                    MONITOR_DELIVERIES.name,
                    ("org_id", "monitor_id", "id", "version", "deleted"),
                    [(org_id, monitor_id, i, version, 1) for (i,) in ids],
                )
            return True

        result: bool = await self._db.write(work)
        return result

    async def record_evaluation(
        self, *, org_id: str, monitor_id: str, status: MonitorStatus, delivery: Delivery | None
    ) -> bool:
        read = status.transitions - (1 if delivery is not None else 0)

        def work(session: WriteSession) -> bool:
            stored = _stored_status(session, org_id, monitor_id)
            if stored is None or stored.transitions != read:
                return False
            if delivery is not None:  # first: see the module's docstring
                session.insert(
                    MONITOR_DELIVERIES.name,
                    MONITOR_DELIVERIES.column_names(),
                    [_delivery_row(delivery, _CREATED_VERSION)],
                )
            row = _state_row(org_id, monitor_id, status)
            session.insert(MONITOR_STATES.name, MONITOR_STATES.column_names(), [row])
            return True

        result: bool = await self._db.write(work)
        return result

    async def add_delivery(self, *, delivery: Delivery) -> None:
        row = _delivery_row(delivery, _CREATED_VERSION)
        await self._db.write(
            lambda s: s.insert(MONITOR_DELIVERIES.name, MONITOR_DELIVERIES.column_names(), [row])
        )

    async def due_deliveries(self, *, now_ms: int, limit: int) -> list[Delivery]:
        rows = await self._db.rows(
            f"SELECT {', '.join(_DELIVERY_COLUMNS)} FROM {live(MONITOR_DELIVERIES.name)} "
            "WHERE status = 'pending' AND next_attempt_at_ms <= {now:Int64} "
            f"ORDER BY next_attempt_at_ms, id LIMIT {int(limit)}",
            {"now": now_ms},
        )
        return [_delivery(row) for row in rows]

    async def update_delivery(self, *, delivery: Delivery) -> None:
        row = _delivery_row(delivery, change_version())
        await self._db.write(
            lambda s: s.insert(MONITOR_DELIVERIES.name, MONITOR_DELIVERIES.column_names(), [row])
        )

    async def list_deliveries(self, *, org_id: str, monitor_id: str, limit: int) -> list[Delivery]:
        rows = await self._db.rows(
            f"SELECT {', '.join(_DELIVERY_COLUMNS)} FROM {live(MONITOR_DELIVERIES.name)} "
            "WHERE org_id = {org:String} AND monitor_id = {id:String} "
            f"ORDER BY created_at_ms DESC, id DESC LIMIT {int(limit)}",
            {"org": org_id, "id": monitor_id},
        )
        return [_delivery(row) for row in rows]

    async def take_lease(self, *, name: str, holder: str, ttl_ms: int) -> bool:
        def holder_now() -> Any:
            return self._db.rows(
                f"SELECT holder, expires_at_ms FROM {live(LEASES.name)} WHERE name = {{name:String}}",
                {"name": name},
            )

        current = await holder_now()
        now = now_ms()
        if current and current[0][0] != holder and current[0][1] >= now:
            return False
        row = (name, holder, now + ttl_ms, change_version(), 0)
        await self._db.write(lambda s: s.insert(LEASES.name, LEASES.column_names(), [row]))
        if current and current[0][0] == holder:
            return True  # kept: nobody claims a lease before it expires
        await asyncio.sleep(LEASE_SETTLE_S)
        after = await holder_now()
        return bool(after) and after[0][0] == holder


def _read_monitors(session: WriteSession, org_id: str | None, monitor_id: str | None) -> list[Monitor]:
    """Monitors with their status, by creation time; read on the writer, after every write before."""
    params: dict[str, Any] = {}
    where = "true"
    if org_id is not None:
        where += " AND org_id = {org:String}"
        params["org"] = org_id
    if monitor_id is not None:
        where += " AND id = {id:String}"
        params["id"] = monitor_id
    rows = session.rows(
        f"SELECT {', '.join(_MONITOR_COLUMNS)} FROM {live(MONITORS.name)} WHERE {where} "
        "ORDER BY created_at_ms, id",
        params,
    )
    state_where = where.replace("AND id =", "AND monitor_id =")
    states = {
        (r[0], r[1]): _status(r)
        for r in session.rows(
            f"SELECT {', '.join(_STATE_COLUMNS)} FROM {live(MONITOR_STATES.name)} WHERE {state_where}", params
        )
    }
    return [_monitor(r, states.get((r[0], r[1]), MonitorStatus())) for r in rows]
