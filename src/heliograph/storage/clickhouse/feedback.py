"""Feedback records and configs in ClickHouse, and the session rating they keep up to date.

A record is a versioned row keyed by (org, session, request, name, rater); an update is a newer version,
a deletion a deletion row. After a change to a `rating` record the session's row in `session_feedback`
becomes the newest boolean `rating` of any rater (or a deletion row when none is left), written through
`change_sessions` so the session's rollup is recomputed in the same unit of work.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

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
)
from heliograph.domain.records import FEEDBACK_KEY, now_ms
from heliograph.domain.sessions import SessionQuery
from heliograph.storage.clickhouse.client import Connection, WriteSession, change_version
from heliograph.storage.clickhouse.reads import Params, live, live_requests, session_rollup
from heliograph.storage.clickhouse.rollups import change_sessions
from heliograph.storage.clickhouse.schema import FEEDBACK_CONFIGS, FEEDBACK_RECORDS, SESSION_FEEDBACK
from heliograph.storage.clickhouse.selects import session_where

__all__ = ["ClickHouseFeedback", "dimension_values", "first_request", "forget_feedback", "value_of"]

_RECORD_COLUMNS = FEEDBACK_RECORDS.column_names()[:-2]  # without version and deleted
_SELECT_RECORD = ", ".join(_RECORD_COLUMNS)
_RECORD_DELETION = ("org_id", "session_id", "request_id", "name", "rater", "version", "deleted")


def _value_columns(value: FeedbackValue) -> tuple[str, float | None, str | None]:
    if isinstance(value, bool):
        return "boolean", float(value), None
    if isinstance(value, str):
        return "categorical", None, value
    return "numeric", float(value), None


def value_of(kind: str, number: float | None, label: str | None) -> FeedbackValue:
    value: FeedbackValue = bool(number) if kind == "boolean" else label if kind == "categorical" else number  # type: ignore[assignment]
    return value


def _record(row: tuple[Any, ...]) -> FeedbackRecord:
    r = dict(zip(_RECORD_COLUMNS, row, strict=True))
    value = value_of(r["kind"], r["number"], r["label"])
    return FeedbackRecord(
        id=r["id"],
        session_id=r["session_id"],
        request_id=r["request_id"] or None,
        name=r["name"],
        value=value,
        comment=r["comment"],
        rater=r["rater"],
        source=r["source"],
        created_at_ms=r["created_at_ms"],
        updated_at_ms=r["updated_at_ms"],
    )


def _session_holds(session: WriteSession, org_id: str, session_id: str, request_id: str | None) -> bool:
    params = Params()
    where = f"session_id = {params.text(session_id)} AND session_id != ''"
    if request_id is not None:
        where += f" AND request_id = {params.text(request_id)}"
    rows = session.rows(
        f"SELECT 1 FROM {live_requests(params, org_id, columns='session_id, request_id')} "
        f"WHERE {where} LIMIT 1",
        params.values,
    )
    return bool(rows)


def _records_where(params: Params, org_id: str, query: FeedbackQuery) -> str:
    where = [f"org_id = {params.text(org_id)}"]
    for column in ("session_id", "name", "rater", "source"):
        wanted = getattr(query, column)
        if wanted is not None:
            where.append(f"{column} = {params.text(wanted)}")
    if query.value is not None:
        kind, number, label = _value_columns(query.value)
        where.append(f"kind = {params.text(kind)}")
        if label is not None:
            where.append(f"label = {params.text(label)}")
        else:
            where.append(f"number = {params.add(number, 'Float64')}")
    if query.min_value is not None or query.max_value is not None:
        where.append("kind = 'numeric'")
    if query.min_value is not None:
        where.append(f"number >= {params.add(query.min_value, 'Float64')}")
    if query.max_value is not None:
        where.append(f"number <= {params.add(query.max_value, 'Float64')}")
    if query.start_ms is not None:
        where.append(f"updated_at_ms >= {params.add(query.start_ms, 'Int64')}")
    if query.end_ms is not None:
        where.append(f"updated_at_ms <= {params.add(query.end_ms, 'Int64')}")
    return " AND ".join(where)


def _upsert(session: WriteSession, org_id: str, entry: FeedbackEntry, now: int) -> FeedbackRecord:
    record_id = entry.id_in(org_id)
    params = Params()
    existing = session.rows(
        f"SELECT created_at_ms FROM {live(FEEDBACK_RECORDS.name)} WHERE org_id = {params.text(org_id)} "
        f"AND session_id = {params.text(entry.session_id)} AND id = {params.text(record_id)}",
        params.values,
    )
    created = int(existing[0][0]) if existing else now
    kind, number, label = _value_columns(entry.value)
    row = (
        org_id,
        entry.session_id,
        entry.request_id or "",
        entry.name,
        entry.rater,
        record_id,
        entry.source,
        kind,
        number,
        label,
        entry.comment,
        created,
        now,
    )
    session.insert(FEEDBACK_RECORDS.name, FEEDBACK_RECORDS.column_names(), [(*row, change_version(), 0)])
    return _record(row)


def _rate_from_records(session: WriteSession, org_id: str, session_id: str) -> None:
    """Give the session the newest boolean `rating` of any rater (or none), and recompute its rollup."""
    params = Params()
    newest = session.rows(
        f"SELECT number FROM {live(FEEDBACK_RECORDS.name)} WHERE org_id = {params.text(org_id)} "
        f"AND session_id = {params.text(session_id)} AND name = '{RATING}' AND kind = 'boolean' "
        "ORDER BY updated_at_ms DESC, id DESC LIMIT 1",
        params.values,
    )
    rating = int(bool(newest[0][0])) if newest else 0
    row = (org_id, session_id, rating, now_ms(), change_version(), int(not newest))
    change_sessions(
        session,
        {(org_id, session_id)},
        lambda: session.insert(SESSION_FEEDBACK.name, SESSION_FEEDBACK.column_names(), [row]),
    )


def first_request(session: WriteSession, org_id: str, session_id: str) -> str | None:
    """The id of the session's first request (earliest, ties by smallest id), or None."""
    params = Params()
    rows = session.rows(
        f"SELECT request_id FROM {live_requests(params, org_id)} "
        f"WHERE session_id = {params.text(session_id)} AND session_id != '' "
        "ORDER BY created_at_ms, request_id LIMIT 1",
        params.values,
    )
    return str(rows[0][0]) if rows else None


def _rate_as_api(session: WriteSession, org_id: str, session_id: str, rating: bool | None) -> str | None:
    """The seed's rating: the `api` rater's `rating` record set or deleted; the first request's id."""
    first = first_request(session, org_id, session_id)
    if first is None:
        return None
    if rating is not None:
        entry = FeedbackEntry(session_id, None, RATING, rating, None, API_RATER, "api")
        _upsert(session, org_id, entry, now_ms())
    else:
        gone = (org_id, session_id, "", RATING, API_RATER, change_version(), 1)
        session.insert(FEEDBACK_RECORDS.name, _RECORD_DELETION, [gone])
    _rate_from_records(session, org_id, session_id)
    return first


def dimension_values(params: Params, dimension: str) -> str:
    """The values of `dimension` (a property key, or model/provider) on a session rollup row, as an array."""
    if dimension in BUILTIN_DIMENSIONS:
        return "models" if dimension == "model" else "providers"
    if dimension == FEEDBACK_KEY:
        return "if(feedback IS NULL, [], [toString(feedback)])"
    return f"arrayMap(p -> p.2, arrayFilter(p -> p.1 = {params.text(dimension)}, property_pairs))"


def forget_feedback(session: WriteSession, org_id: str, session_id: str) -> None:
    """Delete every record of a session (the session itself is being deleted)."""
    params = Params()
    keys = session.rows(
        f"SELECT request_id, name, rater FROM {live(FEEDBACK_RECORDS.name)} "
        f"WHERE org_id = {params.text(org_id)} AND session_id = {params.text(session_id)}",
        params.values,
    )
    version = change_version()
    gone = [(org_id, session_id, request_id, name, rater, version, 1) for request_id, name, rater in keys]
    session.insert(FEEDBACK_RECORDS.name, _RECORD_DELETION, gone)


class ClickHouseFeedback:
    """The feedback half of `ClickHouseStore` (a mixin: it uses the store's connection)."""

    _db: Connection
    _settled_rows: Callable[[str, dict[str, Any]], Awaitable[list[tuple[Any, ...]]]]

    async def set_session_feedback(self, *, org_id: str, session_id: str, rating: bool | None) -> str | None:
        return await self._db.write(lambda session: _rate_as_api(session, org_id, session_id, rating))

    async def rate_sessions(self, *, org_id: str, ratings: Mapping[str, bool]) -> int:
        def work(session: WriteSession) -> int:
            rated = [_rate_as_api(session, org_id, s, r) for s, r in ratings.items()]
            return sum(first is not None for first in rated)

        return await self._db.write(work) if ratings else 0

    async def put_feedback(self, *, org_id: str, entry: FeedbackEntry) -> FeedbackRecord | None:
        def work(session: WriteSession) -> FeedbackRecord | None:
            if not _session_holds(session, org_id, entry.session_id, entry.request_id):
                return None
            stored = _upsert(session, org_id, entry, now_ms())
            if entry.name == RATING:
                _rate_from_records(session, org_id, entry.session_id)
            return stored

        return await self._db.write(work)

    async def query_feedback(self, *, org_id: str, query: FeedbackQuery) -> list[FeedbackRecord]:
        params = Params()
        rows = await self._db.rows(
            f"SELECT {_SELECT_RECORD} FROM {live(FEEDBACK_RECORDS.name)} "
            f"WHERE {_records_where(params, org_id, query)} ORDER BY updated_at_ms DESC, id DESC "
            f"LIMIT {params.add(query.limit, 'Int64')} OFFSET {params.add(query.offset, 'Int64')}",
            params.values,
        )
        return [_record(row) for row in rows]

    async def delete_feedback(self, *, org_id: str, feedback_id: str) -> bool:
        def work(session: WriteSession) -> bool:
            params = Params()
            found = session.rows(
                f"SELECT session_id, request_id, name, rater FROM {live(FEEDBACK_RECORDS.name)} "
                f"WHERE org_id = {params.text(org_id)} AND id = {params.text(feedback_id)}",
                params.values,
            )
            if not found:
                return False
            session_id, request_id, name, rater = found[0]
            gone = (org_id, session_id, request_id, name, rater, change_version(), 1)
            session.insert(FEEDBACK_RECORDS.name, _RECORD_DELETION, [gone])
            if name == RATING:
                _rate_from_records(session, org_id, str(session_id))
            return True

        return await self._db.write(work)

    async def feedback_totals(self, *, org_id: str, session_ids: Sequence[str]) -> dict[str, FeedbackTotals]:
        rows = await self._db.rows(
            "SELECT session_id, count(), sumIf(number, kind != 'categorical'), "
            "countIf(kind != 'categorical') "
            f"FROM {live(FEEDBACK_RECORDS.name)} WHERE org_id = {{org:String}} "
            "AND session_id IN {sessions:Array(String)} GROUP BY session_id",
            {"org": org_id, "sessions": list(session_ids)},
        )
        return {
            str(s): FeedbackTotals(int(n), total / scored if scored else None) for s, n, total, scored in rows
        }

    async def feedback_observations(
        self, *, org_id: str, query: SessionQuery, dimension: str, name: str, limit: int
    ) -> list[tuple[str, FeedbackValue]]:
        params = Params()
        where = session_where(params, org_id, query)
        rows = await self._settled_rows(
            f"""SELECT p.value, f.kind, f.number, f.label FROM (
                SELECT session_id, value FROM {session_rollup(params, org_id)}
                ARRAY JOIN {dimension_values(params, dimension)} AS value WHERE {where}
            ) AS p INNER JOIN (
                SELECT session_id, kind, number, label FROM {live(FEEDBACK_RECORDS.name)}
                WHERE org_id = {params.text(org_id)} AND name = {params.text(name)}
            ) AS f ON f.session_id = p.session_id LIMIT {int(limit)}""",
            params.values,
        )
        return [(str(v), value_of(kind, number, label)) for v, kind, number, label in rows]

    async def put_feedback_config(self, *, org_id: str, config: FeedbackConfig) -> None:
        row = (
            org_id,
            config.name,
            config.kind,
            config.min,
            config.max,
            list(config.labels),
            config.description,
            now_ms(),
            change_version(),
            0,
        )
        await self._db.write(
            lambda s: s.insert(FEEDBACK_CONFIGS.name, FEEDBACK_CONFIGS.column_names(), [row])
        )

    async def restore_feedback(self, *, org_id: str, records: Sequence[FeedbackRecord]) -> None:
        def work(session: WriteSession) -> None:
            version = change_version()
            rows = [
                (
                    org_id,
                    r.session_id,
                    r.request_id or "",
                    r.name,
                    r.rater,
                    r.id,
                    r.source,
                    *_value_columns(r.value),
                    r.comment,
                    r.created_at_ms,
                    r.updated_at_ms,
                    version,
                    0,
                )
                for r in records
            ]
            session.insert(FEEDBACK_RECORDS.name, FEEDBACK_RECORDS.column_names(), rows)
            for session_id in sorted({r.session_id for r in records if r.name == RATING}):
                _rate_from_records(session, org_id, session_id)

        if records:
            await self._db.write(work)

    async def list_feedback_configs(self, *, org_id: str) -> list[FeedbackConfig]:
        rows = await self._db.rows(
            "SELECT name, kind, min_value, max_value, labels, description "
            f"FROM {live(FEEDBACK_CONFIGS.name)} WHERE org_id = {{org:String}}",
            {"org": org_id},
        )
        return [
            FeedbackConfig(name=n, kind=k, min=lo, max=hi, labels=tuple(labels), description=d)
            for n, k, lo, hi, labels, d in rows
        ]
