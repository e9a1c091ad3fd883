"""`SqlStore`: the Store interface on SQLite or PostgreSQL.

Every write is one transaction on the writer engine (see engine.py for SQLite's single writer).
A batch of requests, their properties, session users and session rollups commit together, so a
reader never sees a request without its session or a session whose sums disagree with its requests.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager, nullcontext
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql.asyncpg import dialect as pg_dialect
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.ext.asyncio import AsyncConnection

from heliograph.domain.breakdown import FeedbackCounts
from heliograph.domain.filters import FilterNode
from heliograph.domain.metrics import SessionMetrics, session_metrics
from heliograph.domain.records import RequestRecord, now_ms
from heliograph.domain.requests import RequestQuery
from heliograph.domain.sessions import SessionQuery
from heliograph.domain.store import (
    SessionActivity,
    SessionNameSummary,
    SessionSummary,
    SessionTotals,
    StoredRequest,
)
from heliograph.errors import Unavailable
from heliograph.storage.migrations.apply import upgrade_to_head
from heliograph.storage.sql.deletes import delete_request, delete_session
from heliograph.storage.sql.dialect import insert, overflow_safe_sum
from heliograph.storage.sql.driver_writes import insert_batch_sqlite
from heliograph.storage.sql.engine import Engines, create_engines
from heliograph.storage.sql.feedback import SqlFeedback, session_value_pairs
from heliograph.storage.sql.insights import SqlInsights
from heliograph.storage.sql.key_lookup import PostgresKeyLookup
from heliograph.storage.sql.metric_values import column_values
from heliograph.storage.sql.monitors import SqlMonitors
from heliograph.storage.sql.prepared import UNCACHED, prepare_conditions
from heliograph.storage.sql.reads import load_requests, load_sessions
from heliograph.storage.sql.schema import (
    api_keys,
    properties,
    requests,
    scores,
    session_duration_ms,
    session_tags,
    sessions,
)
from heliograph.storage.sql.selects import (
    request_conditions,
    request_order,
    session_conditions,
    session_order,
)
from heliograph.storage.sql.tenants import SqlTenants
from heliograph.storage.sql.transfer import SqlTransfer
from heliograph.storage.sql.writes import insert_batch

__all__ = ["SqlStore"]

T = TypeVar("T")
Condition = sa.ColumnElement[bool]
# Errors that mean "the database cannot be reached, is locked or did not answer in time", as opposed
# to a bad record: OperationalError and InterfaceError wrap lost connections, refused connections and
# "database is locked"; sa.exc.TimeoutError is a pool checkout that waited too long; OSError and
# TimeoutError escape from a driver's connect; sqlite3.OperationalError from the raw key lookup.
_UNAVAILABLE = (
    sa.exc.OperationalError,
    sa.exc.InterfaceError,
    sa.exc.TimeoutError,
    sqlite3.OperationalError,
    OSError,
    TimeoutError,
)


class SqlStore(SqlFeedback, SqlInsights, SqlMonitors, SqlTenants, SqlTransfer):
    """The SQL implementation of `heliograph.domain.store.Store`."""

    def __init__(self, engines: Engines) -> None:
        self._engines = engines
        self._dialect = engines.dialect
        self._key_lookup = engines.sqlite_lookup
        # The same statement as the async path, compiled once for the raw sqlite3 connection.
        self._key_lookup_sql = str(_org_of_key("?").compile(dialect=sqlite_dialect(paramstyle="qmark")))
        # PostgreSQL's lookup: the same statement, one round trip on a connection of its own.
        self._pg_key_lookup = (
            PostgresKeyLookup(
                engines.reader.url,
                str(_org_of_key("?").compile(dialect=pg_dialect())),  # type: ignore[no-untyped-call]
            )
            if engines.dialect == "postgresql"
            else None
        )
        # SQLite's one writer: every write transaction runs on this thread, in one hop.
        self._writer_thread = (
            ThreadPoolExecutor(max_workers=1, thread_name_prefix="heliograph-sqlite-writer")
            if engines.sync_writer is not None
            else None
        )

    async def _write(self, work: Callable[[sa.Connection], T]) -> T:
        """Run `work` in one write transaction: on the writer thread (SQLite) or via run_sync (PostgreSQL).

        Raises Unavailable when the database is unreachable, locked or too slow to answer.
        """
        sync_writer = self._engines.sync_writer
        with _unavailable_on_fault():
            if sync_writer is not None and self._writer_thread is not None:
                turn = self._engines.write_lock or nullcontext()

                def in_transaction() -> T:
                    with turn, sync_writer.begin() as conn:
                        return work(conn)

                return await asyncio.get_running_loop().run_in_executor(self._writer_thread, in_transaction)
            async with self._engines.writer.begin() as conn:
                return await conn.run_sync(work)

    @asynccontextmanager
    async def _read(
        self, *, transaction: bool = False, cached: bool = True
    ) -> AsyncIterator[AsyncConnection]:
        """A reader connection (one transaction when a read spans statements); faults become Unavailable.

        `cached=False` for statements that embed a user's filter (see prepared.UNCACHED).
        """
        with _unavailable_on_fault():
            async with self._engines.reader.connect() as conn:
                if not cached:
                    await conn.execution_options(**UNCACHED)
                if transaction:
                    async with conn.begin():
                        yield conn
                else:
                    yield conn

    async def _sessions_where(self, org_id: str, query: SessionQuery) -> list[Condition]:
        """The conditions of a session query; with a filter, built and compiled off the event loop."""
        if query.filter is None:
            return session_conditions(org_id, query)
        return await prepare_conditions(self._dialect, sessions, lambda: session_conditions(org_id, query))

    async def _requests_where(
        self, org_id: str, filter: FilterNode, is_scored: bool | None
    ) -> list[Condition]:
        """The conditions of a request query; with a filter, built and compiled off the event loop."""
        if filter is None:
            return request_conditions(org_id, filter, is_scored=is_scored)
        return await prepare_conditions(
            self._dialect, requests, lambda: request_conditions(org_id, filter, is_scored=is_scored)
        )

    @classmethod
    def from_url(cls, url: str) -> SqlStore:
        return cls(create_engines(url))

    @property
    def engines(self) -> Engines:
        return self._engines

    async def ping(self) -> None:
        """Raise Unavailable unless the database answers a read and would take a write now."""
        async with self._read() as conn:
            await conn.execute(sa.text("SELECT 1"))
        if self._writer_thread is not None:
            # SQLite: an empty write transaction on the writer thread takes the write lock (queued
            # behind our own batches, so never contending with them), which fails after busy_timeout
            # while another process holds it.
            await self._write(lambda _conn: None)

    async def migrate(self) -> None:
        await upgrade_to_head(self._engines.writer)

    async def refresh_statistics(self) -> None:
        """SQLite: ANALYZE the session rollup (0.08 s at 100,000 sessions). Without statistics SQLite
        guesses that `org_id = ?` selects a few rows and answers an organization's totals by walking an
        index and reading each session at random, 2-10x slower than scanning the table. PostgreSQL's
        autovacuum analyzes by itself."""
        if self._writer_thread is not None:
            await self._write(lambda conn: conn.exec_driver_sql("ANALYZE sessions"))

    async def close(self) -> None:
        if self._pg_key_lookup is not None:
            await self._pg_key_lookup.close()
        if self._writer_thread is not None:
            self._writer_thread.shutdown(wait=True)
        await self._engines.dispose()

    # -- keys ------------------------------------------------------------------------------------

    async def org_for_key_hash(self, key_hash: str) -> str | None:
        if self._key_lookup is not None:
            # On SQLite this one-row index read takes microseconds on the event loop; any hop to a
            # thread, or a pooled SQLAlchemy connection, costs far more per request.
            row = self._key_lookup.execute(self._key_lookup_sql, (key_hash,)).fetchone()
            return None if row is None else str(row[0])
        if self._pg_key_lookup is not None:
            return await self._pg_key_lookup.org_of(key_hash)
        async with self._read() as conn:
            row = (await conn.execute(_org_of_key(key_hash))).first()
        return None if row is None else str(row.org_id)

    # -- ingestion -------------------------------------------------------------------------------

    async def insert_requests(self, records: Sequence[RequestRecord]) -> None:
        if self._engines.sync_writer is not None:  # SQLite: the same statements, through the driver
            await self._write(lambda conn: insert_batch_sqlite(conn, records))
        else:
            await self._write(lambda conn: insert_batch(conn, self._dialect, records))

    # -- requests --------------------------------------------------------------------------------

    async def get_request(self, *, org_id: str, request_id: str) -> StoredRequest | None:
        stmt = sa.select(requests).where(requests.c.org_id == org_id, requests.c.request_id == request_id)
        async with self._read(transaction=True) as conn:
            found = await load_requests(conn, org_id, stmt)
        return found[0] if found else None

    async def query_requests(self, *, org_id: str, query: RequestQuery) -> list[StoredRequest]:
        where = await self._requests_where(org_id, query.filter, query.is_scored)
        if query.request_ids is not None:
            where.append(requests.c.request_id.in_(query.request_ids))
        stmt = (
            sa.select(requests)
            .where(*where)
            .order_by(*request_order(query.sort))
            .limit(query.limit)
            .offset(query.offset)
        )
        async with self._read(transaction=True, cached=query.filter is None) as conn:
            return await load_requests(conn, org_id, stmt)

    async def count_requests(self, *, org_id: str, filter: FilterNode, is_scored: bool | None) -> int:
        where = await self._requests_where(org_id, filter, is_scored)
        stmt = sa.select(sa.func.count()).select_from(requests).where(*where)
        async with self._read(cached=filter is None) as conn:
            return int((await conn.execute(stmt)).scalar_one())

    async def set_request_property(self, *, org_id: str, request_id: str, key: str, value: str) -> bool:
        def work(conn: sa.Connection) -> bool:
            found = _stored_request(conn, org_id, request_id)
            if found is None:
                return False
            stmt = insert(self._dialect, properties).values(
                org_id=org_id, request_id=request_id, session_id=found.session_id, key=key, value=value
            )
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[properties.c.org_id, properties.c.request_id, properties.c.key],
                    set_={"value": stmt.excluded.value},
                )
            )
            return True

        return await self._write(work)

    async def set_request_scores(self, *, org_id: str, request_id: str, values: Mapping[str, int]) -> bool:
        def work(conn: sa.Connection) -> bool:
            if _stored_request(conn, org_id, request_id) is None:
                return False
            if values:
                stmt = insert(self._dialect, scores)
                conn.execute(
                    stmt.on_conflict_do_update(
                        index_elements=[scores.c.org_id, scores.c.request_id, scores.c.key],
                        set_={"value": stmt.excluded.value},
                    ),
                    [
                        {"org_id": org_id, "request_id": request_id, "key": k, "value": v}
                        for k, v in values.items()
                    ],
                )
            return True

        return await self._write(work)

    async def delete_request(self, *, org_id: str, request_id: str) -> bool:
        return await self._write(lambda conn: delete_request(conn, org_id=org_id, request_id=request_id))

    # -- sessions --------------------------------------------------------------------------------

    async def delete_session(self, *, org_id: str, session_id: str) -> bool:
        return await self._write(lambda conn: delete_session(conn, org_id=org_id, session_id=session_id))

    async def get_session(self, *, org_id: str, session_id: str) -> SessionSummary | None:
        stmt = sa.select(sessions).where(sessions.c.org_id == org_id, sessions.c.session_id == session_id)
        async with self._read(transaction=True) as conn:
            found = await load_sessions(conn, org_id, stmt)
        return found[0] if found else None

    async def session_requests(self, *, org_id: str, session_id: str) -> list[StoredRequest]:
        stmt = (
            sa.select(requests)
            .where(requests.c.org_id == org_id, requests.c.session_id == session_id)
            .order_by(requests.c.created_at_ms, requests.c.request_id)
        )
        async with self._read(transaction=True) as conn:
            return await load_requests(conn, org_id, stmt)

    async def query_sessions(self, *, org_id: str, query: SessionQuery) -> list[SessionSummary]:
        where = await self._sessions_where(org_id, query)
        stmt = (
            sa.select(sessions)
            .where(*where)
            .order_by(*session_order(query))
            .limit(query.limit)
            .offset(query.offset)
        )
        async with self._read(transaction=True, cached=query.filter is None) as conn:
            return await load_sessions(conn, org_id, stmt)

    async def count_sessions(self, *, org_id: str, query: SessionQuery) -> SessionTotals:
        s = sessions.c
        where = await self._sessions_where(org_id, query)
        stmt = sa.select(
            sa.func.count(),
            overflow_safe_sum(self._dialect, s.cost_nano_usd),
            overflow_safe_sum(self._dialect, s.latency_sum_ms),
            overflow_safe_sum(self._dialect, s.request_count),
        ).where(*where)
        async with self._read(cached=query.filter is None) as conn:
            count, cost, latency, request_count = (await conn.execute(stmt)).one()
        return SessionTotals(int(count), int(cost), int(latency), int(request_count))

    async def session_names(
        self, *, org_id: str, query: SessionQuery, limit: int
    ) -> list[SessionNameSummary]:
        s = sessions.c
        where = await self._sessions_where(org_id, query)
        last_used = sa.func.max(s.last_created_at_ms)
        stmt = (
            sa.select(
                s.name,
                sa.func.min(s.first_created_at_ms),
                last_used,
                overflow_safe_sum(self._dialect, s.latency_sum_ms),
                overflow_safe_sum(self._dialect, s.request_count),
                sa.func.count(),
            )
            .where(*where)
            .group_by(s.name)
            .order_by(last_used.desc(), s.name)
            .limit(limit)
        )
        async with self._read(cached=query.filter is None) as conn:
            rows = (await conn.execute(stmt)).all()
        return [SessionNameSummary(r[0], int(r[1]), int(r[2]), int(r[3]), int(r[4]), int(r[5])) for r in rows]

    async def session_metrics(
        self, *, org_id: str, query: SessionQuery, fraction: float, interquartile: bool
    ) -> SessionMetrics:
        conditions = await self._sessions_where(org_id, query)

        def work(conn: sa.Connection) -> SessionMetrics:
            counts, durations, costs = column_values(
                conn,
                sessions,
                conditions,
                [sessions.c.request_count, session_duration_ms, sessions.c.cost_nano_usd],
            )
            return session_metrics(counts, durations, costs, fraction=fraction, interquartile=interquartile)

        async with self._read(cached=query.filter is None) as conn:
            if self._dialect == "postgresql":  # one snapshot for the dozen statements
                await conn.execution_options(isolation_level="REPEATABLE READ")
            async with conn.begin():
                return await conn.run_sync(work)

    async def feedback_by_value(
        self, *, org_id: str, query: SessionQuery, dimension: str, limit: int
    ) -> list[FeedbackCounts]:
        where = await self._sessions_where(org_id, query)
        pairs = session_value_pairs(dimension, where)
        sessions_count = sa.func.count()
        stmt = (
            sa.select(
                pairs.c.value,
                sessions_count,
                sa.func.sum(sa.case((pairs.c.feedback == 1, 1), else_=0)),
                sa.func.sum(sa.case((pairs.c.feedback == 0, 1), else_=0)),
            )
            .group_by(pairs.c.value)
            .order_by(sessions_count.desc(), pairs.c.value)
            .limit(limit)
        )
        async with self._read(cached=query.filter is None) as conn:
            rows = (await conn.execute(stmt)).all()
        return [FeedbackCounts(str(v), int(n), int(up or 0), int(down or 0)) for v, n, up, down in rows]

    async def sessions_over_time(
        self, *, org_id: str, query: SessionQuery, bucket_ms: int
    ) -> list[SessionActivity]:
        s = sessions.c
        where = await self._sessions_where(org_id, query)
        bucket = (s.first_created_at_ms // bucket_ms).label("bucket")
        stmt = (
            sa.select(
                bucket,
                sa.func.count(),
                sa.func.sum(sa.case((s.feedback == 1, 1), else_=0)),
                sa.func.sum(sa.case((s.feedback == 0, 1), else_=0)),
            )
            .where(*where)
            .group_by(bucket)
            .order_by(bucket)
        )
        async with self._read(cached=query.filter is None) as conn:
            rows = (await conn.execute(stmt)).all()
        return [
            SessionActivity(int(b) * bucket_ms, int(n), int(up or 0), int(down or 0))
            for b, n, up, down in rows
        ]

    async def get_session_tag(self, *, org_id: str, session_id: str) -> str | None:
        stmt = sa.select(session_tags.c.tag).where(
            session_tags.c.org_id == org_id, session_tags.c.session_id == session_id
        )
        async with self._read() as conn:
            row = (await conn.execute(stmt)).first()
        return None if row is None else str(row.tag)

    async def set_session_tag(self, *, org_id: str, session_id: str, tag: str) -> bool:
        def work(conn: sa.Connection) -> bool:
            known = sa.select(sessions.c.session_id).where(
                sessions.c.org_id == org_id, sessions.c.session_id == session_id
            )
            if conn.execute(known).first() is None:
                return False
            stmt = insert(self._dialect, session_tags).values(
                org_id=org_id, session_id=session_id, tag=tag, tagged_at_ms=now_ms()
            )
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[session_tags.c.org_id, session_tags.c.session_id],
                    set_={"tag": stmt.excluded.tag, "tagged_at_ms": stmt.excluded.tagged_at_ms},
                )
            )
            return True

        return await self._write(work)


@contextmanager
def _unavailable_on_fault() -> Iterator[None]:
    """Turn a database fault (down, locked, timed out) into Unavailable, which the API answers with 503."""
    try:
        yield
    except _UNAVAILABLE as exc:
        raise Unavailable(f"The database is unavailable ({_fault_name(exc)}); retry shortly") from exc


def _fault_name(exc: BaseException) -> str:
    """A short, key-free description of a fault: the driver's error class, or "locked" for SQLite."""
    original = getattr(exc, "orig", None) or exc
    if "locked" in str(original):
        return "database is locked"
    return type(original).__name__


def _org_of_key(key_hash: str) -> sa.Select[tuple[str]]:
    return sa.select(api_keys.c.org_id).where(
        api_keys.c.key_hash == key_hash, api_keys.c.revoked_at_ms.is_(None)
    )


def _stored_request(conn: sa.Connection, org_id: str, request_id: str) -> sa.Row[tuple[str | None]] | None:
    """The stored request's session id (in a row, so a request outside sessions is found too), or None."""
    stmt = sa.select(requests.c.session_id).where(
        requests.c.org_id == org_id, requests.c.request_id == request_id
    )
    return conn.execute(stmt).first()
