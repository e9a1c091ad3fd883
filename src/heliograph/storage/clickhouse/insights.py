"""Properties and scores over a ClickHouse store's matching requests: their keys (and which are hidden),
per-value totals and score counts.

Session feedback is a rating here, not a stored property (see filters.py): as a property it is the
rating of each rated session, on that session's first request.
"""

from __future__ import annotations

from heliograph.domain.filters import FilterNode
from heliograph.domain.records import FEEDBACK_KEY, now_ms
from heliograph.domain.store import PropertyTotal, ScoreCount
from heliograph.storage.clickhouse.client import Connection, WriteSession, change_version
from heliograph.storage.clickhouse.reads import Params, live, live_requests, session_rollup
from heliograph.storage.clickhouse.rollups import RollupQueue
from heliograph.storage.clickhouse.schema import HIDDEN_PROPERTIES
from heliograph.storage.clickhouse.selects import request_where

__all__ = ["ClickHouseInsights"]


def _bucket(params: Params, bucket_ms: int | None, shift_ms: int) -> str:
    if bucket_ms is None:
        return "0"
    return f"intDiv(created_at_ms + {params.number(shift_ms)}, {params.number(bucket_ms)})"


def _start(bucket: object, bucket_ms: int | None, shift_ms: int) -> int | None:
    return None if bucket_ms is None else int(str(bucket)) * bucket_ms - shift_ms


class ClickHouseInsights:
    """The property and score reads of `ClickHouseStore` (a mixin: it uses the store's connection)."""

    _db: Connection
    _rollups: RollupQueue  # every read here may read rollups: it waits for the queue first

    async def property_keys(self, *, org_id: str) -> list[str]:
        await self._rollups.settle()
        params = Params()
        rows = await self._db.rows(
            f"SELECT DISTINCT arrayJoin(mapKeys(properties)) AS key FROM {live_requests(params, org_id)} "
            f"UNION DISTINCT SELECT {params.text(FEEDBACK_KEY)} FROM {session_rollup(params, org_id)} "
            "WHERE feedback IS NOT NULL",
            params.values,
        )
        return sorted(str(key) for (key,) in rows)

    async def set_property_hidden(self, *, org_id: str, key: str, hidden: bool) -> None:
        def work(session: WriteSession) -> None:
            row = (org_id, key, now_ms(), change_version(), 0 if hidden else 1)
            session.insert(HIDDEN_PROPERTIES.name, HIDDEN_PROPERTIES.column_names(), [row])

        await self._db.write(work)

    async def hidden_property_keys(self, *, org_id: str) -> list[str]:
        rows = await self._db.rows(
            f"SELECT key FROM {live(HIDDEN_PROPERTIES.name)} WHERE org_id = {{org:String}} ORDER BY key",
            {"org": org_id},
        )
        return [str(key) for (key,) in rows]

    async def property_totals(
        self, *, org_id: str, key: str, filter: FilterNode, bucket_ms: int | None, shift_ms: int = 0
    ) -> list[PropertyTotal]:
        await self._rollups.settle()
        params = Params()
        where = request_where(params, org_id, filter, None)
        if key == FEEDBACK_KEY:
            rated = (
                "SELECT first_request_id, toString(feedback) AS rating "
                f"FROM {session_rollup(params, org_id)} WHERE feedback IS NOT NULL"
            )
            value = "rated.rating"
            source = (
                f"{live_requests(params, org_id)} AS r "
                f"INNER JOIN ({rated}) AS rated ON rated.first_request_id = r.request_id"
            )
        else:
            value = f"properties[{params.text(key)}]"
            source = live_requests(params, org_id)
            where = f"{where} AND mapContains(properties, {params.text(key)})"
        rows = await self._db.rows(
            f"SELECT {value} AS value, {_bucket(params, bucket_ms, shift_ms)} AS bucket, count(), "
            f"sum(toInt128(cost_nano_usd)) FROM {source} WHERE {where} "
            "GROUP BY value, bucket ORDER BY bucket, value",
            params.values,
        )
        return [
            PropertyTotal(str(v), _start(b, bucket_ms, shift_ms), int(n), int(cost)) for v, b, n, cost in rows
        ]

    async def score_counts(
        self, *, org_id: str, filter: FilterNode, bucket_ms: int | None, shift_ms: int = 0
    ) -> list[ScoreCount]:
        await self._rollups.settle()
        params = Params()
        where = request_where(params, org_id, filter, None)
        rows = await self._db.rows(
            f"SELECT name, value, {_bucket(params, bucket_ms, shift_ms)} AS bucket, count() "
            f"FROM {live_requests(params, org_id)} "
            "ARRAY JOIN mapKeys(scores) AS name, mapValues(scores) AS value "
            f"WHERE {where} GROUP BY name, value, bucket ORDER BY name, bucket, value",
            params.values,
        )
        return [ScoreCount(str(k), int(v), _start(b, bucket_ms, shift_ms), int(n)) for k, v, b, n in rows]
