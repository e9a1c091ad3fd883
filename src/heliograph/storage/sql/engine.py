"""Database engines: URL forms, SQLite pragmas and the one-writer rule.

SQLite allows one writer at a time. Heliograph gives it exactly one: a synchronous engine with a
single connection, used only from one writer thread, whose transactions start with BEGIN IMMEDIATE
so a write never fails half-way on a lock upgrade. A whole transaction then costs one thread hop,
instead of one event-loop round trip per statement. Readers use their own async pool and, under
WAL, never block the writer. PostgreSQL uses one async engine for everything.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from heliograph.storage.sql.dialect import Dialect, dialect_of

__all__ = ["SQLITE_READER_RECYCLE_S", "Engines", "async_url", "create_engines"]

# WAL lets readers run while the writer commits.
# synchronous=FULL fsyncs the WAL at every commit: an acknowledged write survives power loss, and
# group commit amortises the fsync over a whole batch.
# busy_timeout makes a second process (the CLI, a migration) wait for the lock instead of failing.
# case_sensitive_like makes LIKE behave as on PostgreSQL; ILIKE is compiled to lower() LIKE lower().
# cache_size of 64 MiB per connection (default 2 MiB) keeps the hot index pages of a million-request
# store in memory.
# wal_autocheckpoint of 4,000 pages (16 MiB of WAL; SQLite's default is 1,000): the writer checkpoints
# a quarter as often, and the hot index pages that every batch changes are copied back once per
# checkpoint instead of four times. In process, a batch of 24 logged calls cost the writer 15-20% less
# CPU (write and commit: 200-209 us per call at 1,000 pages, 158-171 us at 4,000). Durability is the
# same: every commit's WAL frames are fsynced (synchronous=FULL) before it is acknowledged.
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    "PRAGMA busy_timeout=5000",
    "PRAGMA foreign_keys=ON",
    "PRAGMA case_sensitive_like=ON",
    "PRAGMA cache_size=-65536",
    "PRAGMA wal_autocheckpoint=4000",
)
SQLITE_READER_POOL_SIZE = 4
# Statements each reader connection keeps prepared (Python's default is 128). A read with a large
# filter prepares a statement of some 0.2 MB that no other read shares, so 128 of them per connection
# held some 100 MB; the app's own reads are a couple of dozen statements.
SQLITE_READER_STATEMENT_CACHE = 16
# A SQLite connection plans with the statistics (sqlite_stat1) it loaded when it connected, so reader
# connections are replaced this often to pick up the ones the app refreshes as the store grows.
SQLITE_READER_RECYCLE_S = 3600.0
POSTGRES_POOL_SIZE = 10
# Bounds on every wait for PostgreSQL, so an unreachable server (refused, or silently dropping packets)
# turns into a 503 within seconds instead of a hung request: the TCP connect plus start-up, and each
# statement (asyncpg's client-side timeout, which also covers BEGIN, COMMIT and the pre-ping). No
# healthy batch or API query comes near them. The wait for a pooled connection keeps SQLAlchemy's 30 s,
# as a shorter one risks turning a burst of readers on a busy machine into 503s.
POSTGRES_CONNECT_TIMEOUT_S = 5.0
POSTGRES_STATEMENT_TIMEOUT_S = 15.0


@dataclass(frozen=True, slots=True)
class Engines:
    """The engines of one database.

    `reader` serves queries; `writer` runs migrations (and, on PostgreSQL, every write);
    `sync_writer` (SQLite only) runs every write on the writer thread; `sqlite_lookup` (SQLite only)
    is a raw autocommit connection for point reads on the event loop itself, cheaper than any hop.
    """

    dialect: Dialect
    reader: AsyncEngine
    writer: AsyncEngine
    sync_writer: sa.Engine | None = None
    sqlite_lookup: sqlite3.Connection | None = None
    write_lock: ProcessWriteLock | None = None

    async def dispose(self) -> None:
        await self.reader.dispose()
        if self.writer is not self.reader:
            await self.writer.dispose()
        if self.sync_writer is not None:
            self.sync_writer.dispose()
        if self.sqlite_lookup is not None:
            self.sqlite_lookup.close()
        if self.write_lock is not None:
            self.write_lock.close()


class ProcessWriteLock:
    """An exclusive lock on a file beside the database, held around each write transaction.

    With `serve --workers N` the writer threads of N processes want SQLite's one write lock. Waiting in
    SQLite's busy handler means sleeping in steps that grow to 100 ms, so a batch could wait long after
    the lock was free; a waiter on this lock is woken by the kernel the moment it is released. Other
    writers (the CLI) do not take it and still meet the busy timeout. A dead process's lock is released
    with its descriptors.
    """

    def __init__(self, path: Path) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)

    def __enter__(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *_exc: object) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        os.close(self._fd)


def async_url(url: str) -> str:
    """Turn `sqlite:///x.db` or `postgresql://...` into the async driver form SQLAlchemy needs."""
    scheme, _, rest = url.partition("://")
    match dialect_of(url):
        case "sqlite":
            return f"sqlite+aiosqlite://{rest}"
        case "postgresql":
            return f"postgresql+asyncpg://{rest}"
    raise AssertionError(scheme)


def create_engines(url: str) -> Engines:
    """Build the engines for `url`; for SQLite, create the file's folder if needed."""
    dialect = dialect_of(url)
    if dialect == "sqlite":
        path = url.split(":///", 1)[1]
        on_disk = bool(path) and path != ":memory:"
        if on_disk:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        writer = _sqlite_engine(url, pool_size=1, begin="BEGIN IMMEDIATE")
        reader = _sqlite_engine(
            url,
            pool_size=SQLITE_READER_POOL_SIZE,
            begin="BEGIN",
            recycle_s=SQLITE_READER_RECYCLE_S,
            statement_cache=SQLITE_READER_STATEMENT_CACHE,
        )
        sync_writer = _sqlite_sync_engine(url, begin="BEGIN IMMEDIATE")
        lookup = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        _apply_pragmas(lookup)
        return Engines(
            dialect,
            reader=reader,
            writer=writer,
            sync_writer=sync_writer,
            sqlite_lookup=lookup,
            write_lock=ProcessWriteLock(Path(f"{path}.write-lock")) if on_disk else None,
        )
    engine = create_async_engine(
        async_url(url),
        pool_size=POSTGRES_POOL_SIZE,
        max_overflow=POSTGRES_POOL_SIZE,
        # A connection that died while pooled (server restart, network cut) is replaced on checkout,
        # so the first requests after the database returns succeed instead of failing once each.
        pool_pre_ping=True,
        connect_args={
            "timeout": POSTGRES_CONNECT_TIMEOUT_S,
            "command_timeout": POSTGRES_STATEMENT_TIMEOUT_S,
            # JIT compilation costs more than it saves on short OLTP queries.
            "server_settings": {"jit": "off"},
        },
    )
    return Engines(dialect, reader=engine, writer=engine)


def _sqlite_engine(
    url: str, *, pool_size: int, begin: str, recycle_s: float = -1, statement_cache: int = 128
) -> AsyncEngine:
    engine = create_async_engine(
        async_url(url),
        pool_size=pool_size,
        max_overflow=0,
        pool_recycle=recycle_s,
        connect_args={"cached_statements": statement_cache},
    )
    _configure_sqlite(engine.sync_engine, begin=begin)
    return engine


def _sqlite_sync_engine(url: str, *, begin: str) -> sa.Engine:
    # One connection, used by one thread at a time (the writer thread, or the event loop).
    engine = sa.create_engine(
        "sqlite://" + url.partition("://")[2],
        poolclass=sa.pool.QueuePool,
        pool_size=1,
        max_overflow=0,
        connect_args={"check_same_thread": False},
    )
    _configure_sqlite(engine, begin=begin)
    return engine


def _apply_pragmas(dbapi_connection: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


def _configure_sqlite(engine: sa.Engine, *, begin: str) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control from the sqlite3 module so that BEGIN is ours to choose.
        dbapi_connection.isolation_level = None
        _apply_pragmas(dbapi_connection)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql(begin)
