"""The WHERE clause of a filtered read, built and compiled off the event loop.

A filter of a few hundred leaves takes SQLAlchemy some 100 ms to build and compile, which on the
event loop would stall every other request for as long. So the conditions are built and compiled in a
worker thread, once, into one SQL fragment with its bound values (`sa.text`), which the statements of
the read then embed at the cost of a string substitution. Such statements are never put in
SQLAlchemy's compiled cache (see UNCACHED): each distinct filter would otherwise stay there, and a
few hundred large ones took gigabytes.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from typing import Any, assert_never

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.dialects.sqlite.base import SQLiteDialect

from heliograph.storage.sql.dialect import Dialect

__all__ = ["UNCACHED", "prepare_conditions"]

Condition = sa.ColumnElement[bool]
# Execution options for a statement that embeds a user's filter: compiled afresh, never cached.
UNCACHED: dict[str, Any] = {"compiled_cache": None}
_WHERE = "\nWHERE "
_BIND = re.compile(r"(?<![:\w]):(\w+)")


async def prepare_conditions(
    dialect: Dialect, table: sa.Table, build: Callable[[], Sequence[Condition]]
) -> list[Condition]:
    """`build()`'s conditions on `table` as one precompiled condition, built in a worker thread."""
    return [await asyncio.to_thread(_precompiled, dialect, table, build)]


def _precompiled(dialect: Dialect, table: sa.Table, build: Callable[[], Sequence[Condition]]) -> Condition:
    # Compiled inside a SELECT of the table, so that subqueries correlate with it as they will in the
    # real statement; the fragment is what follows the outer WHERE.
    anchor = sa.select(*table.primary_key.columns).where(*build())
    compiled = anchor.compile(dialect=_named(dialect), compile_kwargs={"render_postcompile": True})
    sql = compiled.string.split(_WHERE, 1)[1]
    # Bound names made unique to this fragment, so they never meet the embedding statement's own.
    renamed = _BIND.sub(lambda match: f":hgf_{match.group(1)}", sql)
    binds = [
        sa.bindparam(f"hgf_{name}", value, type_=compiled.binds[name].type)
        for name, value in compiled.params.items()
    ]
    return sa.text(f"({renamed})").bindparams(*binds)  # type: ignore[return-value]


def _named(dialect: Dialect) -> sa.Dialect:
    """The dialect's SQL with `:name` parameters, as `sa.text` reads them (no driver-specific casts)."""
    match dialect:
        case "sqlite":
            return SQLiteDialect(paramstyle="named")
        case "postgresql":
            return PGDialect(paramstyle="named")  # type: ignore[no-untyped-call]
        case _:
            assert_never(dialect)
