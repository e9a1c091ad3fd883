"""The store's session metrics, answered by indexed queries, equal the distributions of the same values
computed in memory, on each database, with and without a filter (ties and lone values included).
PostgreSQL fetches the values sorted up to a limit and walks its indexes beyond it: both are tested."""

from __future__ import annotations

import asyncio
import random

import pytest

from heliograph.domain.metrics import PERCENTILES, SessionMetrics, SortedValues, session_metrics
from heliograph.domain.records import RequestRecord, new_record
from heliograph.domain.sessions import SessionQuery
from heliograph.storage.migrations.apply import upgrade_to_head
from heliograph.storage.sql import metric_values
from heliograph.storage.sql.store import SqlStore

SESSIONS = 150


def _request(org_id: str, session: str, name: str, created_ms: int, cost: int) -> RequestRecord:
    return new_record(
        org_id=org_id,
        created_at_ms=created_ms,
        session_id=session,
        session_name=name,
        prompt_tokens=1,
        completion_tokens=1,
        cost_nano_usd=cost,
        request_body="{}",
    )


def _dataset(org_id: str) -> tuple[list[RequestRecord], dict[str, list[tuple[int, int, int]]]]:
    """Random sessions; per name, each session's (request count, duration ms, cost nano-USD)."""
    rng = random.Random(7)
    records: list[RequestRecord] = []
    values: dict[str, list[tuple[int, int, int]]] = {"even": [], "odd": []}
    for index in range(SESSIONS):
        name = "even" if index % 2 == 0 else "odd"
        start = 1_767_225_600_000 + index * 1000
        times = [
            start + rng.choice([0, 0, 1500, 60_000, rng.randrange(10**6)]) for _ in range(rng.randint(1, 4))
        ]
        costs = [rng.choice([0, 1_000, 2_500_000, rng.randrange(10**9)]) for _ in times]
        session = f"s-{index}"
        records += [_request(org_id, session, name, t, c) for t, c in zip(times, costs, strict=True)]
        values[name].append((len(times), max(times) - min(times), sum(costs)))
    return records, values


def _expected(rows: list[tuple[int, int, int]], fraction: float, interquartile: bool) -> SessionMetrics:
    counts, durations, costs = zip(*rows, strict=True)
    return session_metrics(
        SortedValues(counts),
        SortedValues(durations),
        SortedValues(costs),
        fraction=fraction,
        interquartile=interquartile,
    )


async def _compare(url: str) -> int:
    store = SqlStore.from_url(url)
    try:
        await upgrade_to_head(store.engines.writer)
        org_id = await store.ensure_org(name="metrics")
        records, values = _dataset(org_id)
        await store.insert_requests(records)
        compared = 0
        for fraction in PERCENTILES.values():
            for interquartile in (False, True):
                for name, rows in (*values.items(), (None, values["even"] + values["odd"])):
                    got = await store.session_metrics(
                        org_id=org_id,
                        query=SessionQuery(name_equals=name),
                        fraction=fraction,
                        interquartile=interquartile,
                    )
                    assert got == _expected(rows, fraction, interquartile), (name, fraction, interquartile)
                    compared += 1
        empty = await store.session_metrics(
            org_id=org_id, query=SessionQuery(name_equals="none"), fraction=0.5, interquartile=False
        )
        assert (empty.session_count, empty.cost_usd.bins, empty.cost_usd.average) == (0, [], 0.0)
        return compared
    finally:
        await store.close()


@pytest.mark.parametrize("in_memory_limit", [metric_values.IN_MEMORY_LIMIT, 0], ids=["fetched", "walked"])
def test_store_metrics_equal_the_in_memory_distributions(
    empty_database_url: str, in_memory_limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metric_values, "IN_MEMORY_LIMIT", in_memory_limit)
    assert asyncio.run(_compare(empty_database_url)) == len(PERCENTILES) * 2 * 3
