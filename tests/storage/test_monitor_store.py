"""The monitor half of the `Store` port on SQLite, PostgreSQL and embedded ClickHouse (chdb): the window of
feedback records an evaluation reads, monitors with their status, deliveries written once per
transition, and leases that one holder has at a time."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import replace

from heliograph.domain.feedback_values import FeedbackEntry
from heliograph.domain.filters import parse_filter
from heliograph.domain.monitors import Delivery, MonitorStatus, delivery_id
from heliograph.domain.records import now_ms
from heliograph.domain.store import Store
from store_support import MONITOR_SPEC, new_org, record, with_store


def _entry(session: str, value: bool | float, *, rater: str = "api", name: str = "rating") -> FeedbackEntry:
    return FeedbackEntry(
        session_id=session, request_id=None, name=name, value=value, comment=None, rater=rater, source="api"
    )


def _delivery(org_id: str, monitor_id: str, transition: int, *, at: int) -> Delivery:
    return Delivery(
        delivery_id(monitor_id, transition),
        org_id,
        monitor_id,
        "firing",
        '{"state":"firing"}',
        "pending",
        0,
        at,
        None,
        None,
        at,
        at,
    )


def test_the_window_holds_records_of_the_name_updated_in_it_on_matching_sessions(store_url: str) -> None:
    async def scenario(store: Store) -> None:
        org = await new_org(store)
        await store.insert_requests(
            [record(org, session=f"{v}{i}", variant=v) for v in "AB" for i in range(3)]
        )
        before = now_ms()
        for session, value in (("A0", False), ("B0", False), ("B1", True), ("B2", False)):
            assert await store.put_feedback(org_id=org, entry=_entry(session, value))
        assert await store.put_feedback(org_id=org, entry=_entry("B1", 4.0, name="stars"))
        after = now_ms() + 1
        only_b = parse_filter(json.loads(MONITOR_SPEC.filter or "null"))

        every = await store.feedback_window(
            org_id=org, filter=None, name="rating", start_ms=before, end_ms=after, limit=100
        )
        assert sorted((r.session_id, r.value) for r in every) == [
            ("A0", False),
            ("B0", False),
            ("B1", True),
            ("B2", False),
        ]
        assert all(before <= r.updated_at_ms < after for r in every)
        b = await store.feedback_window(
            org_id=org, filter=only_b, name="rating", start_ms=before, end_ms=after, limit=100
        )
        assert sorted(r.session_id for r in b) == ["B0", "B1", "B2"]
        stars = await store.feedback_window(
            org_id=org, filter=only_b, name="stars", start_ms=before, end_ms=after, limit=100
        )
        assert [(r.session_id, r.value) for r in stars] == [("B1", 4.0)]
        assert not await store.feedback_window(
            org_id=org, filter=None, name="rating", start_ms=after, end_ms=after + 60_000, limit=100
        )
        assert (
            len(
                await store.feedback_window(
                    org_id=org, filter=None, name="rating", start_ms=before, end_ms=after, limit=2
                )
            )
            == 2
        )
        other = await new_org(store)
        assert not await store.feedback_window(
            org_id=other, filter=None, name="rating", start_ms=before, end_ms=after, limit=100
        )

    with_store(store_url, scenario)


def test_monitors_belong_to_their_organization_and_keep_their_status_through_edits(store_url: str) -> None:
    async def scenario(store: Store) -> None:
        org, other = await new_org(store), await new_org(store)
        monitor = await store.create_monitor(org_id=org, spec=MONITOR_SPEC)
        assert monitor.status == MonitorStatus()
        assert await store.get_monitor(org_id=org, monitor_id=monitor.id) == monitor
        assert await store.get_monitor(org_id=other, monitor_id=monitor.id) is None
        assert [m.id for m in await store.list_monitors(org_id=org)] == [monitor.id]
        assert await store.list_monitors(org_id=other) == []
        assert monitor.id in {m.id for m in await store.list_monitors(org_id=None)}

        status = MonitorStatus("ok", 0.1, 40, now_ms(), 0)
        assert await store.record_evaluation(org_id=org, monitor_id=monitor.id, status=status, delivery=None)
        edited = replace(MONITOR_SPEC, name="renamed", threshold=0.3, filter=None)
        assert await store.update_monitor(org_id=other, monitor_id=monitor.id, spec=edited) is None
        updated = await store.update_monitor(org_id=org, monitor_id=monitor.id, spec=edited)
        assert updated is not None and updated.spec == edited and updated.status == status
        assert updated.created_at_ms == monitor.created_at_ms

        assert not await store.delete_monitor(org_id=other, monitor_id=monitor.id)
        assert await store.get_monitor(org_id=org, monitor_id=monitor.id) is not None
        await store.add_delivery(delivery=_delivery(org, monitor.id, 1, at=now_ms()))
        assert await store.delete_monitor(org_id=org, monitor_id=monitor.id)
        assert await store.get_monitor(org_id=org, monitor_id=monitor.id) is None
        assert await store.list_deliveries(org_id=org, monitor_id=monitor.id, limit=10) == []
        assert not await store.delete_monitor(org_id=org, monitor_id=monitor.id)
        assert not await store.record_evaluation(
            org_id=org, monitor_id=monitor.id, status=status, delivery=None
        )

    with_store(store_url, scenario)


def test_a_transition_and_its_delivery_are_stored_once_whoever_writes_them(store_url: str) -> None:
    async def scenario(store: Store) -> None:
        org = await new_org(store)
        monitor = await store.create_monitor(org_id=org, spec=MONITOR_SPEC)
        at = now_ms()
        firing = MonitorStatus("firing", 0.4, 300, at, 1)
        delivery = _delivery(org, monitor.id, 1, at=at)
        assert await store.record_evaluation(
            org_id=org, monitor_id=monitor.id, status=firing, delivery=delivery
        )
        # A second evaluator that read the status before the first wrote finds the count changed.
        assert not await store.record_evaluation(
            org_id=org, monitor_id=monitor.id, status=replace(firing, value=0.5), delivery=delivery
        )
        stored = await store.get_monitor(org_id=org, monitor_id=monitor.id)
        assert stored is not None and stored.status == firing
        assert await store.list_deliveries(org_id=org, monitor_id=monitor.id, limit=10) == [delivery]

        # Attempts are recorded; a pending delivery is due until then.
        assert delivery.id in {d.id for d in await store.due_deliveries(now_ms=at, limit=10_000)}
        sent = replace(delivery, status="sent", attempts=2, status_code=200, updated_at_ms=at + 5)
        await store.update_delivery(delivery=sent)
        assert await store.list_deliveries(org_id=org, monitor_id=monitor.id, limit=10) == [sent]
        assert delivery.id not in {d.id for d in await store.due_deliveries(now_ms=at, limit=10_000)}

        # A delivery written before a crash kept its status from being written: writing the
        # transition again stores the status and leaves the delivery (sent meanwhile) as it is.
        resolved = _delivery(org, monitor.id, 2, at=at + 10)
        await store.add_delivery(delivery=resolved)
        gone = replace(resolved, status="sent", attempts=1, status_code=204, updated_at_ms=at + 11)
        await store.update_delivery(delivery=gone)
        ok = MonitorStatus("ok", 0.1, 300, at + 20, 2)
        assert await store.record_evaluation(org_id=org, monitor_id=monitor.id, status=ok, delivery=resolved)
        listed = await store.list_deliveries(org_id=org, monitor_id=monitor.id, limit=10)
        assert listed == [gone, sent]
        later = _delivery(org, monitor.id, 3, at=at + 30)
        await store.add_delivery(delivery=replace(later, next_attempt_at_ms=at + 60_000))
        due = {d.id for d in await store.due_deliveries(now_ms=at + 59_999, limit=10_000)}
        assert later.id not in due
        assert later.id in {d.id for d in await store.due_deliveries(now_ms=at + 60_000, limit=10_000)}
        assert len(await store.list_deliveries(org_id=org, monitor_id=monitor.id, limit=2)) == 2

    with_store(store_url, scenario)


def test_a_lease_has_one_holder_until_it_expires(store_url: str) -> None:
    async def scenario(store: Store) -> None:
        name = f"job-{time.time_ns()}"
        assert await store.take_lease(name=name, holder="a", ttl_ms=60_000)
        assert not await store.take_lease(name=name, holder="b", ttl_ms=60_000)
        assert await store.take_lease(name=name, holder="a", ttl_ms=1)  # kept, ending at once
        await asyncio.sleep(0.01)
        assert await store.take_lease(name=name, holder="b", ttl_ms=60_000)
        assert not await store.take_lease(name=name, holder="a", ttl_ms=60_000)
        # Claims at once: exactly one holder.
        other = f"{name}-race"
        won = await asyncio.gather(*(store.take_lease(name=other, holder=h, ttl_ms=60_000) for h in "xyz"))
        assert sum(won) == 1

    with_store(store_url, scenario)


def test_a_restored_monitor_keeps_its_id_spec_and_status_and_restoring_it_again_changes_nothing(
    store_url: str,
) -> None:
    async def scenario(store: Store) -> None:
        org = await new_org(store)
        at = now_ms()
        firing = MonitorStatus("firing", 0.4, 60, at, 3)
        copied = replace(
            await store.create_monitor(org_id=org, spec=MONITOR_SPEC), id="copied-monitor", status=firing
        )
        assert await store.list_monitors(org_id=org) != []
        await store.restore_monitor(copied)
        again = replace(copied, spec=replace(MONITOR_SPEC, name="changed since"), status=MonitorStatus())
        await store.restore_monitor(again)  # the id is there: a copy run twice stores nothing new
        assert await store.get_monitor(org_id=org, monitor_id="copied-monitor") == copied
        assert len(await store.list_monitors(org_id=org)) == 2
        assert (await store.copy_counts(org_id=org))["monitors"] == 2
        # The evaluator goes on from the copied status: its next transition is the fourth.
        assert not await store.record_evaluation(
            org_id=org, monitor_id=copied.id, status=replace(firing, state="ok", transitions=1), delivery=None
        )
        resolved = replace(firing, state="ok", transitions=4)
        delivery = _delivery(org, copied.id, 4, at=at)
        assert await store.record_evaluation(
            org_id=org, monitor_id=copied.id, status=resolved, delivery=delivery
        )

    with_store(store_url, scenario)
