"""The ClickHouse rollup queue (storage/clickhouse/rollups.py) as the rest of the store does not show it:
a batch is acknowledged before its sessions' rollups are recomputed, but never far ahead of them."""

from __future__ import annotations

import pytest

from heliograph.domain.store import Store
from heliograph.storage.clickhouse import rollups
from heliograph.storage.clickhouse.store import ClickHouseStore
from store_support import BASE_MS, new_org, record, with_store


def test_a_batch_past_the_backlog_waits_until_every_queued_rollup_is_recomputed(
    chdb_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rollups, "MAX_BACKLOG", 15)

    async def scenario(store: Store) -> None:
        assert isinstance(store, ClickHouseStore)
        org = await new_org(store)
        for batch in range(3):  # 10 new sessions each: the third takes the queue past 15
            await store.insert_requests(
                [record(org, session=f"b{batch}-s{i}", at_ms=BASE_MS + batch * 100 + i) for i in range(10)]
            )
        # Read straight from the table, without waiting for the queue as the store's reads do.
        rows = await store._db.rows(
            "SELECT count() FROM sessions FINAL WHERE org_id = {org:String}", {"org": org}
        )
        assert rows[0][0] == 30

    with_store(chdb_url, scenario)
