"""Every place where SQLite and PostgreSQL differ, each defined once and branching on the dialect."""

from __future__ import annotations

from typing import Any, Literal, assert_never

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

__all__ = ["Dialect", "dialect_of", "greatest", "insert", "least"]

Dialect = Literal["sqlite", "postgresql"]


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
