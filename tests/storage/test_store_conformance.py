"""Every `Store` operation, run directly against SQLite, PostgreSQL and embedded ClickHouse (chdb), with
answers computed by hand. Duplicates are sent on purpose (the same request twice in a batch and again
in a later one, ratings repeated, a late first request after the rating) and every aggregate is
checked after them: on ClickHouse no merge ever runs during these tests, so reads must de-duplicate."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any

import pytest

from heliograph.domain.feedback_values import (
    FeedbackConfig,
    FeedbackEntry,
    FeedbackQuery,
    FeedbackTotals,
    FeedbackValue,
)
from heliograph.domain.filters import parse_filter
from heliograph.domain.metrics import SortedValues, session_metrics
from heliograph.domain.records import FEEDBACK_KEY, RequestRecord
from heliograph.domain.requests import RequestQuery, RequestSort
from heliograph.domain.sessions import SessionQuery
from heliograph.domain.store import PropertyTotal, ScoreCount, Store
from heliograph.ingest.calls import MAX_COST_NANO_USD
from store_support import BASE_MS, new_org, record, summary_row, with_store

DAY_MS = 86_400_000
INT64_MAX = 2**63 - 1


@dataclass
class Trip:
    """Two sessions and a loose request of one organization, as stored after retries and a late first."""

    org_id: str
    first: RequestRecord  # s1, the first request
    second: RequestRecord  # s1, one second later
    b_late: RequestRecord  # s2, arrives after the rating but starts earliest
    b_first: RequestRecord  # s2, logged first
    loose: RequestRecord  # no session


async def _trip(store: Store) -> Trip:
    org_id = await new_org(store)
    first = record(org_id, session="s1", name="Trip", path="/plan", user="u1", variant="A", at_ms=BASE_MS)
    second = record(
        org_id,
        session="s1",
        name="Trip 2",
        path="/plan/book",
        user="u2",
        model="gpt-4o",
        cost=3_000,
        latency_ms=300,
        variant="A",
        at_ms=BASE_MS + 1_000,
    )
    b_first = record(org_id, session="s2", cost=2_000, latency_ms=200, variant="B", at_ms=BASE_MS + 5_000)
    b_late = record(org_id, session="s2", cost=500, variant="B", user="u3", at_ms=BASE_MS + 4_000)
    loose = record(org_id, at_ms=BASE_MS + 6_000, cost=7)
    await store.insert_requests([first, first, second, b_first, loose])
    await store.insert_requests([first, second])  # client retries: stored once
    assert await store.set_session_feedback(org_id=org_id, session_id="s2", rating=True) == b_first.request_id
    await store.insert_requests([b_late, b_late])  # the true first request arrives after the rating
    for rating in (True, True, False):  # repeated ratings leave one value, the last
        assert await store.set_session_feedback(org_id=org_id, session_id="s1", rating=rating)
    return Trip(org_id, first, second, b_late, b_first, loose)


def _feedback(value: str) -> SessionQuery:
    return SessionQuery(
        filter=parse_filter({"request_response_rmt": {"properties": {FEEDBACK_KEY: {"equals": value}}}})
    )


async def _sessions(store: Store, org_id: str, raw_filter: object = "all", **query: Any) -> list[str]:
    found = await store.query_sessions(
        org_id=org_id, query=SessionQuery(filter=parse_filter(raw_filter), **query)
    )
    return [s.session_id for s in found]


def test_sessions_sum_every_request_once_and_feedback_sits_on_the_true_first(store_url: str) -> None:
    async def scenario(store: Store) -> None:
        trip = await _trip(store)
        s1 = await store.get_session(org_id=trip.org_id, session_id="s1")
        s2 = await store.get_session(org_id=trip.org_id, session_id="s2")
        assert s1 is not None and s2 is not None
        assert summary_row(s1) == (
            "s1", "Trip 2", trip.first.request_id, BASE_MS, BASE_MS + 1_000,
            2, 20, 10, 30, 4_000, 400, False, ["u1", "u2"],
        )  # fmt: skip
        assert summary_row(s2) == (
            "s2", "", trip.b_late.request_id, BASE_MS + 4_000, BASE_MS + 5_000,
            2, 20, 10, 30, 2_500, 300, True, ["u3"],
        )  # fmt: skip
        assert s1.avg_latency_ms == 200.0
        late = await store.get_request(org_id=trip.org_id, request_id=trip.b_late.request_id)
        moved = await store.get_request(org_id=trip.org_id, request_id=trip.b_first.request_id)
        assert late is not None and moved is not None
        assert late.record.properties[FEEDBACK_KEY] == "1"
        assert FEEDBACK_KEY not in moved.record.properties
        ordered = await store.session_requests(org_id=trip.org_id, session_id="s1")
        assert [r.record.request_id for r in ordered] == [trip.first.request_id, trip.second.request_id]
        assert ordered[0].record.properties[FEEDBACK_KEY] == "0"
        assert FEEDBACK_KEY not in ordered[1].record.properties
        assert await _sessions(store, trip.org_id) == ["s2", "s1"]
        assert [
            s.session_id for s in await store.query_sessions(org_id=trip.org_id, query=_feedback("1"))
        ] == ["s2"]
        assert [
            s.session_id for s in await store.query_sessions(org_id=trip.org_id, query=_feedback("0"))
        ] == ["s1"]
        totals = await store.count_sessions(org_id=trip.org_id, query=SessionQuery())
        assert (totals.session_count, totals.cost_nano_usd, totals.latency_sum_ms, totals.request_count) == (
            2, 6_500, 700, 4,
        )  # fmt: skip
        assert await store.count_requests(org_id=trip.org_id, filter=None, is_scored=None) == 5

    with_store(store_url, scenario)


def test_a_cleared_rating_and_an_unknown_session(store_url: str) -> None:
    async def scenario(store: Store) -> None:
        trip = await _trip(store)
        assert await store.set_session_feedback(org_id=trip.org_id, session_id="s1", rating=None)
        s1 = await store.get_session(org_id=trip.org_id, session_id="s1")
        assert s1 is not None and s1.feedback is None
        first = await store.get_request(org_id=trip.org_id, request_id=trip.first.request_id)
        assert first is not None and FEEDBACK_KEY not in first.record.properties
        assert await store.set_session_feedback(org_id=trip.org_id, session_id="nope", rating=True) is None
        both = {"s1": True, "s2": False, "nope": True}
        assert await store.rate_sessions(org_id=trip.org_id, ratings=both) == 2
        rated = await store.query_sessions(org_id=trip.org_id, query=SessionQuery())
        assert [(s.session_id, s.feedback) for s in rated] == [("s2", False), ("s1", True)]
        late = await store.get_request(org_id=trip.org_id, request_id=trip.b_late.request_id)
        assert late is not None and late.record.properties[FEEDBACK_KEY] == "0"
        assert await store.set_session_feedback(org_id=trip.org_id, session_id="s1", rating=None)
        other = await new_org(store)
        assert await store.set_session_feedback(org_id=other, session_id="s1", rating=True) is None
        assert await store.get_session(org_id=other, session_id="s1") is None
        assert await store.get_request(org_id=other, request_id=trip.first.request_id) is None

    with_store(store_url, scenario)


def test_filters_select_sessions_by_their_requests_and_rollups(store_url: str) -> None:
    async def scenario(store: Store) -> None:
        trip = await _trip(store)
        org = trip.org_id
        req, ses = "request_response_rmt", "sessions_request_response_rmt"
        cases: list[tuple[object, list[str]]] = [
            ({req: {"properties": {"variant": {"equals": "A"}}}}, ["s1"]),
            ({req: {"properties": {"variant": {"not-equals": "A"}}}}, ["s2"]),
            ({req: {"properties": {"variant": {"contains": "b"}}}}, ["s2"]),
            ({req: {"property_key": {"equals": "variant"}}}, ["s2", "s1"]),
            ({req: {"model": {"equals": "gpt-4o"}}}, ["s1"]),
            ({req: {"user_id": {"equals": "u3"}}}, ["s2"]),
            ({req: {"cost": {"gte": 0.000003}}}, ["s1"]),
            ({req: {"request_created_at": {"gte": BASE_MS + 4_500}}}, ["s2"]),
            ({ses: {"session_total_cost": {"gt": 0.000003}}}, ["s1"]),
            ({ses: {"session_total_requests": {"equals": 2}}}, ["s2", "s1"]),
            ({ses: {"session_session_name": {"equals": "Trip 2"}}}, ["s1"]),
            ({ses: {"session_created_at": {"lt": BASE_MS + 100}}}, ["s1"]),
            ({req: {"properties": {FEEDBACK_KEY: {"not-equals": "1"}}}}, ["s1"]),
            (
                {
                    "left": {req: {"properties": {"variant": {"equals": "A"}}}},
                    "operator": "or",
                    "right": {ses: {"session_total_cost": {"lt": 0.000003}}},
                },
                ["s2", "s1"],
            ),
            (
                {
                    "left": {req: {"properties": {"variant": {"equals": "A"}}}},
                    "operator": "and",
                    "right": {req: {"model": {"equals": "gpt-4o-mini"}}},
                },
                ["s1"],
            ),
        ]
        for raw, expected in cases:
            assert await _sessions(store, org, raw) == expected, raw
        assert await _sessions(store, org, search="TRIP") == ["s1"]
        assert await _sessions(store, org, name_equals="Trip 2") == ["s1"]
        # A window holding only s2's late request finds s2; its aggregates still cover all of s2.
        window = await store.query_sessions(
            org_id=org, query=SessionQuery(start_ms=BASE_MS + 3_000, end_ms=BASE_MS + 4_500)
        )
        assert [(s.session_id, s.request_count) for s in window] == [("s2", 2)]
        assert await _sessions(store, org, sort_key="total_cost", sort_descending=True) == ["s1", "s2"]
        # Equal durations (1 s each): ties go newest first.
        assert await _sessions(store, org, sort_key="duration", sort_descending=False) == ["s2", "s1"]
        assert await _sessions(store, org, limit=1, offset=1) == ["s1"]
        # A session that starts before a window and ends after it is in the window only when one
        # of its requests is.
        at = [BASE_MS + 10_000 + step for step in (0, 1_000, 2_000)]
        await store.insert_requests([record(org, session="s3", at_ms=t) for t in at])
        for start, end, expected in ((10_500, 11_500, ["s3"]), (10_200, 10_800, []), (200, 800, [])):
            window = await store.query_sessions(
                org_id=org, query=SessionQuery(start_ms=BASE_MS + start, end_ms=BASE_MS + end)
            )
            assert [s.session_id for s in window] == expected, (start, end)

    with_store(store_url, scenario)


def test_tags_scores_and_later_properties(store_url: str) -> None:
    async def scenario(store: Store) -> None:
        trip = await _trip(store)
        org = trip.org_id
        assert await store.set_session_tag(org_id=org, session_id="s1", tag="first")
        assert await store.set_session_tag(org_id=org, session_id="s1", tag="gold")
        assert not await store.set_session_tag(org_id=org, session_id="missing", tag="x")
        assert await store.get_session_tag(org_id=org, session_id="s1") == "gold"
        assert await store.get_session_tag(org_id=org, session_id="s2") is None
        tag_filter = {"sessions_request_response_rmt": {"session_tag": {"equals": "gold"}}}
        assert await _sessions(store, org, tag_filter) == ["s1"]
        assert await store.set_request_scores(
            org_id=org, request_id=trip.first.request_id, values={"accuracy": 3}
        )
        assert await store.set_request_scores(
            org_id=org, request_id=trip.first.request_id, values={"accuracy": 4}
        )
        assert not await store.set_request_scores(org_id=org, request_id="missing", values={"accuracy": 1})
        assert await store.set_request_property(
            org_id=org, request_id=trip.b_first.request_id, key="variant", value="C"
        )
        assert not await store.set_request_property(org_id=org, request_id="missing", key="k", value="v")
        scored = await store.query_requests(org_id=org, query=RequestQuery(is_scored=True))
        assert [(r.record.request_id, r.scores) for r in scored] == [(trip.first.request_id, {"accuracy": 4})]
        assert await store.count_requests(org_id=org, filter=None, is_scored=False) == 4
        score_filter = parse_filter({"request_response_rmt": {"scores": {"accuracy": {"gte": 4}}}})
        assert await store.count_requests(org_id=org, filter=score_filter, is_scored=None) == 1
        variant_b = parse_filter({"request_response_rmt": {"properties": {"variant": {"equals": "B"}}}})
        found = await store.query_requests(org_id=org, query=RequestQuery(filter=variant_b))
        assert [r.record.request_id for r in found] == [trip.b_late.request_id]
        changed = await store.get_request(org_id=org, request_id=trip.b_first.request_id)
        assert changed is not None and changed.record.properties["variant"] == "C"
        later = {"request_response_rmt": {"properties": {"variant": {"equals": "C"}}}}
        assert await _sessions(store, org, later) == ["s2"]
        # A client's late retry, even one that differs, changes nothing: the first copy and every
        # later change to it stay.
        await store.insert_requests([replace(trip.b_first, cost_nano_usd=9_999, properties={})])
        await store.insert_requests([replace(trip.first, cost_nano_usd=9_999)])
        retried = await store.get_request(org_id=org, request_id=trip.b_first.request_id)
        assert retried is not None and retried.record.properties["variant"] == "C"
        assert retried.record.cost_nano_usd == trip.b_first.cost_nano_usd
        scored = await store.query_requests(org_id=org, query=RequestQuery(is_scored=True))
        assert [(r.record.request_id, r.scores) for r in scored] == [(trip.first.request_id, {"accuracy": 4})]
        # The rewritten rows are still counted once.
        totals = await store.count_sessions(org_id=org, query=SessionQuery())
        assert (totals.session_count, totals.cost_nano_usd, totals.request_count) == (2, 6_500, 4)

    with_store(store_url, scenario)


def test_request_pages_sort_and_count(store_url: str) -> None:
    async def scenario(store: Store) -> None:
        trip = await _trip(store)
        org = trip.org_id
        newest = await store.query_requests(org_id=org, query=RequestQuery(limit=2))
        assert [r.record.request_id for r in newest] == [trip.loose.request_id, trip.b_first.request_id]
        by_cost = await store.query_requests(
            org_id=org, query=RequestQuery(sort=RequestSort("cost", "desc"), limit=10)
        )
        assert [r.record.cost_nano_usd for r in by_cost] == [3_000, 2_000, 1_000, 500, 7]
        by_variant = await store.query_requests(
            org_id=org, query=RequestQuery(sort=RequestSort("properties", "asc", "variant"), limit=10)
        )
        assert [r.record.properties.get("variant") for r in by_variant] == ["A", "A", "B", "B", None]
        second_page = await store.query_requests(org_id=org, query=RequestQuery(limit=2, offset=4))
        assert [r.record.request_id for r in second_page] == [trip.first.request_id]
        named = (trip.first.request_id, trip.loose.request_id, "not-stored")
        by_id = await store.query_requests(org_id=org, query=RequestQuery(request_ids=named, limit=3))
        assert [r.record.request_id for r in by_id] == [trip.loose.request_id, trip.first.request_id]
        other = await store.query_requests(org_id=await new_org(store), query=RequestQuery(request_ids=named))
        assert other == []

    with_store(store_url, scenario)


def test_property_keys_hidden_keys_totals_and_score_counts(store_url: str) -> None:
    async def scenario(store: Store) -> None:
        trip = await _trip(store)
        org = trip.org_id
        assert await store.property_keys(org_id=org) == [
            FEEDBACK_KEY,
            "Helicone-Session-Id",
            "Helicone-Session-Name",
            "Helicone-Session-Path",
            "variant",
        ]
        await store.set_property_hidden(org_id=org, key="variant", hidden=True)
        await store.set_property_hidden(org_id=org, key="variant", hidden=True)
        await store.set_property_hidden(org_id=org, key="gone", hidden=True)
        await store.set_property_hidden(org_id=org, key="gone", hidden=False)
        assert await store.hidden_property_keys(org_id=org) == ["variant"]
        assert await store.hidden_property_keys(org_id=await new_org(store)) == []
        totals = await store.property_totals(org_id=org, key="variant", filter=None, bucket_ms=None)
        assert totals == [PropertyTotal("A", None, 2, 4_000), PropertyTotal("B", None, 2, 2_500)]
        gpt_4o = parse_filter({"request_response_rmt": {"model": {"equals": "gpt-4o"}}})
        assert await store.property_totals(org_id=org, key="variant", filter=gpt_4o, bucket_ms=None) == [
            PropertyTotal("A", None, 1, 3_000)
        ]
        by_second = await store.property_totals(
            org_id=org, key="variant", filter=None, bucket_ms=1_000, shift_ms=500
        )
        assert by_second == [
            PropertyTotal("A", BASE_MS - 500, 1, 1_000),
            PropertyTotal("A", BASE_MS + 500, 1, 3_000),
            PropertyTotal("B", BASE_MS + 3_500, 1, 500),
            PropertyTotal("B", BASE_MS + 4_500, 1, 2_000),
        ]
        ratings = await store.property_totals(org_id=org, key=FEEDBACK_KEY, filter=None, bucket_ms=None)
        assert ratings == [PropertyTotal("0", None, 1, 1_000), PropertyTotal("1", None, 1, 500)]
        for request, values in ((trip.first, {"accuracy": 4}), (trip.second, {"accuracy": 4})):
            assert await store.set_request_scores(org_id=org, request_id=request.request_id, values=values)
        assert await store.set_request_scores(
            org_id=org, request_id=trip.b_first.request_id, values={"accuracy": 2, "helpful": 1}
        )
        assert await store.score_counts(org_id=org, filter=None, bucket_ms=None) == [
            ScoreCount("accuracy", 2, None, 1),
            ScoreCount("accuracy", 4, None, 2),
            ScoreCount("helpful", 1, None, 1),
        ]
        variant_a = parse_filter({"request_response_rmt": {"properties": {"variant": {"equals": "A"}}}})
        assert await store.score_counts(org_id=org, filter=variant_a, bucket_ms=DAY_MS) == [
            ScoreCount("accuracy", 4, BASE_MS, 2)
        ]

    with_store(store_url, scenario)


def test_names_metrics_breakdown_and_activity(store_url: str) -> None:
    async def scenario(store: Store) -> None:
        trip = await _trip(store)
        org = trip.org_id
        names = await store.session_names(org_id=org, query=SessionQuery(), limit=10)
        assert [(n.name, n.session_count, n.request_count, n.latency_sum_ms) for n in names] == [
            ("", 1, 2, 300),
            ("Trip 2", 1, 2, 400),
        ]
        metrics = await store.session_metrics(
            org_id=org, query=SessionQuery(), fraction=0.99, interquartile=False
        )
        expected = session_metrics(
            SortedValues([2, 2]), SortedValues([1_000, 1_000]), SortedValues([4_000, 2_500]),
            fraction=0.99, interquartile=False,
        )  # fmt: skip
        assert metrics == expected
        by_variant = await store.feedback_by_value(
            org_id=org, query=SessionQuery(), dimension="variant", limit=10
        )
        assert [(c.value, c.sessions, c.positive, c.negative) for c in by_variant] == [
            ("A", 1, 0, 1),
            ("B", 1, 1, 0),
        ]
        by_model = await store.feedback_by_value(
            org_id=org, query=SessionQuery(), dimension="model", limit=10
        )
        assert [(c.value, c.sessions, c.positive, c.negative) for c in by_model] == [
            ("gpt-4o-mini", 2, 1, 1),
            ("gpt-4o", 1, 0, 1),
        ]
        activity = await store.sessions_over_time(org_id=org, query=SessionQuery(), bucket_ms=DAY_MS)
        day = BASE_MS // DAY_MS * DAY_MS
        assert [(a.bucket_start_ms, a.sessions, a.positive, a.negative) for a in activity] == [(day, 2, 1, 1)]

    with_store(store_url, scenario)


def test_keys_are_found_by_hash_until_revoked(store_url: str) -> None:
    async def scenario(store: Store) -> None:
        org_name = f"keys-{BASE_MS}-{id(store)}"
        org_id = await store.ensure_org(name=org_name)
        assert await store.ensure_org(name=org_name) == org_id
        info = await store.add_api_key(org_id=org_id, key_hash="h" * 64, prefix="hg_abc", name="ci")
        assert (info.org_id, info.org_name, info.prefix, info.name, info.revoked_at_ms) == (
            org_id, org_name, "hg_abc", "ci", None,
        )  # fmt: skip
        assert await store.org_for_key_hash("h" * 64) == org_id
        assert [k.id for k in await store.list_api_keys(org_name=org_name)] == [info.id]
        assert await store.revoke_api_key(key_id="hg_abc")
        assert not await store.revoke_api_key(key_id="hg_abc")
        assert await store.org_for_key_hash("h" * 64) is None
        (revoked,) = await store.list_api_keys(org_name=org_name)
        assert revoked.revoked_at_ms is not None

    with_store(store_url, scenario)


def test_deleting_a_request_or_a_session_takes_everything_with_it(store_url: str) -> None:
    async def scenario(store: Store) -> None:
        trip = await _trip(store)
        org = trip.org_id
        # The late first request of s2 goes: its rating moves to the request that is first now.
        assert await store.delete_request(org_id=org, request_id=trip.b_late.request_id)
        assert not await store.delete_request(org_id=org, request_id=trip.b_late.request_id)
        s2 = await store.get_session(org_id=org, session_id="s2")
        assert s2 is not None
        assert (s2.request_count, s2.cost_nano_usd, s2.first_request_id, s2.feedback, s2.user_ids) == (
            1, 2_000, trip.b_first.request_id, True, [],
        )  # fmt: skip
        first = await store.get_request(org_id=org, request_id=trip.b_first.request_id)
        assert first is not None and first.record.properties[FEEDBACK_KEY] == "1"
        assert await store.get_request(org_id=org, request_id=trip.b_late.request_id) is None
        assert await _sessions(store, org) == ["s2", "s1"]
        # A whole session goes with its rating and tag; a foreign organization deletes nothing.
        await store.set_session_tag(org_id=org, session_id="s1", tag="gone")
        other = await new_org(store)
        assert not await store.delete_session(org_id=other, session_id="s1")
        assert await store.delete_session(org_id=org, session_id="s1")
        assert not await store.delete_session(org_id=org, session_id="s1")
        assert await store.get_session(org_id=org, session_id="s1") is None
        assert await store.get_session_tag(org_id=org, session_id="s1") is None
        assert await store.get_request(org_id=org, request_id=trip.first.request_id) is None
        assert await _sessions(store, org) == ["s2"]
        totals = await store.count_sessions(org_id=org, query=SessionQuery())
        assert (totals.session_count, totals.cost_nano_usd, totals.request_count) == (1, 2_000, 1)
        assert (
            await store.count_requests(org_id=org, filter=None, is_scored=None) == 2
        )  # s2's and the loose one
        # The last request of a session takes the session with it.
        assert await store.delete_request(org_id=org, request_id=trip.b_first.request_id)
        assert await _sessions(store, org) == []

    with_store(store_url, scenario)


def test_a_sign_in_lasts_until_it_is_ended_or_left_idle(store_url: str) -> None:
    async def scenario(store: Store) -> None:
        hour = 3_600_000
        sign_in = await store.start_sign_in(key_hash="k" * 64, idle_ms=hour)
        assert await store.continue_sign_in(sign_in_id=sign_in, idle_ms=hour) == "k" * 64
        await asyncio.sleep(0.01)  # let the clock pass the sign-in's last page view
        assert await store.continue_sign_in(sign_in_id=sign_in, idle_ms=0) is None  # idle past a zero timeout
        assert await store.continue_sign_in(sign_in_id="unknown", idle_ms=hour) is None
        await store.end_sign_in(sign_in_id=sign_in)
        assert await store.continue_sign_in(sign_in_id=sign_in, idle_ms=hour) is None
        await store.end_sign_in(sign_in_id="unknown")  # nothing happens

    with_store(store_url, scenario)


def test_sums_past_64_bits_hold_at_the_largest_value_instead_of_failing(store_url: str) -> None:
    async def scenario(store: Store) -> None:
        org = await new_org(store)
        calls = 9_230  # x 10**15 nano-USD, the most one call may carry, is past 2**63
        await store.insert_requests(
            [record(org, session="big", at_ms=BASE_MS + i, cost=MAX_COST_NANO_USD) for i in range(calls)]
        )
        big = await store.get_session(org_id=org, session_id="big")
        assert big is not None and (big.request_count, big.cost_nano_usd) == (calls, INT64_MAX)
        totals = await store.count_sessions(org_id=org, query=SessionQuery())
        assert (totals.session_count, totals.request_count) == (1, calls)
        assert totals.cost_nano_usd == pytest.approx(INT64_MAX, rel=1e-15)  # SQLite adds as floats
        metrics = await store.session_metrics(
            org_id=org, query=SessionQuery(), fraction=0.5, interquartile=False
        )
        assert metrics.session_count == 1

    with_store(store_url, scenario)


def test_feedback_records_one_per_rater_with_configs_and_the_session_rating(store_url: str) -> None:
    async def scenario(store: Store) -> None:
        trip = await _trip(store)
        org = trip.org_id
        assert await store.set_session_feedback(
            org_id=org, session_id="s1", rating=None
        )  # _trip's api rating

        def entry(value: FeedbackValue, *, rater: str, name: str = "rating", **more: object) -> FeedbackEntry:
            fields: dict[str, object] = {"request_id": None, "comment": None, "source": "human", **more}
            return FeedbackEntry(session_id="s1", name=name, value=value, rater=rater, **fields)  # type: ignore[arg-type]

        ann = await store.put_feedback(org_id=org, entry=entry(True, rater="ann", comment="fine"))
        assert ann is not None and ann.value is True and ann.comment == "fine"
        bo = await store.put_feedback(org_id=org, entry=entry(False, rater="bo"))
        assert bo is not None
        s1 = await store.get_session(org_id=org, session_id="s1")
        assert s1 is not None and s1.feedback is False  # the newest boolean rating of any rater
        again = await store.put_feedback(org_id=org, entry=entry(True, rater="ann", comment="better"))
        assert again is not None and again.id == ann.id and again.created_at_ms == ann.created_at_ms
        assert again.updated_at_ms >= bo.updated_at_ms
        on_request = entry(4, rater="ann", name="stars", request_id=trip.second.request_id, source="llm")
        assert await store.put_feedback(org_id=org, entry=on_request) is not None
        label = await store.put_feedback(org_id=org, entry=entry("rude", rater="bo", name="tone"))
        assert label is not None and label.value == "rude"

        records = await store.query_feedback(org_id=org, query=FeedbackQuery(session_id="s1"))
        assert sorted((r.name, r.rater, r.value, r.comment) for r in records) == [
            ("rating", "ann", True, "better"),
            ("rating", "bo", False, None),
            ("stars", "ann", 4.0, None),
            ("tone", "bo", "rude", None),
        ]
        assert [r.request_id for r in records if r.name == "stars"] == [trip.second.request_id]
        picked = await store.query_feedback(org_id=org, query=FeedbackQuery(min_value=3.5, source="llm"))
        assert [r.name for r in picked] == ["stars"]
        assert [
            r.rater for r in await store.query_feedback(org_id=org, query=FeedbackQuery(value=False))
        ] == ["bo"]
        assert [
            r.value for r in await store.query_feedback(org_id=org, query=FeedbackQuery(value="rude"))
        ] == ["rude"]
        assert (
            len(await store.query_feedback(org_id=org, query=FeedbackQuery(limit=2, offset=4))) == 1
        )  # 4 here and s2's api rating

        # Nothing is stored for a session or request the organization does not have.
        assert (
            await store.put_feedback(org_id=org, entry=replace(entry(True, rater="x"), session_id="nope"))
            is None
        )
        foreign = replace(entry(True, rater="x"), request_id=trip.b_first.request_id)  # a request of s2
        assert await store.put_feedback(org_id=org, entry=foreign) is None
        other = await new_org(store)
        assert await store.put_feedback(org_id=other, entry=entry(True, rater="x")) is None
        assert await store.query_feedback(org_id=other, query=FeedbackQuery()) == []
        assert not await store.delete_feedback(org_id=other, feedback_id=ann.id)
        assert len(await store.query_feedback(org_id=org, query=FeedbackQuery())) == 5

        # Deleting the newest rating leaves the one before it on the session and its first request.
        assert await store.delete_feedback(org_id=org, feedback_id=ann.id)
        s1 = await store.get_session(org_id=org, session_id="s1")
        assert s1 is not None and s1.feedback is False
        first = await store.get_request(org_id=org, request_id=trip.first.request_id)
        assert first is not None and first.record.properties[FEEDBACK_KEY] == "0"
        assert await store.delete_feedback(org_id=org, feedback_id=bo.id)
        s1 = await store.get_session(org_id=org, session_id="s1")
        assert s1 is not None and s1.feedback is None

        # The seed's rating is the api rater's record.
        assert await store.set_session_feedback(org_id=org, session_id="s1", rating=True)
        api = await store.query_feedback(org_id=org, query=FeedbackQuery(rater="api", session_id="s1"))
        assert [(r.name, r.value, r.source) for r in api] == [("rating", True, "api")]

        await store.put_feedback_config(org_id=org, config=FeedbackConfig("stars", "numeric", 1, 5))
        await store.put_feedback_config(
            org_id=org, config=FeedbackConfig("stars", "numeric", 0, 10, (), "wider")
        )
        await store.put_feedback_config(
            org_id=org, config=FeedbackConfig("tone", "categorical", labels=("a", "b"))
        )
        configs = sorted(await store.list_feedback_configs(org_id=org), key=lambda c: c.name)
        assert configs == [
            FeedbackConfig("stars", "numeric", 0, 10, (), "wider"),
            FeedbackConfig("tone", "categorical", None, None, ("a", "b"), ""),
        ]
        assert await store.list_feedback_configs(org_id=other) == []

        # s1: stars 4, tone "rude" (no number), the api's thumbs up; s2: _trip's thumbs up.
        totals = await store.feedback_totals(org_id=org, session_ids=["s1", "s2", "nope"])
        assert totals == {"s1": FeedbackTotals(3, 2.5), "s2": FeedbackTotals(1, 1.0)}
        assert await store.feedback_totals(org_id=other, session_ids=["s1"]) == {}

        assert await store.delete_session(org_id=org, session_id="s1")
        assert await store.query_feedback(org_id=org, query=FeedbackQuery(session_id="s1")) == []

    with_store(store_url, scenario)


def test_newest_first_request_pages_find_requests_of_old_sessions_and_outside_sessions(
    store_url: str,
) -> None:
    """3,000 sessions, one request each a minute apart, then the newest requests of all: one in the
    oldest session and one outside sessions. ClickHouse finds a newest-first page from the most recent
    sessions (clickhouse/newest.py): these pages need it to look further, or everywhere."""

    async def scenario(store: Store) -> None:
        org = await new_org(store)
        records = [
            record(
                org, session=f"s{i:04d}", at_ms=BASE_MS + i * 60_000, tier="gold" if i % 1000 == 7 else "free"
            )
            for i in range(3_000)
        ]
        late = BASE_MS + 3_000 * 60_000
        records += [
            record(org, session="s0000", at_ms=late + 1_000, tier="gold"),
            record(org, at_ms=late + 2_000, tier="gold"),
        ]
        await store.insert_requests(records)
        newest = sorted(records, key=lambda r: (r.created_at_ms, r.request_id), reverse=True)
        gold = parse_filter({"request_response_rmt": {"properties": {"tier": {"equals": "gold"}}}})
        for raw, limit, offset in ((None, 3, 0), (None, 2, 2_990), (gold, 4, 0), (gold, 2, 3), (gold, 0, 0)):
            expected = [r for r in newest if raw is None or r.properties["tier"] == "gold"]
            page = await store.query_requests(
                org_id=org, query=RequestQuery(filter=raw, limit=limit, offset=offset)
            )
            assert [r.record.request_id for r in page] == [
                r.request_id for r in expected[offset : offset + limit]
            ], (raw, limit, offset)

    with_store(store_url, scenario)
