"""Every place where SQLite and PostgreSQL differ, each defined once and branching on the dialect."""

from __future__ import annotations

from typing import Any, Literal, assert_never

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

__all__ = [
    "INT64_MAX",
    "Dialect",
    "dialect_of",
    "greatest",
    "insert",
    "least",
    "overflow_safe_sum",
    "saturating_add",
]

Dialect = Literal["sqlite", "postgresql"]
INT64_MAX = 2**63 - 1


def dialect_of(url: str) -> Dialect:
    """The dialect a database URL speaks."""
    if url.startswith("sqlite"):
        return "sqlite"
    if url.startswith(("postgresql", "postgres")):
        return "postgresql"
    raise ValueError(f"unsupported database URL scheme: {url.split(':', 1)[0]!r}")


def insert(dialect: Dialect, table: sa.Table) -> Any:
    """An INSERT that supports ON CONFLICT clauses (both dialects spell them alike)."""
    match dialect:
        case "sqlite":
            return sqlite.insert(table)
        case "postgresql":
            return postgresql.insert(table)
        case _:
            assert_never(dialect)


def least(dialect: Dialect, a: Any, b: Any) -> sa.ColumnElement[Any]:
    """The smaller of two values (SQLite's two-argument min, PostgreSQL's least)."""
    match dialect:
        case "sqlite":
            return sa.func.min(a, b)
        case "postgresql":
            return sa.func.least(a, b)
        case _:
            assert_never(dialect)


def greatest(dialect: Dialect, a: Any, b: Any) -> sa.ColumnElement[Any]:
    """The larger of two values (SQLite's two-argument max, PostgreSQL's greatest)."""
    match dialect:
        case "sqlite":
            return sa.func.max(a, b)
        case "postgresql":
            return sa.func.greatest(a, b)
        case _:
            assert_never(dialect)


def saturating_add(dialect: Dialect, a: Any, b: Any) -> sa.ColumnElement[Any]:
    """a + b of 64-bit integers, held at INT64_MAX instead of failing (so a session rollup always adds up)."""
    match dialect:
        case "sqlite":  # an overflowing + gives a REAL, which min() brings back to the largest integer
            return sa.func.min(a + b, INT64_MAX)
        case "postgresql":  # + of two bigints raises on overflow; of numerics it cannot
            return sa.cast(sa.func.least(sa.cast(a, sa.Numeric) + b, INT64_MAX), sa.BigInteger)
        case _:
            assert_never(dialect)


def overflow_safe_sum(dialect: Dialect, value: Any) -> sa.ColumnElement[Any]:
    """SUM of 64-bit integers that cannot overflow, 0 over no rows: SQLite's sum() raises past 64 bits,
    its total() adds as floats (exact while the total stays below 2**53); PostgreSQL sums bigints as
    numeric."""
    match dialect:
        case "sqlite":
            return sa.func.total(value)
        case "postgresql":
            return sa.func.coalesce(sa.func.sum(value), 0)
        case _:
            assert_never(dialect)
