"""What bench/crash.py and bench/faults.py share: a fresh database of either kind, the fake upstream,
and the tests' load and check (heliograph.testing.chaos), so the benchmarks and the CI tests
measure the very same promise.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg

from _harness import heliograph_argv
from heliograph.domain.keys import hash_api_key
from heliograph.storage.sql.store import SqlStore
from heliograph.testing.fake_upstream import serve_fake_upstream

__all__ = ["POSTGRES_ADMIN_URL", "fresh_database", "org_of_key", "serve_argv", "serve_fake_upstream"]

POSTGRES_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"


@contextmanager
def fresh_database(kind: str, workdir: Path, *, admin_url: str = POSTGRES_ADMIN_URL) -> Iterator[str]:
    """A new, empty SQLite file or PostgreSQL database (dropped afterwards); its URL."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    name = f"heliograph_bench_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        yield f"{admin_url.rsplit('/', 1)[0]}/{name}"
    finally:
        asyncio.run(_admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _admin(admin_url: str, statement: str) -> None:
    conn = await asyncpg.connect(admin_url, timeout=10)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def serve_argv(database_url: str, upstream: str) -> Callable[[int], list[str]]:
    """`heliograph serve` on a port, its gateway pointed at the fake upstream."""
    return lambda port: [*heliograph_argv(port, database_url), "--openai-base-url", f"{upstream}/v1"]


def org_of_key(database_url: str, key: str) -> str:
    async def lookup() -> str | None:
        store = SqlStore.from_url(database_url)
        try:
            return await store.org_for_key_hash(hash_api_key(key))
        finally:
            await store.close()

    org_id = asyncio.run(lookup())
    assert org_id is not None
    return org_id
