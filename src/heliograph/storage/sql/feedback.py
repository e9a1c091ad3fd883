"""Feedback records and configs in SQL, and the session rating they keep up to date.

A change to a `rating` record and the session's feedback it implies (the newest boolean `rating` of any
rater, on the rollup and as the property of the first request, see writes.rate_session) commit in one
transaction, so no reader sees one without the other.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from heliograph.domain.breakdown import BUILTIN_DIMENSIONS
from heliograph.domain.feedback_values import (
    API_RATER,
    RATING,
    FeedbackConfig,
    FeedbackEntry,
    FeedbackQuery,
    FeedbackRecord,
    FeedbackTotals,
    FeedbackValue,
    feedback_id,
)
from heliograph.domain.records import now_ms
from heliograph.domain.sessions import SessionQuery
from heliograph.storage.sql.dialect import Dialect, insert
from heliograph.storage.sql.schema import feedback_configs, feedback_records, properties, requests, sessions
from heliograph.storage.sql.writes import rate_session

__all__ = ["SqlFeedback", "record_value", "session_value_pairs", "value_columns"]

_CHANGED = ("source", "kind", "number", "label", "comment", "updated_at_ms")


def value_columns(value: FeedbackValue) -> dict[str, Any]:
    """The stored kind, number and label of a value."""
    if isinstance(value, bool):
        return {"kind": "boolean", "number": float(value), "label": None}
    if isinstance(value, str):
        return {"kind": "categorical", "number": None, "label": value}
    return {"kind": "numeric", "number": float(value), "label": None}


def record_value(row: Any) -> FeedbackValue:
    value: FeedbackValue = (
        bool(row.number) if row.kind == "boolean" else row.label if row.kind == "categorical" else row.number
    )
    return value


def _record(row: Any) -> FeedbackRecord:
    value = record_value(row)
    return FeedbackRecord(
        id=row.id,
        session_id=row.session_id,
        request_id=row.request_id or None,
        name=row.name,
        value=value,
        comment=row.comment,
        rater=row.rater,
        source=row.source,
        created_at_ms=row.created_at_ms,
        updated_at_ms=row.updated_at_ms,
    )


def session_value_pairs(dimension: str, where: list[sa.ColumnElement[bool]]) -> sa.Subquery:
    """(session_id, feedback, value) once per value of `dimension` (a property key, or model/provider)
    that a matching session's requests carry."""
    s, r = sessions.c, requests.c
    source = sa.join(sessions, requests, sa.and_(r.org_id == s.org_id, r.session_id == s.session_id))
    if dimension in BUILTIN_DIMENSIONS:
        value = r.model if dimension == "model" else r.provider
    else:
        value = properties.c.value
        source = sa.join(
            source,
            properties,
            sa.and_(
                properties.c.org_id == r.org_id,
                properties.c.request_id == r.request_id,
                properties.c.key == dimension,
            ),
        )
    return (
        sa.select(s.session_id, s.feedback, value.label("value"))
        .select_from(source)
        .where(*where)
        .distinct()
        .subquery()
    )


def _session_holds(conn: sa.Connection, org_id: str, session_id: str, request_id: str | None) -> bool:
    """Whether the organization has the session (and the request in it), locking the session's rollup
    row until commit (PostgreSQL): concurrent writes of one session's records then take turns, so the
    rating each leaves is the newest of all that committed before it."""
    session = conn.execute(
        sa.select(sessions.c.session_id)
        .where(sessions.c.org_id == org_id, sessions.c.session_id == session_id)
        .with_for_update()
    ).first()
    if session is None or request_id is None:
        return session is not None
    found = sa.select(requests.c.request_id).where(
        requests.c.org_id == org_id,
        requests.c.request_id == request_id,
        requests.c.session_id == session_id,
    )
    return conn.execute(found).first() is not None


def _rate_from_records(conn: sa.Connection, org_id: str, session_id: str, now_ms: int) -> str | None:
    """Give the session the newest boolean `rating` of any rater (or none); its first request's id."""
    newest = conn.execute(
        sa.select(feedback_records.c.number)
        .where(
            feedback_records.c.org_id == org_id,
            feedback_records.c.session_id == session_id,
            feedback_records.c.name == RATING,
            feedback_records.c.kind == "boolean",
        )
        .order_by(feedback_records.c.updated_at_ms.desc(), feedback_records.c.id.desc())
        .limit(1)
    ).first()
    rating = None if newest is None else bool(newest.number)
    return rate_session(conn, org_id=org_id, session_id=session_id, rating=rating, now_ms=now_ms)


def _upsert(conn: sa.Connection, dialect: Dialect, org_id: str, entry: FeedbackEntry, now_ms: int) -> Any:
    row = {
        "id": entry.id_in(org_id),
        "org_id": org_id,
        "session_id": entry.session_id,
        "request_id": entry.request_id or "",
        "name": entry.name,
        "rater": entry.rater,
        "source": entry.source,
        "comment": entry.comment,
        "created_at_ms": now_ms,
        "updated_at_ms": now_ms,
        **value_columns(entry.value),
    }
    stmt = insert(dialect, feedback_records).values(row)
    stmt = stmt.on_conflict_do_update(
        index_elements=["id"], set_={name: getattr(stmt.excluded, name) for name in _CHANGED}
    ).returning(*feedback_records.c)
    return conn.execute(stmt).one()


def put_record(
    conn: sa.Connection, dialect: Dialect, org_id: str, entry: FeedbackEntry, now_ms: int
) -> FeedbackRecord | None:
    """Upsert one record (see Store.put_feedback) in the caller's transaction."""
    if not _session_holds(conn, org_id, entry.session_id, entry.request_id):
        return None
    stored = _record(_upsert(conn, dialect, org_id, entry, now_ms))
    if entry.name == RATING:
        _rate_from_records(conn, org_id, entry.session_id, now_ms)
    return stored


def _conditions(org_id: str, query: FeedbackQuery) -> list[sa.ColumnElement[bool]]:
    f = feedback_records.c
    where = [f.org_id == org_id]
    for column, wanted in ((f.session_id, query.session_id), (f.name, query.name), (f.rater, query.rater)):
        if wanted is not None:
            where.append(column == wanted)
    if query.source is not None:
        where.append(f.source == query.source)
    if query.value is not None:
        stored = value_columns(query.value)
        where.append(f.kind == stored["kind"])
        where.append(
            f.label == stored["label"] if stored["label"] is not None else f.number == stored["number"]
        )
    if query.min_value is not None or query.max_value is not None:
        where.append(f.kind == "numeric")
    if query.min_value is not None:
        where.append(f.number >= query.min_value)
    if query.max_value is not None:
        where.append(f.number <= query.max_value)
    if query.start_ms is not None:
        where.append(f.updated_at_ms >= query.start_ms)
    if query.end_ms is not None:
        where.append(f.updated_at_ms <= query.end_ms)
    return where


class SqlFeedback:
    """The feedback half of `SqlStore` (a mixin: it uses the store's connections)."""

    _dialect: Dialect
    _sessions_where: Callable[[str, SessionQuery], Awaitable[list[sa.ColumnElement[bool]]]]
    _read: Callable[..., AbstractAsyncContextManager[AsyncConnection]]
    _write: Callable[[Callable[[sa.Connection], Any]], Awaitable[Any]]

    async def set_session_feedback(self, *, org_id: str, session_id: str, rating: bool | None) -> str | None:
        def work(conn: sa.Connection) -> str | None:
            return _rate_as_api(conn, self._dialect, org_id, session_id, rating, now_ms())

        result: str | None = await self._write(work)
        return result

    async def rate_sessions(self, *, org_id: str, ratings: Mapping[str, bool]) -> int:
        def work(conn: sa.Connection) -> int:
            now = now_ms()
            rated = [_rate_as_api(conn, self._dialect, org_id, s, r, now) for s, r in ratings.items()]
            return sum(first is not None for first in rated)

        count: int = await self._write(work)
        return count

    async def put_feedback(self, *, org_id: str, entry: FeedbackEntry) -> FeedbackRecord | None:
        stored: FeedbackRecord | None = await self._write(
            lambda conn: put_record(conn, self._dialect, org_id, entry, now_ms())
        )
        return stored

    async def query_feedback(self, *, org_id: str, query: FeedbackQuery) -> list[FeedbackRecord]:
        stmt = (
            sa.select(feedback_records)
            .where(*_conditions(org_id, query))
            .order_by(feedback_records.c.updated_at_ms.desc(), feedback_records.c.id.desc())
            .limit(query.limit)
            .offset(query.offset)
        )
        async with self._read() as conn:
            return [_record(row) for row in (await conn.execute(stmt)).all()]

    async def delete_feedback(self, *, org_id: str, feedback_id: str) -> bool:
        def work(conn: sa.Connection) -> bool:
            f = feedback_records.c
            found = conn.execute(
                sa.select(f.session_id).where(f.org_id == org_id, f.id == feedback_id)
            ).first()
            # The session first, then the record: the order every write of records takes (no deadlock).
            if found is None or not _session_holds(conn, org_id, found.session_id, None):
                return False
            gone = conn.execute(
                sa.delete(feedback_records)
                .where(f.org_id == org_id, f.id == feedback_id)
                .returning(f.session_id, f.name)
            ).first()
            if gone is not None and gone.name == RATING:
                _rate_from_records(conn, org_id, gone.session_id, now_ms())
            return gone is not None

        deleted: bool = await self._write(work)
        return deleted

    async def feedback_totals(self, *, org_id: str, session_ids: Sequence[str]) -> dict[str, FeedbackTotals]:
        f = feedback_records.c
        scored = sa.case((f.kind != "categorical", f.number))
        stmt = (
            sa.select(f.session_id, sa.func.count(), sa.func.avg(scored))
            .where(f.org_id == org_id, f.session_id.in_(list(session_ids)))
            .group_by(f.session_id)
        )
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).all()
        return {s: FeedbackTotals(int(n), None if mean is None else float(mean)) for s, n, mean in rows}

    async def feedback_observations(
        self, *, org_id: str, query: SessionQuery, dimension: str, name: str, limit: int
    ) -> list[tuple[str, FeedbackValue]]:
        where = await self._sessions_where(org_id, query)
        pairs = session_value_pairs(dimension, where)
        f = feedback_records.c
        stmt = (
            sa.select(pairs.c.value, f.kind, f.number, f.label)
            .select_from(
                pairs.join(
                    feedback_records,
                    sa.and_(f.org_id == org_id, f.session_id == pairs.c.session_id, f.name == name),
                )
            )
            .limit(limit)
        )
        async with self._read(cached=query.filter is None) as conn:
            rows = (await conn.execute(stmt)).all()
        return [(str(row.value), record_value(row)) for row in rows]

    async def put_feedback_config(self, *, org_id: str, config: FeedbackConfig) -> None:
        row = {
            "org_id": org_id,
            "name": config.name,
            "kind": config.kind,
            "min_value": config.min,
            "max_value": config.max,
            "labels": json.dumps(list(config.labels)),
            "description": config.description,
            "updated_at_ms": now_ms(),
        }

        def work(conn: sa.Connection) -> None:
            stmt = insert(self._dialect, feedback_configs).values(row)
            changed = {k: getattr(stmt.excluded, k) for k in row if k not in ("org_id", "name")}
            conn.execute(stmt.on_conflict_do_update(index_elements=["org_id", "name"], set_=changed))

        await self._write(work)

    async def restore_feedback(self, *, org_id: str, records: Sequence[FeedbackRecord]) -> None:
        rows = [
            {
                "id": r.id,
                "org_id": org_id,
                "session_id": r.session_id,
                "request_id": r.request_id or "",
                "name": r.name,
                "rater": r.rater,
                "source": r.source,
                "comment": r.comment,
                "created_at_ms": r.created_at_ms,
                "updated_at_ms": r.updated_at_ms,
                **value_columns(r.value),
            }
            for r in records
        ]

        def work(conn: sa.Connection) -> None:
            stmt = insert(self._dialect, feedback_records)
            changed = {k: getattr(stmt.excluded, k) for k in (*_CHANGED, "created_at_ms")}
            conn.execute(stmt.on_conflict_do_update(index_elements=["id"], set_=changed), rows)
            now = now_ms()
            for session_id in sorted({r.session_id for r in records if r.name == RATING}):
                _rate_from_records(conn, org_id, session_id, now)

        if rows:
            await self._write(work)

    async def list_feedback_configs(self, *, org_id: str) -> list[FeedbackConfig]:
        stmt = sa.select(feedback_configs).where(feedback_configs.c.org_id == org_id)
        async with self._read() as conn:
            rows = (await conn.execute(stmt)).all()
        return [
            FeedbackConfig(
                name=r.name,
                kind=r.kind,
                min=r.min_value,
                max=r.max_value,
                labels=tuple(json.loads(r.labels)),
                description=r.description,
            )
            for r in rows
        ]


def _rate_as_api(
    conn: sa.Connection, dialect: Dialect, org_id: str, session_id: str, rating: bool | None, now_ms: int
) -> str | None:
    """The seed's rating: the `api` rater's `rating` record set or deleted; the first request's id."""
    if not _session_holds(conn, org_id, session_id, None):
        return None
    if rating is not None:
        _upsert(
            conn,
            dialect,
            org_id,
            FeedbackEntry(session_id, None, RATING, rating, None, API_RATER, "api"),
            now_ms,
        )
    else:
        own = feedback_id(org_id=org_id, session_id=session_id, request_id=None, name=RATING, rater=API_RATER)
        conn.execute(
            sa.delete(feedback_records).where(
                feedback_records.c.org_id == org_id, feedback_records.c.id == own
            )
        )
    return _rate_from_records(conn, org_id, session_id, now_ms)
