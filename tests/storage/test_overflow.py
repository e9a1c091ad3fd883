"""Sums never overflow: an organization whose calls add up past 64 bits keeps every page answering.

The attack run logged 9,230 calls of 1,000,000 USD each (the most one call may carry); SQLite's
integer sum() then overflowed, and that organization's session count, metrics, names and totals
answered 503 for good. The calls are written here through the store's batch insert, the very path
the ingest pipeline commits them by, then read over HTTP on both databases.
"""

from __future__ import annotations

import asyncio

import pytest

from heliograph.domain.records import RequestRecord, new_record
from heliograph.ingest.calls import MAX_COST_NANO_USD, MAX_TOKENS
from heliograph.storage.sql.store import SqlStore
from support import FAR_FUTURE_MS, FAR_PAST_MS, Cast, Tenant, query_body

INT64_MAX = 2**63 - 1
CALLS = 9_230  # 9,230 x 10**15 nano-USD > 2**63
START_MS = 1_764_150_000_000
WINDOW = {"startTimeUnixMs": FAR_PAST_MS, "endTimeUnixMs": FAR_FUTURE_MS}


def _call(org_id: str, session: str, index: int) -> RequestRecord:
    return new_record(
        org_id=org_id,
        created_at_ms=START_MS + index,
        session_id=session,
        session_name="Costly",
        prompt_tokens=MAX_TOKENS,
        completion_tokens=MAX_TOKENS,
        cost_nano_usd=MAX_COST_NANO_USD,
        request_body="{}",
    )


def _store_calls(tenant: Tenant, sessions: dict[str, int]) -> None:
    async def insert(org_id: str) -> None:
        store = SqlStore.from_url(tenant.server.database_url)
        try:
            records = [_call(org_id, s, i) for s, n in sessions.items() for i in range(n)]
            for start in range(0, len(records), 500):  # the pipeline's default batch size
                await store.insert_requests(records[start : start + 500])
        finally:
            await store.close()

    asyncio.run(insert(tenant.org_id))


@pytest.fixture
def costly(cast: Cast) -> Tenant:
    """Alice with one session whose calls overflow 64 bits, and one small session."""
    _store_calls(cast.alice, {"huge": CALLS, "small": 3})
    return cast.alice


def test_a_session_rollup_past_64_bits_holds_at_the_largest_value_and_every_page_answers(
    costly: Tenant,
) -> None:
    client = costly.client
    rows = client.post("/v1/session/query", json=query_body()).json()["data"]
    by_id = {row["session_id"]: row for row in rows}
    assert by_id["huge"]["total_requests"] == CALLS
    assert by_id["huge"]["total_cost"] == pytest.approx(INT64_MAX / 1e9)
    assert by_id["huge"]["total_tokens"] == CALLS * 2 * MAX_TOKENS
    assert by_id["small"]["total_cost"] == pytest.approx(3 * MAX_COST_NANO_USD / 1e9)

    count = client.post("/v1/session/count", json=query_body())
    assert count.status_code == 200, count.text
    assert count.json()["data"]["count"] == 2
    assert count.json()["data"]["total_cost"] == pytest.approx((INT64_MAX + 3 * MAX_COST_NANO_USD) / 1e9)
    assert count.json()["data"]["avg_requests"] == pytest.approx((CALLS + 3) / 2)

    names = client.post("/v1/session/name/query", json={"nameContains": "", "timezoneDifference": 0})
    assert names.status_code == 200, names.text
    assert names.json()["data"][0]["session_count"] == 2

    body = {"nameContains": "", "timezoneDifference": 0, "timeFilter": WINDOW}
    metrics = client.post("/v1/session/metrics/query", json=body)
    assert metrics.status_code == 200, metrics.text
    assert metrics.json()["data"]["session_cost"]


def test_another_batch_on_a_saturated_session_is_stored_and_the_rollup_stays_at_the_largest_value(
    costly: Tenant,
) -> None:
    _store_calls(costly, {"huge": 2})
    rows = costly.client.post("/v1/session/query", json=query_body(search="huge")).json()["data"]
    assert rows[0]["total_requests"] == CALLS + 2
    assert rows[0]["total_tokens"] == (CALLS + 2) * 2 * MAX_TOKENS
    assert rows[0]["total_cost"] == pytest.approx(INT64_MAX / 1e9)


def test_deleting_the_bad_session_leaves_exact_totals(costly: Tenant) -> None:
    assert costly.client.delete("/v1/session/huge").status_code == 200
    count = costly.client.post("/v1/session/count", json=query_body()).json()["data"]
    assert count["count"] == 1
    assert count["total_cost"] == pytest.approx(3 * MAX_COST_NANO_USD / 1e9)
