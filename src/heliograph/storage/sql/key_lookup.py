"""The API key lookup on PostgreSQL: one round trip on a connection of its own, no cache.

Every logged call checks its key. Through SQLAlchemy's pool each check took a pooled connection
(with its pre-ping), a BEGIN, the SELECT and a ROLLBACK; 32 concurrent calls overflowed the pool, so
connections were opened and closed call after call. A profile at 32 connections put 47% of the
server's Python time there. Here the lookup is one prepared SELECT in autocommit on a single asyncpg
connection, one query at a time (a lookup takes a fraction of a millisecond, so the lock is never the
bottleneck). It reads the database every time, so a revoked key is refused by the very next request,
as on SQLite (whose lookup is a raw sqlite3 read for the same reason).

A connection that fails is dropped and the next lookup opens a new one; the failure is Unavailable
(503), like any other database fault.
"""

from __future__ import annotations

import asyncio

import asyncpg
import sqlalchemy as sa

from heliograph.errors import Unavailable
from heliograph.storage.sql.engine import POSTGRES_CONNECT_TIMEOUT_S, POSTGRES_STATEMENT_TIMEOUT_S

__all__ = ["PostgresKeyLookup"]

# Faults of the lookup's connection: the server is down, restarting or unreachable, or the connection
# was lost. A lookup that fails this way is answered 503 and the connection is replaced.
_FAULTS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError)


class PostgresKeyLookup:
    """`org_of(key_hash)` on one asyncpg connection, opened on first use in the running event loop."""

    def __init__(self, url: sa.URL, sql: str) -> None:
        self._dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._sql = sql
        self._conn: asyncpg.Connection | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None

    async def org_of(self, key_hash: str) -> str | None:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # a store used from a new event loop (tests, the CLI): start afresh
            self._conn, self._loop, self._lock = None, loop, asyncio.Lock()
        assert self._lock is not None
        async with self._lock:
            try:
                if self._conn is None or self._conn.is_closed():
                    self._conn = await asyncpg.connect(
                        self._dsn,
                        timeout=POSTGRES_CONNECT_TIMEOUT_S,
                        command_timeout=POSTGRES_STATEMENT_TIMEOUT_S,
                        server_settings={"jit": "off"},
                    )
                org_id = await self._conn.fetchval(self._sql, key_hash)
            except _FAULTS as exc:
                await self._drop()
                raise Unavailable(
                    f"The database is unavailable ({type(exc).__name__}); retry shortly"
                ) from exc
        return None if org_id is None else str(org_id)

    async def close(self) -> None:
        if self._loop is asyncio.get_running_loop():
            await self._drop()
        self._conn = None

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.terminate()  # no round trip to a server that may not answer
