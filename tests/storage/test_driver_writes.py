"""On SQLite a batch is written through the driver (storage/sql/driver_writes.py): it must store exactly
what the SQLAlchemy form of the same batch (storage/sql/writes.py, PostgreSQL's) stores."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from heliograph.domain.records import RequestRecord
from heliograph.domain.store import Store
from heliograph.storage.sql.driver_writes import insert_batch_sqlite
from heliograph.storage.sql.engine import create_engines
from heliograph.storage.sql.writes import insert_batch
from store_support import BASE_MS, record, with_store

TABLES = ("requests", "properties", "session_users", "sessions")


def _write(url: str, records: Sequence[RequestRecord], *, driver: bool) -> None:
    engines = create_engines(url)
    assert engines.sync_writer is not None
    try:
        with engines.sync_writer.begin() as conn:
            if driver:
                insert_batch_sqlite(conn, records)
            else:
                insert_batch(conn, "sqlite", records)
    finally:
        asyncio.run(engines.dispose())


def _batches(org_id: str) -> tuple[list[RequestRecord], list[RequestRecord]]:
    def rid(n: int) -> str:
        return f"00000000-0000-4000-8000-{n:012d}"

    first = [
        record(
            org_id, request_id=rid(1), session="s1", at_ms=BASE_MS + 10, name="one", user="u1", env="prod"
        ),
        record(org_id, request_id=rid(2), session="s1", at_ms=BASE_MS + 20, path="/a/b", user="u2"),
        record(org_id, request_id=rid(2), session="s1", at_ms=BASE_MS + 20),  # the same id twice in a batch
        record(org_id, request_id=rid(3), at_ms=BASE_MS + 30, app="bot"),  # in no session
        record(org_id, request_id=rid(4), session="s2", at_ms=BASE_MS + 40, prompt_tokens=2**62),
    ]
    second = [
        first[0],  # a client's retry of a stored request: skipped, sums unchanged
        # Earlier than s1's first request: it becomes first, and takes the session's feedback.
        record(org_id, request_id=rid(5), session="s1", at_ms=BASE_MS, name="renamed", user="u1"),
        record(org_id, request_id=rid(6), session="s2", at_ms=BASE_MS + 50, prompt_tokens=2**62),
        record(org_id, request_id=rid(7), session="s3", at_ms=BASE_MS + 60, user="u3"),
    ]
    return first, second


def _stored(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    with sqlite3.connect(path) as db:
        stored = {}
        for table in TABLES:
            cursor = db.execute(f"SELECT * FROM {table}")
            # When a session was rated is the clock's, not the batch's: left out.
            kept = [i for i, column in enumerate(cursor.description) if column[0] != "feedback_at_ms"]
            stored[table] = sorted((tuple(row[i] for i in kept) for row in cursor), key=repr)
        return stored


def _store_all(tmp_path: Path, *, driver: bool) -> dict[str, list[tuple[Any, ...]]]:
    path = tmp_path / f"{'driver' if driver else 'sqlalchemy'}.db"
    url = f"sqlite:///{path}"

    async def org_of(store: Store) -> str:
        return await store.ensure_org(name="the-org")

    org_id = with_store(url, org_of)
    first, second = _batches(org_id)
    _write(url, first, driver=driver)

    async def rate(store: Store) -> None:
        assert await store.set_session_feedback(org_id=org_id, session_id="s1", rating=True) is not None

    with_store(url, rate)
    _write(url, second, driver=driver)
    stored = _stored(path)
    # Organization ids are random per database: compare the rows with them left out.
    return {table: [tuple(v for v in row if v != org_id) for row in rows] for table, rows in stored.items()}


@pytest.mark.parametrize("table", TABLES)
def test_the_driver_writes_what_sqlalchemy_writes(tmp_path: Path, table: str) -> None:
    driver, sqlalchemy = _store_all(tmp_path, driver=True), _store_all(tmp_path, driver=False)
    assert driver[table] == sqlalchemy[table]
    assert driver[table], f"the batches stored nothing in {table}"


def test_the_driver_path_stores_each_request_once_and_moves_feedback_to_the_new_first(tmp_path: Path) -> None:
    stored = _store_all(tmp_path, driver=True)
    assert len(stored["requests"]) == 7  # seven distinct ids: the repeats are skipped
    feedback = [row for row in stored["properties"] if "helicone-session-feedback" in str(row).lower()]
    assert len(feedback) == 1 and "00000000-0000-4000-8000-000000000005" in feedback[0]
