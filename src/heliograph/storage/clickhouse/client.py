"""Connections to ClickHouse from a database URL, and the threads that run their blocking calls.

clickhouse-connect is synchronous. Reads run on a small thread pool, each thread with a client of its
own (a chdb client serializes its calls, so one shared client would let only one query run at a time).
Batches of new requests are inserted on a thread of their own; every other write runs on one writer
thread, so a process's read-modify-write updates (a property, a score) never interleave. chdb, the
embedded engine, opens its directory from one process only (config refuses `--workers` > 1 for it).
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import OperationalError, ProgrammingError
from clickhouse_connect.driver.insert import InsertContext

from heliograph.errors import Unavailable

__all__ = [
    "ClickHouseTarget",
    "Connection",
    "change_ms",
    "change_ms_sql",
    "change_version",
    "first_version",
    "parse_url",
]

T = TypeVar("T")
DEFAULT_DATABASE = "heliograph"
READ_THREADS = 4
# A server acknowledges an async insert only once it is written (wait_for_async_insert), so many
# stateless servers can share ClickHouse's insert buffering and acknowledged still means stored.
SERVER_INSERT_SETTINGS = {"async_insert": 1, "wait_for_async_insert": 1}


# Row versions. A change (a property, a score, a deletion, a rating) is versioned above _VERSION_BASE by
# its time, so the newest change wins. A new request is versioned below it, lower the later it was
# written: of a request id written twice (a client's retry), the first copy wins without a read, and
# any change to it wins over both.
_VERSION_BASE = 2**62


_changes = itertools.count()


def change_version() -> int:
    """The version of a change: above every earlier change of this process (nanoseconds, made unique)
    and above every new request's version."""
    return _VERSION_BASE + time.time_ns() + next(_changes) % 1000


def first_version(written_ns: int) -> int:
    """The version of a new request written at `written_ns`: below every change, and below the
    versions of the copies of it written earlier."""
    return _VERSION_BASE - written_ns


def change_ms(version: int) -> int:
    """When the change of version `version` was made (epoch ms)."""
    return (version - _VERSION_BASE) // 1_000_000


def change_ms_sql(version: str) -> str:
    """SQL: when the change of the version column or expression `version` was made (epoch ms)."""
    return f"toInt64(intDiv({version} - {_VERSION_BASE}, 1000000))"


@dataclass(frozen=True, slots=True)
class ClickHouseTarget:
    """Where a URL points: an embedded directory (chdb) or a server, and the database in it."""

    database: str
    chdb_path: str | None = None
    host: str = "localhost"
    port: int = 8123
    username: str = "default"
    password: str = ""
    secure: bool = False

    @property
    def embedded(self) -> bool:
        return self.chdb_path is not None


def parse_url(url: str) -> ClickHouseTarget:
    """`chdb:///abs/dir`, `clickhouse://user:password@host:8123/db` or `clickhouses://…` (TLS)."""
    parts = urlsplit(url)
    if parts.scheme == "chdb":
        return ClickHouseTarget(database=DEFAULT_DATABASE, chdb_path=parts.path)
    secure = parts.scheme == "clickhouses"
    return ClickHouseTarget(
        database=parts.path.strip("/") or DEFAULT_DATABASE,
        host=parts.hostname or "localhost",
        port=parts.port or (8443 if secure else 8123),
        username=unquote(parts.username or "default"),
        password=unquote(parts.password or ""),
        secure=secure,
    )


class Connection:
    """One client and its threads; every call is awaited and its faults become Unavailable."""

    def __init__(self, target: ClickHouseTarget) -> None:
        self.target = target
        self._client = _connect(target, create_database=True)  # the writer's
        self._inserter = _connect(target)
        self._writer_contexts: InsertContexts = {}
        self._inserter_contexts: InsertContexts = {}
        self._readers = ThreadPoolExecutor(READ_THREADS, thread_name_prefix="heliograph-ch-read")
        self._reader_clients: list[Client] = []
        self._local = threading.local()
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="heliograph-ch-write")
        self._inserts = ThreadPoolExecutor(1, thread_name_prefix="heliograph-ch-insert")

    async def rows(self, sql: str, parameters: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """The rows of a SELECT."""
        return await self._run(self._readers, lambda: _tuples(self._reader(), sql, parameters))

    async def write(self, work: Callable[[WriteSession], T]) -> T:
        """Run `work` on the writer thread, where it may read and insert in order."""
        session = WriteSession(self._client, self.target, self._writer_contexts)
        return await self._run(self._writer, lambda: work(session))

    async def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Insert `rows` on the insert thread, beside the writer's work."""
        session = WriteSession(self._inserter, self.target, self._inserter_contexts)
        await self._run(self._inserts, lambda: session.insert(table, columns, rows))

    async def command(self, sql: str) -> None:
        await self._run(self._writer, lambda: self._client.command(sql))

    async def close(self) -> None:
        for pool in (self._readers, self._writer, self._inserts):
            pool.shutdown(wait=True)
        for client in (self._client, self._inserter, *self._reader_clients):
            client.close()

    def _reader(self) -> Client:
        """This reader thread's client, connected on its first read."""
        client: Client | None = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = _connect(self.target)
            self._reader_clients.append(client)
        return client

    async def _run(self, pool: ThreadPoolExecutor, call: Callable[[], T]) -> T:
        with unavailable_on_fault():
            return await asyncio.get_running_loop().run_in_executor(pool, call)


# The prepared INSERT of each (table, columns) of one client: clickhouse-connect asks the server for
# the column types before every insert unless it is given one.
InsertContexts = dict[tuple[str, tuple[str, ...]], InsertContext]


class WriteSession:
    """What a unit of work on the writer thread may do: read, insert rows, run a statement."""

    def __init__(self, client: Client, target: ClickHouseTarget, contexts: InsertContexts) -> None:
        self._client = client
        self._settings = {} if target.embedded else SERVER_INSERT_SETTINGS
        self._contexts = contexts

    def rows(self, sql: str, parameters: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        return _tuples(self._client, sql, parameters)

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        key = (table, tuple(columns))
        context = self._contexts.get(key)
        if context is None:
            context = self._contexts[key] = self._client.create_insert_context(
                table, list(columns), settings=self._settings
            )
        context.data = list(rows)
        self._client.insert(context=context)

    def command(self, sql: str, parameters: dict[str, Any] | None = None) -> None:
        self._client.command(sql, parameters, settings=self._settings)


def _tuples(client: Client, sql: str, parameters: dict[str, Any] | None) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in client.query(sql, parameters).result_rows]


def _connect(target: ClickHouseTarget, *, create_database: bool = False) -> Client:
    """A client of `target`'s database; with `create_database`, the database is created first."""
    with unavailable_on_fault():
        if target.chdb_path is not None:
            try:
                client = clickhouse_connect.get_client(dsn=f"chdb://{target.chdb_path}")
            except ProgrammingError as exc:
                raise Unavailable(
                    f"Embedded ClickHouse cannot open {target.chdb_path}: another process has it open (a "
                    "running server?) and chdb admits one; create keys there with POST /v1/admin/keys"
                ) from exc
            if create_database:
                client.command(f"CREATE DATABASE IF NOT EXISTS {target.database}")
            client.command(f"USE {target.database}")
            return client
        if create_database:
            admin = _server_client(target)
            admin.command(f"CREATE DATABASE IF NOT EXISTS {target.database}")
            admin.close()
        return _server_client(target, database=target.database)


def _server_client(target: ClickHouseTarget, database: str | None = None) -> Client:
    return clickhouse_connect.get_client(
        host=target.host,
        port=target.port,
        username=target.username,
        password=target.password,
        secure=target.secure,
        database=database,
    )


@contextmanager
def unavailable_on_fault() -> Iterator[None]:
    """A server that cannot be reached or does not answer becomes Unavailable (503, retry shortly)."""
    try:
        yield
    except (OperationalError, OSError, TimeoutError) as exc:
        raise Unavailable(f"The database is unavailable ({type(exc).__name__}); retry shortly") from exc
