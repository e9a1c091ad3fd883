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
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any

from heliograph.domain.breakdown import FeedbackCounts
from heliograph.domain.filters import FilterNode
from heliograph.domain.metrics import SessionMetrics, SortedValues, session_metrics
from heliograph.domain.records import RequestRecord, now_ms
from heliograph.domain.requests import RequestQuery, RequestSort
from heliograph.domain.sessions import SessionQuery
from heliograph.domain.store import (
    SessionActivity,
    SessionNameSummary,
    SessionSummary,
    SessionTotals,
    StoredRequest,
)
from heliograph.storage.clickhouse.client import (
    Connection,
    WriteSession,
    change_ms,
    change_version,
    first_version,
    parse_url,
)
from heliograph.storage.clickhouse.feedback import (
    ClickHouseFeedback,
    dimension_values,
    first_request,
    forget_feedback,
)
from heliograph.storage.clickhouse.insights import ClickHouseInsights
from heliograph.storage.clickhouse.monitors import ClickHouseMonitors
from heliograph.storage.clickhouse.newest import newest_page
from heliograph.storage.clickhouse.reads import (
    ROLLUP_COLUMNS,
    Params,
    live,
    live_requests,
    session_rollup,
    wide_sum,
)
from heliograph.storage.clickhouse.rollups import RollupQueue, change_sessions, repair_rollups
from heliograph.storage.clickhouse.rows import (
    REQUEST_COLUMNS,
    pending_mark_row,
    request_row,
    session_summary,
    stored_request,
)
from heliograph.storage.clickhouse.schema import (
    REQUESTS,
    SESSION_FEEDBACK,
    SESSION_TAGS,
    apply_migrations,
)
from heliograph.storage.clickhouse.selects import SESSION_SORT, request_order, request_where, session_where
from heliograph.storage.clickhouse.sign_ins import ClickHouseSignIns
from heliograph.storage.clickhouse.tenants import ClickHouseTenants
from heliograph.storage.clickhouse.transfer import ClickHouseTransfer

__all__ = ["ClickHouseStore"]

_SELECT_REQUEST = ", ".join(REQUEST_COLUMNS)
# The key, time and version columns of a deletion row (the other columns keep their defaults). Every
# version of a request has its time, so a read that skips granules by time sees all or none of them.
_DELETION = ("org_id", "session_id", "request_id", "created_at_ms", "version", "deleted")
_SESSION_DELETION = ("org_id", "session_id", "version", "deleted")
# A page newest first reads the rollup in key order and stops at its last row: in small blocks, so
# that a filter tests a few thousand sessions instead of 65,536 (1M requests: first page 18 -> 9 ms,
# property + cost range 66 -> 27 ms, in process).
_PAGE_SETTINGS = "max_block_size = 4096"
NEWEST_FIRST = RequestSort("created_at", "desc")


class ClickHouseStore(
    ClickHouseFeedback,
    ClickHouseInsights,
    ClickHouseMonitors,
    ClickHouseTenants,
    ClickHouseSignIns,
    ClickHouseTransfer,
):
    """The ClickHouse implementation of `heliograph.domain.store.Store`."""

    def __init__(self, connection: Connection, *, cluster: str | None = None) -> None:
        self._db = connection
        self._cluster = cluster
        self._known_keys = {}
        self._rollups = RollupQueue(connection)

    @classmethod
    def from_url(cls, url: str, *, cluster: str | None = None) -> ClickHouseStore:
        return cls(Connection(parse_url(url)), cluster=cluster)

    async def ping(self) -> None:
        await self._db.rows("SELECT 1")

    async def close(self) -> None:
        await self._rollups.close()
        await self._db.close()

    async def _settled_rows(self, sql: str, parameters: dict[str, Any]) -> list[tuple[Any, ...]]:
        """The rows of a SELECT that may read session rollups, once every write before it is in them."""
        await self._rollups.settle()
        return await self._db.rows(sql, parameters)

    async def refresh_statistics(self) -> None:
        """ClickHouse plans from its indexes and needs no statistics."""

    async def migrate(self) -> None:
        """Apply the migrations, then recompute any rollup a killed process left behind its write."""
        await apply_migrations(self._db, cluster=self._cluster)
        await self._db.write(repair_rollups)

    # -- ingestion -------------------------------------------------------------------------------

    async def insert_requests(self, records: Sequence[RequestRecord]) -> None:
        # One INSERT: the new requests and a pending mark for each of their sessions. A retry of a
        # stored request is a copy with a lower version, which every read leaves out (client.py).
        unique: dict[tuple[str, str], RequestRecord] = {}
        for record in records:
            unique.setdefault((record.org_id, record.request_id), record)
        if not unique:
            return
        earliest: dict[tuple[str, str], int] = {}
        for r in unique.values():
            if r.session_id:
                key = (r.org_id, str(r.session_id))
                earliest[key] = min(earliest.get(key, r.created_at_ms), r.created_at_ms)
        mark_version = change_version()
        version = first_version(time.time_ns())
        rows = [request_row(r, version=version) for r in unique.values()]
        rows += [pending_mark_row(o, s, created, mark_version) for (o, s), created in earliest.items()]
        token = self._rollups.begin(change_ms(mark_version))
        try:
            await self._db.insert(REQUESTS.name, REQUEST_COLUMNS, rows)
        except BaseException:
            self._rollups.cancel(token)
            raise
        self._rollups.end(token, set(earliest), set(unique))
        if self._rollups.behind:
            await self._rollups.settle()

    # -- requests --------------------------------------------------------------------------------

    async def get_request(self, *, org_id: str, request_id: str) -> StoredRequest | None:
        params = Params()
        found = await self._requests(
            params, org_id, f"request_id = {params.text(request_id)}", order="created_at_ms", limit=1
        )
        return found[0] if found else None

    async def query_requests(self, *, org_id: str, query: RequestQuery) -> list[StoredRequest]:
        params = Params()
        where = request_where(params, org_id, query.filter, query.is_scored)
        if query.request_ids is not None:
            where += f" AND request_id IN {params.add(list(query.request_ids), 'Array(String)')}"
        order = request_order(params, query.sort)

        def page(bound: str) -> Awaitable[list[StoredRequest]]:
            return self._requests(
                params,
                org_id,
                where,
                order=order,
                limit=query.limit,
                offset=query.offset,
                keys=bound,
                # Every version of a request has its time (deletions too), so granules skipped by
                # time hold no newer version of a row read: FINAL needs no re-expanded ranges.
                settings="SETTINGS use_skip_indexes_if_final_exact_mode = 0" if bound != "true" else "",
            )

        if query.sort != NEWEST_FIRST:
            return await page("true")
        await self._rollups.settle()
        return await newest_page(self._db.rows, params, org_id, query.limit, query.offset, page)

    async def count_requests(self, *, org_id: str, filter: FilterNode, is_scored: bool | None) -> int:
        params = Params()
        where = request_where(params, org_id, filter, is_scored)
        rows = await self._settled_rows(
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
            row = dict(zip(REQUEST_COLUMNS, rows[0], strict=True))
            row["properties"], row["scores"] = dict(row["properties"]), dict(row["scores"])
            change(row)
            row["version"] = change_version()
            changed = {(org_id, row["session_id"])} if row["session_id"] else set()  # its property pairs
            change_sessions(
                session,
                changed,
                lambda: session.insert(REQUESTS.name, REQUEST_COLUMNS, [[row[c] for c in REQUEST_COLUMNS]]),
            )
            return True

        return await self._db.write(work)

    async def delete_request(self, *, org_id: str, request_id: str) -> bool:
        def work(session: WriteSession) -> bool:
            params = Params()
            found = session.rows(
                f"SELECT session_id, created_at_ms FROM {live_requests(params, org_id)} "
                f"WHERE request_id = {params.text(request_id)} LIMIT 1",
                params.values,
            )
            if not found:
                return False
            session_id, created_at_ms = found[0]
            row = (org_id, session_id, request_id, created_at_ms, change_version(), 1)
            changed = {(org_id, str(session_id))} if session_id else set()
            change_sessions(session, changed, lambda: session.insert(REQUESTS.name, _DELETION, [row]))
            return True

        return await self._db.write(work)

    async def _requests(
        self,
        params: Params,
        org_id: str,
        where: str,
        *,
        order: str,
        limit: int,
        offset: int = 0,
        keys: str = "true",
        settings: str = "",
    ) -> list[StoredRequest]:
        rows = await self._settled_rows(
            f"SELECT {_SELECT_REQUEST} FROM {live_requests(params, org_id, keys=keys)} WHERE {where} "
            f"ORDER BY {order} LIMIT {int(limit)} OFFSET {int(offset)} {settings}",
            params.values,
        )
        if not rows:
            return []
        found = [dict(zip(REQUEST_COLUMNS, row, strict=True)) for row in rows]
        rated = await self._first_request_ratings(org_id, {r["session_id"] for r in found if r["session_id"]})
        return [stored_request(r, rated.get(r["request_id"])) for r in found]

    async def _first_request_ratings(self, org_id: str, session_ids: set[str]) -> dict[str, int]:
        """The rating of each rated session among `session_ids`, by its first request's id."""
        if not session_ids:
            return {}
        params = Params()
        rows = await self._settled_rows(
            f"SELECT first_request_id, feedback FROM {session_rollup(params, org_id)} "
            f"WHERE session_id IN {params.add(sorted(session_ids), 'Array(String)')} "
            "AND feedback IS NOT NULL",
            params.values,
        )
        return {str(first): int(rating) for first, rating in rows}

    # -- sessions --------------------------------------------------------------------------------

    async def delete_session(self, *, org_id: str, session_id: str) -> bool:
        def work(session: WriteSession) -> bool:
            params = Params()
            ids = session.rows(
                f"SELECT request_id, created_at_ms FROM {live_requests(params, org_id)} "
                f"WHERE session_id = {params.text(session_id)} AND session_id != ''",
                params.values,
            )
            if not ids:
                return False
            version = change_version()
            gone = [(org_id, session_id, request_id, created, version, 1) for request_id, created in ids]

            def delete() -> None:
                session.insert(REQUESTS.name, _DELETION, gone)
                for table in (SESSION_FEEDBACK, SESSION_TAGS):
                    session.insert(table.name, _SESSION_DELETION, [(org_id, session_id, version, 1)])
                forget_feedback(session, org_id, session_id)

            change_sessions(session, {(org_id, session_id)}, delete)
            return True

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
        where = session_where(params, org_id, query)
        column = SESSION_SORT[query.sort_key]
        direction = "DESC" if query.sort_descending else "ASC"
        order = f"{column} {direction}, first_created_at_ms DESC, session_id DESC"
        return await self._sessions(params, org_id, where, order, limit=query.limit, offset=query.offset)

    async def _sessions(
        self, params: Params, org_id: str, where: str, order: str, *, limit: int, offset: int = 0
    ) -> list[SessionSummary]:
        order_by = f"ORDER BY {order}" if order else ""
        rows = await self._settled_rows(
            f"SELECT {ROLLUP_COLUMNS} FROM {session_rollup(params, org_id)} WHERE {where} "
            f"{order_by} LIMIT {int(limit)} OFFSET {int(offset)} SETTINGS {_PAGE_SETTINGS}",
            params.values,
        )
        return [session_summary(row) for row in rows]

    async def count_sessions(self, *, org_id: str, query: SessionQuery) -> SessionTotals:
        params = Params()
        where = session_where(params, org_id, query)
        rows = await self._settled_rows(
            f"SELECT count(), {wide_sum('cost_nano_usd')}, {wide_sum('latency_sum_ms')}, "
            f"{wide_sum('request_count')} "
            f"FROM {session_rollup(params, org_id)} WHERE {where}",
            params.values,
        )
        count, cost, latency, requests = rows[0]
        return SessionTotals(int(count), int(cost or 0), int(latency or 0), int(requests or 0))

    async def session_names(
        self, *, org_id: str, query: SessionQuery, limit: int
    ) -> list[SessionNameSummary]:
        params = Params()
        where = session_where(params, org_id, query)
        rows = await self._settled_rows(
            "SELECT name, min(first_created_at_ms), max(last_created_at_ms) AS last_used, "
            f"{wide_sum('latency_sum_ms')}, {wide_sum('request_count')}, count() "
            f"FROM {session_rollup(params, org_id)} WHERE {where} "
            f"GROUP BY name ORDER BY last_used DESC, name LIMIT {int(limit)}",
            params.values,
        )
        return [SessionNameSummary(str(r[0]), *(int(v) for v in r[1:])) for r in rows]

    async def session_metrics(
        self, *, org_id: str, query: SessionQuery, fraction: float, interquartile: bool
    ) -> SessionMetrics:
        params = Params()
        where = session_where(params, org_id, query)
        rows = await self._settled_rows(
            # Sorted by ClickHouse: SortedValues's own sort then only checks the order.
            "SELECT arraySort(groupArray(request_count)), "
            "arraySort(groupArray(last_created_at_ms - first_created_at_ms)), "
            f"arraySort(groupArray(cost_nano_usd)) FROM {session_rollup(params, org_id)} WHERE {where}",
            params.values,
        )
        counts, durations, costs = (SortedValues(values) for values in rows[0])
        return session_metrics(counts, durations, costs, fraction=fraction, interquartile=interquartile)

    async def feedback_by_value(
        self, *, org_id: str, query: SessionQuery, dimension: str, limit: int
    ) -> list[FeedbackCounts]:
        params = Params()
        where = session_where(params, org_id, query)
        values = dimension_values(params, dimension)
        # The rollup keeps each value once per session: a session counts once for each value it carries.
        rows = await self._settled_rows(
            f"""SELECT value, count() AS sessions, countIf(feedback = 1), countIf(feedback = 0)
            FROM {session_rollup(params, org_id)} ARRAY JOIN {values} AS value WHERE {where}
            GROUP BY value ORDER BY sessions DESC, value LIMIT {int(limit)}""",
            params.values,
        )
        return [FeedbackCounts(str(v), int(n), int(up), int(down)) for v, n, up, down in rows]

    async def sessions_over_time(
        self, *, org_id: str, query: SessionQuery, bucket_ms: int
    ) -> list[SessionActivity]:
        params = Params()
        where = session_where(params, org_id, query)
        bucket = params.number(int(bucket_ms))
        rows = await self._settled_rows(
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
            if first_request(session, org_id, session_id) is None:
                return False
            row = (org_id, session_id, tag, now_ms(), change_version(), 0)
            session.insert(SESSION_TAGS.name, SESSION_TAGS.column_names(), [row])
            return True

        return await self._db.write(work)
