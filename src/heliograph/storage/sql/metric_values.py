"""`OrderedValues` (domain.metrics) of one integer expression over the sessions a query selects.

Each question is one statement that an index on (org_id, expression) answers by walking part of it:
a rank is an OFFSET, a bound a seek, the histogram one pass over the values kept. No session row is
loaded into Python. The statements run on a synchronous connection (`AsyncConnection.run_sync`),
all in the caller's transaction, so they see one snapshot.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from heliograph.domain.metrics import OrderedValues

__all__ = ["ColumnValues"]

Condition = sa.ColumnElement[bool]


class ColumnValues(OrderedValues):
    """The values of `value` on the rows of `table` where every condition holds."""

    def __init__(
        self, conn: sa.Connection, table: sa.Table, value: sa.ColumnElement[Any], conditions: list[Condition]
    ) -> None:
        self._conn = conn
        self._table = table
        self._value = value
        self._conditions = conditions

    def _select(self, *columns: sa.ColumnElement[Any], where: Condition | None = None) -> sa.Select[Any]:
        conditions = self._conditions if where is None else [*self._conditions, where]
        return sa.select(*columns).select_from(self._table).where(*conditions)

    def count_and_total(self) -> tuple[int, int]:
        stmt = self._select(sa.func.count(), sa.func.coalesce(sa.func.sum(self._value), 0))
        count, total = self._conn.execute(stmt).one()
        return int(count), int(total)

    def values_from(self, rank: int, count: int) -> list[int]:
        stmt = self._select(self._value).order_by(self._value).limit(count).offset(rank)
        return [int(v) for v in self._conn.execute(stmt).scalars()]

    def min_at_least(self, bound: int) -> int | None:
        found = self._conn.execute(
            self._select(sa.func.min(self._value), where=self._value >= bound)
        ).scalar()
        return None if found is None else int(found)

    def max_at_most(self, bound: int) -> int | None:
        found = self._conn.execute(
            self._select(sa.func.max(self._value), where=self._value <= bound)
        ).scalar()
        return None if found is None else int(found)

    def count_in(self, edges: Sequence[int]) -> list[int]:
        inside = sa.and_(self._value >= edges[0], self._value <= edges[-1])
        ranges = len(edges) - 1
        if ranges == 1:
            return [int(self._conn.execute(self._select(sa.func.count(), where=inside)).scalar_one())]
        which = sa.case(
            *((self._value < edge, index) for index, edge in enumerate(edges[1:-1])), else_=ranges - 1
        )
        # Grouped in an outer query: PostgreSQL cannot match a GROUP BY to a SELECT with bound values.
        kept = self._select(which.label("range_index"), where=inside).subquery()
        stmt = sa.select(kept.c.range_index, sa.func.count()).group_by(kept.c.range_index)
        counts = [0] * ranges
        for index, count in self._conn.execute(stmt):
            counts[int(index)] = int(count)
        return counts
