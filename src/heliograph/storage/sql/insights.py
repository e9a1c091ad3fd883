"""Properties and scores over a SQL store's matching requests: their keys (and which are hidden),
per-value totals and score counts."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from heliograph.domain.filters import FilterNode
from heliograph.domain.store import PropertyTotal, ScoreCount
from heliograph.storage.sql.dialect import Dialect, insert, overflow_safe_sum
from heliograph.storage.sql.schema import hidden_properties, properties, requests, scores

__all__ = ["SqlInsights"]

Condition = sa.ColumnElement[bool]


def _bucket(bucket_ms: int | None, shift_ms: int) -> sa.ColumnElement[Any]:
    """The bucket number of a request, or a constant 0 when unbucketed."""
    if bucket_ms is None:
        return sa.literal(0).label("bucket")
    return ((requests.c.created_at_ms + shift_ms) // bucket_ms).label("bucket")


def _start(bucket: Any, bucket_ms: int | None, shift_ms: int) -> int | None:
    return None if bucket_ms is None else int(bucket) * bucket_ms - shift_ms


class SqlInsights:
    """The property and score reads of `SqlStore` (a mixin: it uses the store's connections)."""

    _dialect: Dialect
    _read: Callable[..., AbstractAsyncContextManager[AsyncConnection]]
    _requests_where: Callable[[str, FilterNode, bool | None], Awaitable[list[Condition]]]
    _write: Callable[[Callable[[sa.Connection], Any]], Awaitable[Any]]

    async def property_keys(self, *, org_id: str) -> list[str]:
        stmt = (
            sa.select(properties.c.key)
            .where(properties.c.org_id == org_id)
            .distinct()
            .order_by(properties.c.key)
        )
        async with self._read() as conn:
            return [str(key) for key in (await conn.execute(stmt)).scalars()]

    async def set_property_hidden(self, *, org_id: str, key: str, hidden: bool) -> None:
        h = hidden_properties.c

        def work(conn: sa.Connection) -> None:
            if not hidden:
                conn.execute(sa.delete(hidden_properties).where(h.org_id == org_id, h.key == key))
                return
            stmt = insert(self._dialect, hidden_properties).values(
                org_id=org_id, key=key, hidden_at_ms=time.time_ns() // 1_000_000
            )
            conn.execute(stmt.on_conflict_do_nothing(index_elements=[h.org_id, h.key]))

        await self._write(work)

    async def hidden_property_keys(self, *, org_id: str) -> list[str]:
        h = hidden_properties.c
        stmt = sa.select(h.key).where(h.org_id == org_id).order_by(h.key)
        async with self._read() as conn:
            return [str(key) for key in (await conn.execute(stmt)).scalars()]

    async def property_totals(
        self, *, org_id: str, key: str, filter: FilterNode, bucket_ms: int | None, shift_ms: int = 0
    ) -> list[PropertyTotal]:
        where = await self._requests_where(org_id, filter, None)
        bucket = _bucket(bucket_ms, shift_ms)
        stmt = (
            sa.select(
                properties.c.value,
                bucket,
                sa.func.count(),
                overflow_safe_sum(self._dialect, requests.c.cost_nano_usd),
            )
            .select_from(
                requests.join(
                    properties,
                    sa.and_(
                        properties.c.org_id == requests.c.org_id,
                        properties.c.request_id == requests.c.request_id,
                        properties.c.key == key,
                    ),
                )
            )
            .where(*where)
            .group_by(properties.c.value, bucket)
            .order_by(bucket, properties.c.value)
        )
        async with self._read(cached=filter is None) as conn:
            rows = (await conn.execute(stmt)).all()
        return [
            PropertyTotal(str(value), _start(b, bucket_ms, shift_ms), int(n), int(cost))
            for value, b, n, cost in rows
        ]

    async def score_counts(
        self, *, org_id: str, filter: FilterNode, bucket_ms: int | None, shift_ms: int = 0
    ) -> list[ScoreCount]:
        where = await self._requests_where(org_id, filter, None)
        bucket = _bucket(bucket_ms, shift_ms)
        stmt = (
            sa.select(scores.c.key, scores.c.value, bucket, sa.func.count())
            .select_from(
                requests.join(
                    scores,
                    sa.and_(
                        scores.c.org_id == requests.c.org_id, scores.c.request_id == requests.c.request_id
                    ),
                )
            )
            .where(*where)
            .group_by(scores.c.key, scores.c.value, bucket)
            .order_by(scores.c.key, bucket, scores.c.value)
        )
        async with self._read(cached=filter is None) as conn:
            rows = (await conn.execute(stmt)).all()
        return [ScoreCount(str(k), int(v), _start(b, bucket_ms, shift_ms), int(n)) for k, v, b, n in rows]
