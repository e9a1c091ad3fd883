"""Writing a batch of requests on SQLite through the driver: writes.py's statements, compiled once.

A profile of single-record logging at 32 connections put about a fifth of the server's CPU in
SQLAlchemy's insert machinery on the writer thread: per batch, each statement's parameters were
processed column by column and the RETURNING rows of the "insertmanyvalues" form sorted back. The
statements themselves are cheap for SQLite. So on SQLite the batch runs here, on the writer's own
sqlite3 connection inside the same transaction: the same statements (built once, in writes.py, and
compiled once to `?` SQL), with the rows as tuples, `executemany` where no answer is needed, and
`execute` per row where one is (was this request new? what is the session's rollup now?).
`insert_batch` in writes.py stays the one definition of what a batch writes; this is its fast form,
and tests/storage run both on the same batches.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect

from heliograph.domain.records import RequestRecord
from heliograph.storage.columns import request_columns
from heliograph.storage.sql.schema import properties, requests, session_users
from heliograph.storage.sql.writes import (
    ROLLUP_COLUMNS,
    fold_rollups,
    insert_requests_statement,
    insert_session_users_statement,
    property_rows,
    session_user_rows,
    upsert_rollups_statement,
)

__all__ = ["insert_batch_sqlite"]


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A statement as `?` SQL, and how to lay out a row's values (by column name) for it."""

    sql: str
    names: tuple[str, ...]
    constants: Mapping[str, Any]

    def values(self, row: Mapping[str, Any]) -> tuple[Any, ...]:
        return tuple(row[name] if name in row else self.constants[name] for name in self.names)


def _compiled(statement: Any, columns: Sequence[str], *, returning: bool = True) -> _Compiled:
    """`statement` for rows of `columns`, compiled for sqlite3; without its RETURNING if not `returning`."""
    compiled = statement.compile(dialect=sqlite_dialect(paramstyle="qmark"), column_keys=columns)
    names = tuple(compiled.positiontup or ())
    sql = compiled.string if returning else compiled.string.split(" RETURNING ", 1)[0]
    return _Compiled(sql, names, {name: compiled.params[name] for name in names if name not in columns})


def _all(table: sa.Table) -> list[str]:
    return [column.name for column in table.columns]


_INSERT_REQUEST = _compiled(insert_requests_statement("sqlite"), _all(requests), returning=False)
_INSERT_PROPERTY = _compiled(sa.insert(properties), _all(properties))
_INSERT_SESSION_USER = _compiled(insert_session_users_statement("sqlite"), _all(session_users))
_UPSERT_ROLLUP = _compiled(upsert_rollups_statement("sqlite"), ROLLUP_COLUMNS)


def insert_batch_sqlite(conn: sa.Connection, records: Sequence[RequestRecord]) -> None:
    """`writes.insert_batch` on SQLite, run through the sqlite3 connection under `conn`'s transaction."""
    raw = conn.connection.dbapi_connection
    assert isinstance(raw, sqlite3.Connection)
    cursor = raw.cursor()
    try:
        unique: dict[tuple[str, str], RequestRecord] = {}
        for record in records:
            unique.setdefault((record.org_id, record.request_id), record)
        fresh = []
        for record in unique.values():
            # ON CONFLICT DO NOTHING changes no row for a request already stored (a client's retry).
            cursor.execute(_INSERT_REQUEST.sql, _INSERT_REQUEST.values(request_columns(record)))
            if cursor.rowcount == 1:
                fresh.append(record)
        if not fresh:
            return
        cursor.executemany(_INSERT_PROPERTY.sql, [_INSERT_PROPERTY.values(r) for r in property_rows(fresh)])
        cursor.executemany(
            _INSERT_SESSION_USER.sql, [_INSERT_SESSION_USER.values(r) for r in session_user_rows(fresh)]
        )

        def upsert(rows: list[dict[str, Any]]) -> list[Any]:
            answers = []
            for row in rows:
                cursor.execute(_UPSERT_ROLLUP.sql, _UPSERT_ROLLUP.values(row))
                answers.append(cursor.fetchone())
            return answers

        fold_rollups(conn, fresh, upsert=upsert)
    finally:
        cursor.close()
