"""The feedback trend's data from a real store (SQLite): rates per day per value, and a monitor's firing
marked on the day it fired (the store methods it reads are conformance-tested on every backend)."""

from __future__ import annotations

from pathlib import Path

from heliograph.dashboard.listing import RANGES
from heliograph.dashboard.trend import trend_chart
from heliograph.domain.monitors import Delivery, MonitorSpec, MonitorStatus, delivery_id
from heliograph.domain.records import now_ms
from heliograph.domain.sessions import SessionQuery
from heliograph.domain.store import Store
from store_support import new_org, record, with_store

DAY = 86_400_000


def test_a_monitor_s_firing_is_marked_on_its_day(tmp_path: Path) -> None:
    async def scenario(store: Store) -> None:
        org = await new_org(store)
        now = now_ms()
        await store.insert_requests(
            [record(org, session=f"s{i}", at_ms=now - 1_000, variant="B") for i in range(3)]
        )
        await store.rate_sessions(org_id=org, ratings={"s0": True, "s1": False, "s2": False})
        spec = MonitorSpec(
            "B down", "rating", "negative_rate", "gt", 0.25, 3600, 1, None, "http://127.0.0.1:9/h", "s" * 8
        )
        monitor = await store.create_monitor(org_id=org, spec=spec)
        fired = Delivery(
            delivery_id(monitor.id, 1), org, monitor.id, "firing", "{}", "sent", 1, now, 200, None, now, now
        )
        status = MonitorStatus("firing", 2 / 3, 3, now, 1)
        assert await store.record_evaluation(org_id=org, monitor_id=monitor.id, status=status, delivery=fired)

        time_range = RANGES["7d"]
        query = SessionQuery(start_ms=time_range.start_ms(now=now))
        chart = await trend_chart(
            store, org_id=org, query=query, dimension="variant", values=["B"], time_range=time_range, now=now
        )
        assert len(chart["labels"]) == 7
        (series,) = chart["series"]
        assert series["data"][6] == 1 / 3 and series["rated"][6] == 3
        assert chart["marks"] == [{"index": 6, "label": "B down fired"}]
        other = await new_org(store)
        unseen = await trend_chart(
            store,
            org_id=other,
            query=query,
            dimension="variant",
            values=["B"],
            time_range=time_range,
            now=now,
        )
        assert unseen["marks"] == [] and unseen["series"][0]["rated"] == [0] * 7

    with_store(f"sqlite:///{tmp_path / 'trend.db'}", scenario)
