"""Connections to ClickHouse from a database URL, and the threads that run their blocking calls.

clickhouse-connect is synchronous. Reads run on a small thread pool; every write runs on one writer
thread, so a process's read-modify-write updates (a property, a score) never interleave. chdb, the
embedded engine, opens its directory from one process only (config refuses `--workers` > 1 for it).
"""

from __future__ import annotations

import asyncio
import itertools
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

from heliograph.errors import Unavailable

__all__ = ["ClickHouseTarget", "Connection", "now_ms", "parse_url"]

T = TypeVar("T")
DEFAULT_DATABASE = "heliograph"
READ_THREADS = 4
# A server acknowledges an async insert only once it is written (wait_for_async_insert), so many
# stateless servers can share ClickHouse's insert buffering and acknowledged still means stored.
SERVER_INSERT_SETTINGS = {"async_insert": 1, "wait_for_async_insert": 1}


def now_ms() -> int:
    """The wall clock in epoch milliseconds, as every ClickHouse row stores times."""
    return time.time_ns() // 1_000_000


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
        self._client = _connect(target)
        self._readers = ThreadPoolExecutor(READ_THREADS, thread_name_prefix="heliograph-ch-read")
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="heliograph-ch-write")
        self._versions = itertools.count()

    def next_version(self) -> int:
        """A row version above every earlier one of this process (nanoseconds, made unique)."""
        return time.time_ns() + next(self._versions) % 1000

    async def rows(self, sql: str, parameters: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        """The rows of a SELECT."""
        return await self._run(self._readers, lambda: _tuples(self._client, sql, parameters))

    async def write(self, work: Callable[[WriteSession], T]) -> T:
        """Run `work` on the writer thread, where it may read and insert in order."""
        return await self._run(self._writer, lambda: work(WriteSession(self._client, self.target)))

    async def command(self, sql: str) -> None:
        await self._run(self._writer, lambda: self._client.command(sql))

    async def close(self) -> None:
        self._readers.shutdown(wait=True)
        self._writer.shutdown(wait=True)
        self._client.close()

    async def _run(self, pool: ThreadPoolExecutor, call: Callable[[], T]) -> T:
        with unavailable_on_fault():
            return await asyncio.get_running_loop().run_in_executor(pool, call)


class WriteSession:
    """What a unit of work on the writer thread may do: read, insert rows, run a statement."""

    def __init__(self, client: Client, target: ClickHouseTarget) -> None:
        self._client = client
        self._settings = {} if target.embedded else SERVER_INSERT_SETTINGS

    def rows(self, sql: str, parameters: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        return _tuples(self._client, sql, parameters)

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._client.insert(table, list(rows), column_names=list(columns), settings=self._settings)

    def command(self, sql: str, parameters: dict[str, Any] | None = None) -> None:
        self._client.command(sql, parameters, settings=self._settings)


def _tuples(client: Client, sql: str, parameters: dict[str, Any] | None) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in client.query(sql, parameters).result_rows]


def _connect(target: ClickHouseTarget) -> Client:
    with unavailable_on_fault():
        if target.chdb_path is not None:
            try:
                client = clickhouse_connect.get_client(dsn=f"chdb://{target.chdb_path}")
            except ProgrammingError as exc:
                raise Unavailable(
                    f"Embedded ClickHouse cannot open {target.chdb_path}: another process has it open (a "
                    "running server?) and chdb admits one; create keys there with POST /v1/admin/keys"
                ) from exc
            client.command(f"CREATE DATABASE IF NOT EXISTS {target.database}")
            client.command(f"USE {target.database}")
            return client
        admin = clickhouse_connect.get_client(
            host=target.host,
            port=target.port,
            username=target.username,
            password=target.password,
            secure=target.secure,
        )
        admin.command(f"CREATE DATABASE IF NOT EXISTS {target.database}")
        admin.close()
        return clickhouse_connect.get_client(
            host=target.host,
            port=target.port,
            username=target.username,
            password=target.password,
            secure=target.secure,
            database=target.database,
        )


@contextmanager
def unavailable_on_fault() -> Iterator[None]:
    """A server that cannot be reached or does not answer becomes Unavailable (503, retry shortly)."""
    try:
        yield
    except (OperationalError, OSError, TimeoutError) as exc:
        raise Unavailable(f"The database is unavailable ({type(exc).__name__}); retry shortly") from exc
