"""`ClickHouseStore`: the Store port on a ClickHouse server or cluster, or on embedded ClickHouse (chdb).

Writes append rows: a batch of requests is one INSERT, acknowledged once it returns (on a server, an
async insert that waits until written). A later property or score is a new version of the request's
row, a rating or tag a new version of the session's row, a key's revocation a new version of the key,
all written by the process's one writer thread. Reads see the newest version of each row (reads.py);
session aggregates are computed from their requests, so a retried request, a repeated rating or a late
first request can never be counted twice or leave a stale sum.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from heliograph.domain.breakdown import BUILTIN_DIMENSIONS, FeedbackCounts
from heliograph.domain.filters import FilterNode
from heliograph.domain.metrics import SessionMetrics, SortedValues, session_metrics
from heliograph.domain.records import FEEDBACK_KEY, SESSION_PATH_KEY, RequestRecord
from heliograph.domain.requests import RequestQuery, RequestSort
from heliograph.domain.sessions import SessionQuery
from heliograph.domain.store import (
    ApiKeyInfo,
    SessionActivity,
    SessionNameSummary,
    SessionSummary,
    SessionTotals,
    StoredRequest,
)
from heliograph.storage.clickhouse.client import Connection, WriteSession, parse_url
from heliograph.storage.clickhouse.filters import request_condition_sql, session_condition_sql
from heliograph.storage.clickhouse.reads import (
    ROLLUP_COLUMNS,
    Params,
    live,
    live_requests,
    recompute_sessions,
    saturated_sum,
    session_rollup,
)
from heliograph.storage.clickhouse.schema import (
    API_KEYS,
    MIGRATIONS,
    ORGANIZATIONS,
    REQUESTS,
    SESSION_FEEDBACK,
    SESSION_TAGS,
    migration_ddl,
)
from heliograph.storage.clickhouse.transfer import ClickHouseTransfer

__all__ = ["ClickHouseStore"]

_REQUEST_COLUMNS = REQUESTS.column_names()
_SELECT_REQUEST = ", ".join(_REQUEST_COLUMNS)
_SESSION_SORT = {
    "created_at": "first_created_at_ms",
    "latest_request_created_at": "last_created_at_ms",
    "duration": "(last_created_at_ms - first_created_at_ms)",
    "total_requests": "request_count",
    "total_cost": "cost_nano_usd",
    "total_tokens": "total_tokens",
}
_REQUEST_SORT = {
    "created_at": "created_at_ms",
    "latency": "latency_ms",
    "cost": "cost_nano_usd",
    "total_tokens": "total_tokens",
    "prompt_tokens": "prompt_tokens",
    "completion_tokens": "completion_tokens",
    "user_id": "user_id",
    "time_to_first_token": "time_to_first_token_ms",
}
_MIGRATIONS_TABLE = "heliograph_migrations"


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class ClickHouseStore(ClickHouseTransfer):
    """The ClickHouse implementation of `heliograph.domain.store.Store`."""

    def __init__(self, connection: Connection, *, cluster: str | None = None) -> None:
        self._db = connection
        self._cluster = cluster

    @classmethod
    def from_url(cls, url: str, *, cluster: str | None = None) -> ClickHouseStore:
        return cls(Connection(parse_url(url)), cluster=cluster)

    async def ping(self) -> None:
        await self._db.rows("SELECT 1")

    async def close(self) -> None:
        await self._db.close()

    async def refresh_statistics(self) -> None:
        """ClickHouse plans from its indexes and needs no statistics."""

    async def migrate(self) -> None:
        """Apply the migrations not applied yet, in order, recording each."""
        on_cluster = f" ON CLUSTER {self._cluster}" if self._cluster else ""
        await self._db.command(
            f"CREATE TABLE IF NOT EXISTS {_MIGRATIONS_TABLE}{on_cluster} "
            "(version UInt32, description String, applied_at_ms Int64) "
            "ENGINE = ReplacingMergeTree ORDER BY version"
        )
        applied = {int(v) for (v,) in await self._db.rows(f"SELECT version FROM {_MIGRATIONS_TABLE}")}
        for migration in MIGRATIONS:
            if migration.version in applied:
                continue
            for statement in migration_ddl(migration, cluster=self._cluster):
                await self._db.command(statement)

            def record(
                session: WriteSession, version: int = migration.version, text: str = migration.description
            ) -> None:
                session.insert(
                    _MIGRATIONS_TABLE,
                    ("version", "description", "applied_at_ms"),
                    [(version, text, _now_ms())],
                )

            await self._db.write(record)

    # -- organizations and keys ------------------------------------------------------------------

    def _recompute(self, session: WriteSession, keys: set[tuple[str, str]]) -> None:
        """Write a new rollup version of each (org id, session id) in `keys`, from its stored requests.

        Runs on the writer thread after the write it follows, so within a process every rollup is
        computed from every request written before it. (Several servers writing one session at the
        same instant could each miss the other's rows; the next write to the session repairs it.)
        """
        if keys:
            params = Params()
            statement = recompute_sessions(
                params.add(sorted(keys), "Array(Tuple(String, String))"),
                params.add(self._db.next_version(), "UInt64"),
            )
            session.command(statement, params.values)

    async def ensure_org(self, *, name: str) -> str:
        def work(session: WriteSession) -> str:
            found = session.rows(
                f"SELECT id FROM {live('organizations')} WHERE name = {{name:String}} "
                "ORDER BY created_at_ms LIMIT 1",
                {"name": name},
            )
            if found:
                return str(found[0][0])
            org_id = str(uuid.uuid4())
            session.insert(
                ORGANIZATIONS.name, ORGANIZATIONS.column_names(), [(org_id, name, _now_ms(), 0, 0)]
            )
            return org_id

        return await self._db.write(work)

    async def add_api_key(self, *, org_id: str, key_hash: str, prefix: str, name: str) -> ApiKeyInfo:
        key_id = str(uuid.uuid4())
        row = (key_id, org_id, key_hash, prefix, name, _now_ms(), None, self._db.next_version(), 0)
        await self._db.write(lambda s: s.insert(API_KEYS.name, API_KEYS.column_names(), [row]))
        (info,) = [k for k in await self.list_api_keys() if k.id == key_id]
        return info

    async def list_api_keys(self, *, org_name: str | None = None) -> list[ApiKeyInfo]:
        params = Params()
        where = f"WHERE o.name = {params.text(org_name)}" if org_name is not None else ""
        rows = await self._db.rows(
            f"SELECT k.id, k.org_id, o.name, k.prefix, k.name, k.created_at_ms, k.revoked_at_ms "
            f"FROM {live('api_keys', 'k')} INNER JOIN {live('organizations', 'o')} ON o.id = k.org_id "
            f"{where} ORDER BY o.name, k.created_at_ms",
            params.values,
        )
        return [ApiKeyInfo(*row) for row in rows]

    async def revoke_api_key(self, *, key_id: str) -> bool:
        def work(session: WriteSession) -> bool:
            found = session.rows(
                f"SELECT {', '.join(API_KEYS.column_names())} FROM {live('api_keys')} "
                "WHERE (id = {key:String} OR prefix = {key:String}) AND revoked_at_ms IS NULL",
                {"key": key_id},
            )
            now = _now_ms()
            revoked = [(*row[:6], now, self._db.next_version(), 0) for row in found]
            session.insert(API_KEYS.name, API_KEYS.column_names(), revoked)
            return bool(revoked)

        return await self._db.write(work)

    async def org_for_key_hash(self, key_hash: str) -> str | None:
        rows = await self._db.rows(
            f"SELECT org_id FROM {live('api_keys')} "
            "WHERE key_hash = {hash:String} AND revoked_at_ms IS NULL",
            {"hash": key_hash},
        )
        return str(rows[0][0]) if rows else None

    # -- ingestion -------------------------------------------------------------------------------

    async def insert_requests(self, records: Sequence[RequestRecord]) -> None:
        unique: dict[tuple[str, str], RequestRecord] = {}
        for record in records:
            unique.setdefault((record.org_id, record.request_id), record)

        def work(session: WriteSession) -> None:
            # A retry of a stored request is skipped here; one that races past this check (two servers
            # at once) is a second copy of the same key, which every read sees once.
            stored = set(
                session.rows(
                    "SELECT org_id, request_id FROM requests "
                    "WHERE org_id IN {orgs:Array(String)} AND request_id IN {ids:Array(String)}",
                    {"orgs": sorted({o for o, _ in unique}), "ids": sorted({r for _, r in unique})},
                )
            )
            fresh = [r for key, r in unique.items() if key not in stored]
            session.insert(REQUESTS.name, _REQUEST_COLUMNS, [_request_row(r) for r in fresh])
            self._recompute(session, {(r.org_id, r.session_id) for r in fresh if r.session_id})

        if unique:
            await self._db.write(work)

    # -- requests --------------------------------------------------------------------------------

    async def get_request(self, *, org_id: str, request_id: str) -> StoredRequest | None:
        params = Params()
        found = await self._requests(
            params, org_id, f"request_id = {params.text(request_id)}", order="created_at_ms", limit=1
        )
        return found[0] if found else None

    async def query_requests(self, *, org_id: str, query: RequestQuery) -> list[StoredRequest]:
        params = Params()
        where = _request_where(params, org_id, query.filter, query.is_scored)
        return await self._requests(
            params,
            org_id,
            where,
            order=_request_order(params, query.sort),
            limit=query.limit,
            offset=query.offset,
        )

    async def count_requests(self, *, org_id: str, filter: FilterNode, is_scored: bool | None) -> int:
        params = Params()
        where = _request_where(params, org_id, filter, is_scored)
        rows = await self._db.rows(
            f"SELECT count() FROM {live_requests(params, org_id)} WHERE {where}", params.values
        )
        return int(rows[0][0])

    async def set_request_property(self, *, org_id: str, request_id: str, key: str, value: str) -> bool:
        return await self._rewrite_request(
            org_id, request_id, lambda row: row["properties"].update({key: value})
        )

    async def set_request_scores(self, *, org_id: str, request_id: str, values: Mapping[str, int]) -> bool:
        return await self._rewrite_request(org_id, request_id, lambda row: row["scores"].update(values))

    async def _rewrite_request(self, org_id: str, request_id: str, change: Any) -> bool:
        """Write a new version of a stored request's row, changed by `change`; False when not found."""

        def work(session: WriteSession) -> bool:
            params = Params()
            rows = session.rows(
                f"SELECT {_SELECT_REQUEST} FROM {live_requests(params, org_id)} "
                f"WHERE request_id = {params.text(request_id)} LIMIT 1",
                params.values,
            )
            if not rows:
                return False
            row = dict(zip(_REQUEST_COLUMNS, rows[0], strict=True))
            row["properties"], row["scores"] = dict(row["properties"]), dict(row["scores"])
            change(row)
            row["version"] = self._db.next_version()
            session.insert(REQUESTS.name, _REQUEST_COLUMNS, [[row[c] for c in _REQUEST_COLUMNS]])
            if row["session_id"]:  # the session's property pairs may have changed
                self._recompute(session, {(org_id, row["session_id"])})
            return True

        return await self._db.write(work)

    async def _requests(
        self, params: Params, org_id: str, where: str, *, order: str, limit: int, offset: int = 0
    ) -> list[StoredRequest]:
        rows = await self._db.rows(
            f"SELECT {_SELECT_REQUEST} FROM {live_requests(params, org_id)} WHERE {where} "
            f"ORDER BY {order} LIMIT {int(limit)} OFFSET {int(offset)}",
            params.values,
        )
        if not rows:
            return []
        found = [dict(zip(_REQUEST_COLUMNS, row, strict=True)) for row in rows]
        rated = await self._first_request_ratings(org_id, {r["session_id"] for r in found if r["session_id"]})
        return [_stored_request(r, rated.get(r["request_id"])) for r in found]

    async def _first_request_ratings(self, org_id: str, session_ids: set[str]) -> dict[str, int]:
        """The rating of each rated session among `session_ids`, by its first request's id."""
        if not session_ids:
            return {}
        params = Params()
        rows = await self._db.rows(
            f"SELECT first_request_id, feedback FROM {session_rollup(params, org_id)} "
            f"WHERE session_id IN {params.add(sorted(session_ids), 'Array(String)')} "
            "AND feedback IS NOT NULL",
            params.values,
        )
        return {str(first): int(rating) for first, rating in rows}

    # -- sessions --------------------------------------------------------------------------------

    async def set_session_feedback(self, *, org_id: str, session_id: str, rating: bool | None) -> str | None:
        def work(session: WriteSession) -> str | None:
            first = _first_request(session, org_id, session_id)
            if first is not None:
                row = (
                    org_id,
                    session_id,
                    int(bool(rating)),
                    _now_ms(),
                    self._db.next_version(),
                    int(rating is None),
                )
                session.insert(SESSION_FEEDBACK.name, SESSION_FEEDBACK.column_names(), [row])
                self._recompute(session, {(org_id, session_id)})
            return first

        return await self._db.write(work)

    async def get_session(self, *, org_id: str, session_id: str) -> SessionSummary | None:
        params = Params()
        found = await self._sessions(params, org_id, f"session_id = {params.text(session_id)}", "", limit=1)
        return found[0] if found else None

    async def session_requests(self, *, org_id: str, session_id: str) -> list[StoredRequest]:
        params = Params()
        return await self._requests(
            params,
            org_id,
            f"session_id = {params.text(session_id)} AND session_id != ''",
            order="created_at_ms, request_id",
            limit=1_000_000,
        )

    async def query_sessions(self, *, org_id: str, query: SessionQuery) -> list[SessionSummary]:
        params = Params()
        where = _session_where(params, org_id, query)
        column = _SESSION_SORT[query.sort_key]
        direction = "DESC" if query.sort_descending else "ASC"
        order = f"{column} {direction}, first_created_at_ms DESC, session_id DESC"
        return await self._sessions(params, org_id, where, order, limit=query.limit, offset=query.offset)

    async def _sessions(
        self, params: Params, org_id: str, where: str, order: str, *, limit: int, offset: int = 0
    ) -> list[SessionSummary]:
        order_by = f"ORDER BY {order}" if order else ""
        rows = await self._db.rows(
            f"SELECT {ROLLUP_COLUMNS} FROM {session_rollup(params, org_id)} WHERE {where} "
            f"{order_by} LIMIT {int(limit)} OFFSET {int(offset)}",
            params.values,
        )
        return [_session_summary(row) for row in rows]

    async def count_sessions(self, *, org_id: str, query: SessionQuery) -> SessionTotals:
        params = Params()
        where = _session_where(params, org_id, query)
        rows = await self._db.rows(
            f"SELECT count(), {saturated_sum('cost_nano_usd')}, {saturated_sum('latency_sum_ms')}, "
            f"{saturated_sum('request_count')} "
            f"FROM {session_rollup(params, org_id)} WHERE {where}",
            params.values,
        )
        count, cost, latency, requests = rows[0]
        return SessionTotals(int(count), int(cost or 0), int(latency or 0), int(requests or 0))

    async def session_names(
        self, *, org_id: str, query: SessionQuery, limit: int
    ) -> list[SessionNameSummary]:
        params = Params()
        where = _session_where(params, org_id, query)
        rows = await self._db.rows(
            "SELECT name, min(first_created_at_ms), max(last_created_at_ms) AS last_used, "
            f"{saturated_sum('latency_sum_ms')}, {saturated_sum('request_count')}, count() "
            f"FROM {session_rollup(params, org_id)} WHERE {where} "
            f"GROUP BY name ORDER BY last_used DESC, name LIMIT {int(limit)}",
            params.values,
        )
        return [SessionNameSummary(str(r[0]), *(int(v) for v in r[1:])) for r in rows]

    async def session_metrics(
        self, *, org_id: str, query: SessionQuery, fraction: float, interquartile: bool
    ) -> SessionMetrics:
        params = Params()
        where = _session_where(params, org_id, query)
        rows = await self._db.rows(
            "SELECT groupArray(request_count), groupArray(last_created_at_ms - first_created_at_ms), "
            f"groupArray(cost_nano_usd) FROM {session_rollup(params, org_id)} WHERE {where}",
            params.values,
        )
        counts, durations, costs = (SortedValues(int(v) for v in values) for values in rows[0])
        return session_metrics(counts, durations, costs, fraction=fraction, interquartile=interquartile)

    async def feedback_by_value(
        self, *, org_id: str, query: SessionQuery, dimension: str, limit: int
    ) -> list[FeedbackCounts]:
        params = Params()
        where = _session_where(params, org_id, query)
        if dimension in BUILTIN_DIMENSIONS:
            value, has_value = dimension, "true"
        elif dimension == FEEDBACK_KEY:
            value, has_value = (
                "toString(s.feedback)",
                "r.request_id = s.first_request_id AND s.feedback IS NOT NULL",
            )
        else:
            key = params.text(dimension)
            value, has_value = f"r.properties[{key}]", f"mapContains(r.properties, {key})"
        # One row per (session, value): a session counts once for each value its requests carry.
        rows = await self._db.rows(
            f"""SELECT value, count() AS sessions, countIf(feedback = 1), countIf(feedback = 0) FROM (
                SELECT DISTINCT s.session_id, s.feedback, {value} AS value
                FROM (SELECT * FROM {session_rollup(params, org_id)} WHERE {where}) AS s
                INNER JOIN {live_requests(params, org_id)} AS r ON r.session_id = s.session_id
                WHERE {has_value}
            ) GROUP BY value ORDER BY sessions DESC, value LIMIT {int(limit)}""",
            params.values,
        )
        return [FeedbackCounts(str(v), int(n), int(up), int(down)) for v, n, up, down in rows]

    async def sessions_over_time(
        self, *, org_id: str, query: SessionQuery, bucket_ms: int
    ) -> list[SessionActivity]:
        params = Params()
        where = _session_where(params, org_id, query)
        bucket = params.number(int(bucket_ms))
        rows = await self._db.rows(
            f"SELECT intDiv(first_created_at_ms, {bucket}) AS bucket, count(), countIf(feedback = 1), "
            f"countIf(feedback = 0) FROM {session_rollup(params, org_id)} WHERE {where} "
            "GROUP BY bucket ORDER BY bucket",
            params.values,
        )
        return [SessionActivity(int(b) * bucket_ms, int(n), int(up), int(down)) for b, n, up, down in rows]

    async def get_session_tag(self, *, org_id: str, session_id: str) -> str | None:
        rows = await self._db.rows(
            f"SELECT tag FROM {live('session_tags')} "
            "WHERE org_id = {org:String} AND session_id = {session:String}",
            {"org": org_id, "session": session_id},
        )
        return str(rows[0][0]) if rows else None

    async def set_session_tag(self, *, org_id: str, session_id: str, tag: str) -> bool:
        def work(session: WriteSession) -> bool:
            if _first_request(session, org_id, session_id) is None:
                return False
            row = (org_id, session_id, tag, _now_ms(), self._db.next_version(), 0)
            session.insert(SESSION_TAGS.name, SESSION_TAGS.column_names(), [row])
            return True

        return await self._db.write(work)


def _first_request(session: WriteSession, org_id: str, session_id: str) -> str | None:
    """The id of the session's first request (earliest, ties by smallest id), or None."""
    params = Params()
    rows = session.rows(
        f"SELECT request_id FROM {live_requests(params, org_id)} "
        f"WHERE session_id = {params.text(session_id)} AND session_id != '' "
        "ORDER BY created_at_ms, request_id LIMIT 1",
        params.values,
    )
    return str(rows[0][0]) if rows else None


def _session_where(params: Params, org_id: str, query: SessionQuery) -> str:
    """Everything a SessionQuery asks of the rollup (already scoped to the organization)."""
    conditions = ["true"]
    if query.search:
        search = params.text(query.search)
        conditions.append(
            f"(positionCaseInsensitiveUTF8(session_id, {search}) > 0 "
            f"OR positionCaseInsensitiveUTF8(name, {search}) > 0)"
        )
    if query.name_equals:
        conditions.append(f"name = {params.text(query.name_equals)}")
    if query.name_contains:
        conditions.append(f"positionCaseInsensitiveUTF8(name, {params.text(query.name_contains)}) > 0")
    if query.start_ms is not None or query.end_ms is not None:
        lo = params.number(query.start_ms if query.start_ms is not None else -(2**62))
        hi = params.number(query.end_ms if query.end_ms is not None else 2**62)
        inside = (
            f"SELECT session_id FROM {live_requests(params, org_id)} "
            f"WHERE session_id != '' AND created_at_ms >= {lo} AND created_at_ms < {hi}"
        )
        conditions.append(
            f"first_created_at_ms < {hi} AND last_created_at_ms >= {lo} AND "
            f"(first_created_at_ms >= {lo} OR last_created_at_ms < {hi} OR session_id IN ({inside}))"
        )
    condition = session_condition_sql(params, org_id, query.filter)
    if condition is not None:
        conditions.append(condition)
    return " AND ".join(conditions)


def _request_where(params: Params, org_id: str, node: FilterNode, is_scored: bool | None) -> str:
    conditions = ["true"]
    condition = request_condition_sql(params, org_id, node)
    if condition is not None:
        conditions.append(condition)
    if is_scored is not None:
        conditions.append("notEmpty(scores)" if is_scored else "empty(scores)")
    return " AND ".join(conditions)


def _request_order(params: Params, sort: RequestSort) -> str:
    """ORDER BY for a sort; missing values go last either way, ties fall back to newest first, then id."""
    if sort.key == "properties":
        key = params.text(str(sort.property))
        column = f"if(mapContains(properties, {key}), properties[{key}], NULL)"
    else:
        column = _REQUEST_SORT[sort.key]
    return f"{column} {sort.direction.upper()} NULLS LAST, created_at_ms DESC, request_id DESC"


def _request_row(r: RequestRecord) -> list[Any]:
    values = {
        "org_id": r.org_id,
        "session_id": r.session_id or "",
        "request_id": r.request_id,
        "created_at_ms": r.created_at_ms,
        "response_created_at_ms": r.response_created_at_ms,
        "latency_ms": r.latency_ms,
        "time_to_first_token_ms": r.time_to_first_token_ms,
        "status": r.status,
        "provider": r.provider,
        "model": r.model,
        "request_model": r.request_model,
        "user_id": r.user_id,
        "prompt_tokens": r.prompt_tokens,
        "completion_tokens": r.completion_tokens,
        "total_tokens": r.total_tokens,
        "cache_read_tokens": r.cache_read_tokens,
        "cache_write_tokens": r.cache_write_tokens,
        "cost_nano_usd": r.cost_nano_usd,
        "cost_known": r.cost_known,
        "target_url": r.target_url,
        "session_name": r.session_name,
        "session_path": r.properties.get(SESSION_PATH_KEY),
        "request_body": r.request_body,
        "response_body": r.response_body,
        "properties": r.properties,
        "scores": {},
        "version": 0,
        "deleted": 0,
    }
    return [values[c] for c in _REQUEST_COLUMNS]


def _stored_request(row: dict[str, Any], rating: int | None) -> StoredRequest:
    properties = dict(row["properties"])
    if rating is not None:
        properties[FEEDBACK_KEY] = "1" if rating else "0"
    record = RequestRecord(
        org_id=row["org_id"],
        request_id=row["request_id"],
        created_at_ms=row["created_at_ms"],
        response_created_at_ms=row["response_created_at_ms"],
        latency_ms=row["latency_ms"],
        time_to_first_token_ms=row["time_to_first_token_ms"],
        status=row["status"],
        provider=row["provider"],
        model=row["model"],
        request_model=row["request_model"],
        user_id=row["user_id"],
        prompt_tokens=row["prompt_tokens"],
        completion_tokens=row["completion_tokens"],
        cache_read_tokens=row["cache_read_tokens"],
        cache_write_tokens=row["cache_write_tokens"],
        cost_nano_usd=row["cost_nano_usd"],
        cost_known=bool(row["cost_known"]),
        target_url=row["target_url"],
        request_body=row["request_body"],
        response_body=row["response_body"],
        properties=properties,
    )
    return StoredRequest(record=record, scores={str(k): int(v) for k, v in row["scores"].items()})


def _session_summary(row: tuple[Any, ...]) -> SessionSummary:
    (
        sid,
        name,
        first,
        first_ms,
        last_ms,
        count,
        prompt,
        completion,
        total,
        cost,
        latency,
        feedback,
        users,
    ) = row
    return SessionSummary(
        session_id=str(sid),
        name=str(name),
        first_request_id=str(first),
        created_at_ms=int(first_ms),
        latest_request_created_at_ms=int(last_ms),
        request_count=int(count),
        prompt_tokens=int(prompt),
        completion_tokens=int(completion),
        total_tokens=int(total),
        cost_nano_usd=int(cost),
        latency_sum_ms=int(latency),
        feedback=None if feedback is None else bool(feedback),
        user_ids=[str(u) for u in users],
    )
