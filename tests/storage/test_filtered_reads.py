"""Reads with a user's filter neither stall the event loop nor leave anything behind in memory.

Building and compiling a filter's SQL on the event loop stalled every other request (the attack
run's 32,766 leaves: 28 s), and each distinct filter stayed in SQLAlchemy's compiled-statement cache
(190 MB for the largest) and in SQLite's prepared statements. Both databases for the loop, SQLite
for memory.
"""

from __future__ import annotations

import asyncio
import gc
import os
import resource
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from heliograph.domain.filters import MAX_FILTER_LEAVES, parse_filter
from heliograph.domain.requests import RequestQuery
from heliograph.domain.sessions import SessionQuery
from heliograph.storage.migrations.apply import upgrade_to_head
from heliograph.storage.sql import prepared
from heliograph.storage.sql.store import SqlStore
from off_loop import threads_running
from support import balanced_or

# The bound on the growth of the process's memory over DISTINCT_FILTERS reads, each with a filter at
# the leaf limit whose SQL differs. Cached, they grew it by 250 MB; now by some 10 MB (SQLite's
# prepared statements, at most SQLITE_READER_STATEMENT_CACHE per reader connection).
DISTINCT_FILTERS = 150
MEMORY_BOUND_MB = 30


OPERATORS = ("equals", "like", "contains", "not-equals")


def _session_query(shape: int = 0) -> SessionQuery:
    """A filter at the leaf limit whose SQL differs for each `shape`: the digits of `shape` in base 4
    pick the operators of its first leaves (values alone would not differ: they are bound)."""
    raw = balanced_or(MAX_FILTER_LEAVES)
    leaves = _leaves(raw)
    for leaf in leaves:
        ((key, condition),) = leaf["request_response_rmt"]["properties"].items()
        digit, shape = shape % len(OPERATORS), shape // len(OPERATORS)
        leaf["request_response_rmt"]["properties"][key] = {OPERATORS[digit]: condition["equals"]}
    return SessionQuery(filter=parse_filter(raw))


def _leaves(node: Any) -> list[Any]:
    return _leaves(node["left"]) + _leaves(node["right"]) if "left" in node else [node]


async def _with_store(url: str, work: Callable[[SqlStore, str], Awaitable[None]]) -> None:
    store = SqlStore.from_url(url)
    try:
        await upgrade_to_head(store.engines.writer)
        await work(store, await store.ensure_org(name="filters"))
    finally:
        await store.close()


def test_every_filtered_read_builds_and_compiles_its_filter_off_the_event_loop(
    empty_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On the loop, building and compiling SQL for a filter at the leaf limit took 30 ms and more.
    compiling = threads_running(monkeypatch, prepared, "_precompiled")
    loop_threads: list[threading.Thread] = []

    async def reads(store: SqlStore, org_id: str) -> None:
        loop_threads.append(threading.current_thread())
        query = _session_query()
        await store.query_sessions(org_id=org_id, query=query)
        await store.count_sessions(org_id=org_id, query=query)
        await store.session_metrics(org_id=org_id, query=query, fraction=1.0, interquartile=False)
        await store.query_requests(org_id=org_id, query=RequestQuery(filter=query.filter))
        await store.count_requests(org_id=org_id, filter=query.filter, is_scored=None)

    asyncio.run(_with_store(empty_database_url, reads))
    assert len(compiling) >= 5 and loop_threads[0] not in compiling


def _rss_mb() -> float:
    with open(f"/proc/{os.getpid()}/statm") as statm:
        return int(statm.read().split()[1]) * resource.getpagesize() / 2**20


def test_memory_stays_bounded_across_many_distinct_filters(tmp_path: object) -> None:
    async def reads(store: SqlStore, org_id: str) -> None:
        for shape in range(10):  # warm up pools and allocators
            await store.query_sessions(org_id=org_id, query=_session_query(shape))
        gc.collect()
        before = _rss_mb()
        for index in range(DISTINCT_FILTERS):
            query = _session_query(10 + index)
            await store.query_sessions(org_id=org_id, query=query)
        gc.collect()
        grown = _rss_mb() - before
        assert grown < MEMORY_BOUND_MB, f"{DISTINCT_FILTERS} distinct filters grew memory by {grown:.0f} MB"

    asyncio.run(_with_store(f"sqlite:///{tmp_path}/filters.db", reads))
