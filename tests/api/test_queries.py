"""The query API (spec 3.2-3.5, 4, 5) against a hand-computed data set, on both databases."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from heliograph.api.request_schemas import iso_time
from heliograph.domain.sessions import SessionQuery
from heliograph.errors import InvalidInput
from heliograph.storage.sql.store import SqlStore
from query_dataset import HOUR, T0, WEIRD_KEY, WEIRD_VALUE, Dataset, load, rid
from support import Server, new_tenant, query_body, skip_on_chdb

R, S = "request_response_rmt", "sessions_request_response_rmt"


def iso(ms: int) -> str:
    return iso_time(ms)


def req(field: str, op: str, value: Any) -> dict[str, Any]:
    if field.startswith(("properties.", "scores.")):
        kind, key = field.split(".", 1)
        return {R: {kind: {key: {op: value}}}}
    return {R: {field: {op: value}}}


def ses(field: str, op: str, value: Any) -> dict[str, Any]:
    return {S: {field: {op: value}}}


def both(op: str, left: Any, right: Any) -> dict[str, Any]:
    return {"left": left, "operator": op, "right": right}


@pytest.fixture(scope="module")
def data(server: Server) -> Iterator[Dataset]:
    tenant = new_tenant(server, f"queries-{uuid.uuid4().hex[:8]}")
    yield load(tenant)
    tenant.client.close()


def session_ids(data: Dataset, **body: Any) -> list[str]:
    response = data.tenant.client.post("/v1/session/query", json=query_body(**body))
    assert response.status_code == 200, response.text
    by_id = {v: k for k, v in data.sessions.items()}
    return [by_id[row["session_id"]] for row in response.json()["data"]]


def request_ids(data: Dataset, path: str = "/v1/request/query", **body: Any) -> list[int]:
    response = data.tenant.client.post(path, json={"filter": "all", "limit": 100} | body)
    assert response.status_code == 201, response.text
    by_id = {rid(n): n for n in range(1, 9)}
    return [by_id[row["request_id"]] for row in response.json()["data"]]


SESSION_FILTERS = [
    pytest.param(req("properties.env", "equals", "prod"), ["s3", "s1"], id="property-equals"),
    pytest.param(req("properties.env", "not-equals", "prod"), ["s4", "s2"], id="property-not-equals"),
    pytest.param(req("properties.prompt-version", "like", "B"), ["s3", "s2"], id="property-like"),
    pytest.param(req("properties.prompt-version", "like", "b"), [], id="like-is-case-sensitive"),
    pytest.param(req("properties.prompt-version", "ilike", "b"), ["s3", "s2"], id="property-ilike"),
    pytest.param(req("properties.quote", "contains", '100% "r'), ["s3"], id="contains-quotes-and-percent"),
    pytest.param(req("properties.quote", "contains", "100%x"), [], id="percent-is-literal"),
    pytest.param(req("properties.env", "not-contains", "pro"), ["s4", "s2"], id="property-not-contains"),
    pytest.param(req("properties.ключ", "equals", "значение"), ["s4"], id="unicode-property"),
    pytest.param(req("property_key", "equals", "quote"), ["s3"], id="property-key"),
    pytest.param(req("model", "equals", "gpt-4o"), ["s1"], id="model-equals"),
    pytest.param(req("model", "like", "claude%"), ["s3"], id="model-like"),
    pytest.param(req("status", "equals", 500), ["s2"], id="status-equals"),
    pytest.param(req("status", "gte", 429), ["s3", "s2"], id="status-gte"),
    pytest.param(req("status", "equals", "429"), ["s3"], id="status-as-string"),
    pytest.param(req("latency", "gt", 1000), ["s3", "s1"], id="latency-gt"),
    pytest.param(req("latency", "lte", 50), ["s4"], id="latency-lte"),
    pytest.param(req("time_to_first_token", "equals", 800), ["s3"], id="ttft-equals"),
    pytest.param(req("time_to_first_token", "lt", 100), ["s4"], id="ttft-lt"),
    pytest.param(req("prompt_tokens", "gte", 2000), ["s3", "s1"], id="prompt-tokens"),
    pytest.param(req("completion_tokens", "equals", 10), ["s4"], id="completion-tokens"),
    pytest.param(req("total_tokens", "gt", 3000), ["s3"], id="total-tokens"),
    pytest.param(req("cost", "gt", 0.01), ["s3"], id="cost-gt-is-strict"),
    pytest.param(req("cost", "gte", 0.01), ["s3", "s1"], id="cost-gte"),
    pytest.param(req("cost", "equals", 0), ["s4"], id="cost-zero"),
    pytest.param(req("request_created_at", "gte", iso(T0 + 2 * HOUR)), ["s4", "s3"], id="created-gte"),
    pytest.param(req("request_created_at", "lt", iso(T0 + 1)), ["s1"], id="created-lt"),
    pytest.param(req("user_id", "equals", "u2"), ["s3"], id="user-equals"),
    pytest.param(req("user_id", "not-equals", "ann"), ["s4", "s3", "s2"], id="user-not-equals"),
    pytest.param(req("provider", "equals", "ANTHROPIC"), ["s3"], id="provider-anthropic"),
    pytest.param(req("provider", "equals", "CUSTOM"), ["s4"], id="provider-custom"),
    pytest.param(req("request_id", "equals", rid(5)), ["s3"], id="request-id"),
    pytest.param(req("target_url", "contains", "anthropic"), ["s3"], id="target-url"),
    pytest.param(req("request_body", "contains", "refund"), ["s2"], id="request-body"),
    pytest.param(req("response_body", "contains", "Happy to help"), ["s1"], id="response-body"),
    pytest.param(req("helicone-score-feedback", "equals", True), ["s3"], id="request-feedback-true"),
    pytest.param(req("helicone-score-feedback", "equals", False), ["s2"], id="request-feedback-false"),
    pytest.param(req("scores.accuracy", "gte", 8), ["s1"], id="score-gte"),
    pytest.param(req("scores.accuracy", "lt", 8), ["s3"], id="score-lt"),
    pytest.param(
        req("properties.Helicone-Session-Feedback", "equals", "1"), ["s1"], id="session-feedback-up"
    ),
    pytest.param(
        req("properties.Helicone-Session-Feedback", "equals", "0"), ["s2"], id="session-feedback-down"
    ),
    pytest.param(
        req("properties.Helicone-Session-Feedback", "not-equals", "1"),
        ["s4", "s3", "s2"],
        id="session-not-rated-up",
    ),
    pytest.param(
        both(
            "and",
            req("properties.Helicone-Session-Feedback", "not-equals", "1"),
            req("properties.Helicone-Session-Feedback", "not-equals", "0"),
        ),
        ["s4", "s3"],
        id="session-not-rated",
    ),
    pytest.param(ses("session_session_name", "equals", "Support"), ["s2", "s1"], id="session-name"),
    pytest.param(ses("session_session_name", "equals", ""), ["s4"], id="session-without-name"),
    pytest.param(ses("session_total_cost", "gt", 0.02), ["s3"], id="session-cost-gt"),
    pytest.param(ses("session_total_cost", "lte", 0.000135), ["s4", "s2"], id="session-cost-lte"),
    pytest.param(ses("session_total_tokens", "gte", 3700), ["s3", "s1"], id="session-tokens"),
    pytest.param(ses("session_prompt_tokens", "lt", 500), ["s4"], id="session-prompt-tokens"),
    pytest.param(ses("session_completion_tokens", "equals", 700), ["s1"], id="session-completion-tokens"),
    pytest.param(ses("session_total_requests", "equals", 3), ["s3"], id="session-requests-equals"),
    pytest.param(ses("session_total_requests", "gte", 2), ["s3", "s1"], id="session-requests-gte"),
    pytest.param(ses("session_created_at", "gte", iso(T0 + HOUR)), ["s4", "s3", "s2"], id="session-created"),
    pytest.param(ses("session_latest_request_created_at", "lt", iso(T0 + HOUR)), ["s1"], id="session-latest"),
    pytest.param(ses("session_tag", "equals", "vip"), ["s3"], id="tag-equals"),
    pytest.param(ses("session_tag", "not-equals", "vip"), ["s4", "s2", "s1"], id="tag-not-equals"),
    pytest.param(
        both("and", req("properties.env", "equals", "prod"), ses("session_total_requests", "gte", 3)),
        ["s3"],
        id="request-and-session",
    ),
    pytest.param(
        both("or", req("model", "equals", "gpt-4o"), ses("session_tag", "equals", "escalated")),
        ["s2", "s1"],
        id="request-or-session",
    ),
    pytest.param(
        both(
            "or",
            both(
                "and",
                both("or", req("status", "equals", 500), req("latency", "gt", 3000)),
                req("properties.prompt-version", "equals", "B"),
            ),
            ses("session_session_name", "equals", ""),
        ),
        ["s4", "s3", "s2"],
        id="three-deep",
    ),
    pytest.param(both("and", "all", req("model", "equals", "gpt-4o")), ["s1"], id="and-all"),
    pytest.param(both("or", "all", req("model", "equals", "gpt-4o")), ["s4", "s3", "s2", "s1"], id="or-all"),
    pytest.param("all", ["s4", "s3", "s2", "s1"], id="all"),
    pytest.param({}, ["s4", "s3", "s2", "s1"], id="empty-object"),
]


class TestSessionFilters:
    @pytest.mark.parametrize(("filter_", "expected"), SESSION_FILTERS)
    def test_a_filter_selects_exactly_the_sessions_computed_by_hand(
        self, data: Dataset, filter_: Any, expected: list[str]
    ) -> None:
        assert session_ids(data, filter=filter_) == expected

    def test_aggregates_cover_the_whole_session_whatever_selected_it(self, data: Dataset) -> None:
        body = query_body(filter=req("status", "equals", 429))
        (row,) = data.tenant.client.post("/v1/session/query", json=body).json()["data"]
        assert row["session_id"] == data.sid("s3")
        assert row["total_requests"] == 3
        assert row["total_cost"] == pytest.approx(0.02409)  # 24,000,000 + 45,000 + 45,000 nano-USD
        assert (row["prompt_tokens"], row["completion_tokens"], row["total_tokens"]) == (3200, 1100, 4300)
        assert row["avg_latency"] == pytest.approx(4400 / 3)
        assert row["user_ids"] == ["u1", "u2"]
        assert row["created_at"] == "2025-06-15 17:06:40.000"
        assert row["latest_request_created_at"] == "2025-06-15 17:08:10.000"

    def test_sql_fragments_in_property_keys_and_values_are_plain_data(self, data: Dataset) -> None:
        hostile = req(f"properties.{WEIRD_KEY}", "equals", WEIRD_VALUE)
        assert request_ids(data, filter=hostile) == [8]
        assert request_ids(data, filter=req(f"properties.{WEIRD_KEY}", "equals", "1")) == []
        assert len(request_ids(data)) == 8  # and the requests table is still there


class TestSessionCount:
    def test_it_sums_every_matching_session(self, data: Dataset) -> None:
        response = data.tenant.client.post("/v1/session/count", json=query_body(limit=1, offset=3))
        assert response.status_code == 200
        assert response.json()["data"] == {
            "count": 4,
            "total_cost": pytest.approx(0.034495),
            "avg_cost": pytest.approx(0.034495 / 4),
            "avg_latency": 6750 / 4,  # all latency summed per session, averaged over sessions
            "avg_requests": 7 / 4,
        }

    def test_a_filter_narrows_it(self, data: Dataset) -> None:
        body = query_body(filter=req("properties.Helicone-Session-Feedback", "equals", "1"))
        data_ = data.tenant.client.post("/v1/session/count", json=body).json()["data"]
        assert data_["count"] == 1
        assert data_["total_cost"] == pytest.approx(0.01027)
        assert data_["avg_requests"] == 2

    def test_nothing_matching_gives_zeros(self, data: Dataset) -> None:
        body = query_body(search="no such session")
        assert data.tenant.client.post("/v1/session/count", json=body).json()["data"] == {
            "count": 0,
            "total_cost": 0.0,
            "avg_cost": 0.0,
            "avg_latency": 0.0,
            "avg_requests": 0.0,
        }


class TestSessionNames:
    def test_names_are_grouped_most_recently_used_first(self, data: Dataset) -> None:
        response = data.tenant.client.post(
            "/v1/session/name/query", json={"nameContains": "", "timezoneDifference": 0}
        )
        assert response.status_code == 200
        rows = response.json()["data"]
        assert [(r["name"], r["session_count"]) for r in rows] == [("", 1), ("Agent", 1), ("Support", 2)]
        support = rows[2]
        assert support["first_used"] == support["created_at"] == "2025-06-15 15:06:40.000"
        assert support["last_used"] == "2025-06-15 16:06:40.000"
        assert support["avg_latency"] == pytest.approx(2300 / 3)

    def test_name_contains_is_case_insensitive_and_timezone_shifts_times(self, data: Dataset) -> None:
        body = {"nameContains": "SUPP", "timezoneDifference": 60}
        (row,) = data.tenant.client.post("/v1/session/name/query", json=body).json()["data"]
        assert row["name"] == "Support"
        assert row["first_used"] == "2025-06-15 16:06:40.000"


class TestSessionMetrics:
    def post(self, data: Dataset, **body: Any) -> dict[str, Any]:
        response = data.tenant.client.post(
            "/v1/session/metrics/query", json={"nameContains": "", "timezoneDifference": 0} | body
        )
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()["data"]
        return result

    def test_p75_keeps_sessions_at_or_below_the_quantile(self, data: Dataset) -> None:
        metrics = self.post(data)
        # Request counts [1, 1, 2, 3]: p75 = 2.25, so 3 sessions are kept, binned over [1, 2].
        counts = metrics["session_count"]
        assert len(counts) == 10 and sum(b["value"] for b in counts) == 3
        assert (counts[0]["range_start"], counts[0]["value"]) == ("1.0", 2)
        assert (counts[9]["range_end"], counts[9]["value"]) == ("2.0", 1)
        # Durations [0, 0, 60, 90] s: p75 = 67.5.
        durations = metrics["session_duration"]
        assert sum(b["value"] for b in durations) == 3
        assert (durations[0]["value"], durations[9]["range_end"], durations[9]["value"]) == (2, "60.0", 1)
        costs = metrics["session_cost"]
        assert sum(b["value"] for b in costs) == 3
        assert float(costs[9]["range_end"]) == pytest.approx(0.01027)
        assert metrics["average"] == {
            "session_count": [{"average": 1.75}],
            "session_duration": [{"average": 37.5}],
            "session_cost": [{"average": pytest.approx(0.00862375)}],
        }

    def test_interquartile_trims_both_ends(self, data: Dataset) -> None:
        metrics = self.post(data, pSize="p50", useInterquartile=True)
        assert metrics["session_count"] == []  # only values equal to the median (1.5) would remain
        metrics = self.post(data, pSize="p95", useInterquartile=True)
        # Counts: p05 = 1.0, p95 = 2.85, so [1, 1, 2] remain.
        assert sum(b["value"] for b in metrics["session_count"]) == 3

    def test_name_selects_by_equality(self, data: Dataset) -> None:
        metrics = self.post(data, nameContains="Support", pSize="p99")
        assert metrics["average"]["session_count"] == [{"average": 1.5}]
        assert sum(b["value"] for b in metrics["session_count"]) == 1  # p99 of [1, 2] is 1.99

    def test_no_sessions_gives_empty_bins(self, data: Dataset) -> None:
        metrics = self.post(data, nameContains="nobody")
        assert metrics["session_count"] == [] and metrics["average"]["session_cost"] == [{"average": 0.0}]


class TestFeedbackBreakdown:
    def test_each_value_gets_its_sessions_ratings_interval_and_p_value(self, data: Dataset) -> None:
        response = data.tenant.client.post(
            "/v1/session/feedback/breakdown", json={"property": "prompt-version"}
        )
        assert response.status_code == 200, response.text
        b, a = response.json()["data"]  # B is in s2 and s3, A only in s1; most sessions first
        # A: s1 rated up. Wilson 1/1 = (0.2065, 1.0).
        assert (a["value"], a["sessions"], a["rated"], a["positive"], a["negative"]) == ("A", 1, 1, 1, 0)
        assert (a["positive_rate"], a["p_value"]) == (1.0, None)
        assert (a["ci_low"], a["ci_high"]) == (pytest.approx(0.2065, abs=1e-4), 1.0)
        # B: s2 rated down, s3 unrated. Against A: pooled 1/2, z = -1/sqrt(0.5), p = erfc(1) = 0.1573.
        assert (b["value"], b["sessions"], b["rated"], b["positive"], b["negative"]) == ("B", 2, 1, 0, 1)
        assert b["positive_rate"] == 0.0
        assert (b["ci_low"], b["ci_high"]) == (0.0, pytest.approx(0.7934, abs=1e-4))
        assert b["p_value"] == pytest.approx(0.157299, abs=1e-6)

    def test_model_is_a_built_in_dimension_and_filters_apply(self, data: Dataset) -> None:
        body = {"property": "model", "filter": ses("session_session_name", "equals", "Support")}
        rows = data.tenant.client.post("/v1/session/feedback/breakdown", json=body).json()["data"]
        assert [(r["value"], r["sessions"], r["positive"], r["negative"]) for r in rows] == [
            ("gpt-4o-mini", 2, 1, 1),
            ("gpt-4o", 1, 1, 0),
        ]

    def test_an_empty_property_is_refused(self, data: Dataset) -> None:
        response = data.tenant.client.post("/v1/session/feedback/breakdown", json={"property": ""})
        assert response.status_code == 422


class TestSessionOrderAndActivity:
    """Orders and day buckets the dashboard reads straight from the store."""

    @pytest.mark.parametrize(
        ("sort_key", "descending", "expected"),
        [
            pytest.param("total_cost", True, ["s3", "s1", "s2", "s4"], id="cost-desc"),
            pytest.param("duration", True, ["s3", "s1", "s4", "s2"], id="duration-desc-ties-newest-first"),
            pytest.param("total_requests", False, ["s4", "s2", "s1", "s3"], id="requests-asc"),
            pytest.param("total_tokens", True, ["s3", "s1", "s2", "s4"], id="tokens-desc"),
            pytest.param("latest_request_created_at", False, ["s1", "s2", "s3", "s4"], id="latest-asc"),
        ],
    )
    def test_sessions_sort_by_each_key(
        self, data: Dataset, sort_key: str, descending: bool, expected: list[str]
    ) -> None:
        query = SessionQuery(sort_key=sort_key, sort_descending=descending)
        found = _with_store(data, lambda store, org: store.query_sessions(org_id=org, query=query))
        by_id = {v: k for k, v in data.sessions.items()}
        assert [by_id[s.session_id] for s in found] == expected

    def test_sessions_over_time_count_starts_and_ratings_per_bucket(self, data: Dataset) -> None:
        activity = _with_store(
            data,
            lambda store, org: store.sessions_over_time(org_id=org, query=SessionQuery(), bucket_ms=HOUR),
        )
        # s1 starts at T0 (rated up), s2 at T0+1h (down), s3 at T0+2h, s4 at T0+3h; T0 is 15:06:40.
        hour0 = T0 // HOUR * HOUR
        assert [(a.bucket_start_ms - hour0, a.sessions, a.positive, a.negative) for a in activity] == [
            (0, 1, 1, 0),
            (HOUR, 1, 0, 1),
            (2 * HOUR, 1, 0, 0),
            (3 * HOUR, 1, 0, 0),
        ]

    def test_an_unknown_sort_is_refused(self) -> None:
        with pytest.raises(InvalidInput, match="Invalid sort"):
            SessionQuery(sort_key="colour")


def _with_store(data: Dataset, read: Any) -> Any:
    """Run `read(store, org_id)` against the server's database."""
    skip_on_chdb(data.tenant.server.database_url)
    org_id = data.tenant.org_id

    async def run() -> Any:
        store = SqlStore.from_url(data.tenant.server.database_url)
        try:
            return await read(store, org_id)
        finally:
            await store.close()

    return asyncio.run(run())


class TestSessionTags:
    def test_get_returns_the_tag_and_a_new_tag_replaces_it(self, data: Dataset) -> None:
        client = data.tenant.client
        assert client.get(f"/v1/session/{data.sid('s3')}/tag").json() == {"data": "vip", "error": None}
        assert client.get(f"/v1/session/{data.sid('s1')}/tag").json() == {"data": None, "error": None}

    def test_tags_and_tag_filters_are_scoped_to_the_organization(self, server: Server, data: Dataset) -> None:
        other = new_tenant(server, f"other-{uuid.uuid4().hex[:8]}")
        try:
            assert other.client.get(f"/v1/session/{data.sid('s3')}/tag").json()["data"] is None
            assert (
                other.client.post(f"/v1/session/{data.sid('s3')}/tag", json={"tag": "x"}).status_code == 404
            )
            other.log(headers={"Helicone-Session-Id": data.sid("s1")})
            assert (
                other.client.post(f"/v1/session/{data.sid('s1')}/tag", json={"tag": "vip"}).status_code == 200
            )
        finally:
            other.client.close()
        assert session_ids(data, filter=ses("session_tag", "equals", "vip")) == ["s3"]


REQUEST_FILTERS = [
    pytest.param(req("model", "equals", "gpt-4o-mini"), [8, 6, 5, 3, 1], id="model"),
    pytest.param(ses("session_session_name", "equals", "Agent"), [6, 5, 4], id="session-leaf"),
    pytest.param(
        both("and", req("properties.env", "equals", "prod"), req("status", "equals", 200)),
        [5, 4, 2, 1],
        id="and",
    ),
    pytest.param(ses("session_tag", "equals", "escalated"), [3], id="session-tag"),
    pytest.param(
        both("or", req("model", "like", "claude%"), req("user_id", "equals", "bob")), [4, 3], id="or"
    ),
    pytest.param(req("helicone-score-feedback", "equals", True), [5], id="feedback-score"),
    pytest.param(req("scores.accuracy", "contains", "9"), [1], id="score-text-contains"),
    pytest.param(req("scores.accuracy", "equals", "5"), [4], id="score-text-equals"),
    pytest.param(req("scores.accuracy", "not-contains", "9"), [8, 7, 6, 5, 4, 3, 2], id="score-not-contains"),
    pytest.param(req("scores_column", "equals", "accuracy"), [4, 1], id="scores-column"),
    pytest.param(
        {R: {"model": {"equals": "gpt-4o-mini"}}, "request": {"user_id": {"equals": "bob"}}},
        [3],
        id="two-tables-in-one-leaf",
    ),
    pytest.param(req("cache_enabled", "equals", False), [8, 7, 6, 5, 4, 3, 2, 1], id="never-cached"),
    pytest.param(req("country_code", "equals", "NL"), [], id="no-country"),
    pytest.param(
        both("or", req("threat", "equals", True), req("user_id", "equals", "bob")), [3], id="nothing-or-bob"
    ),
]

# Helicone's legacy tables, each beside the request_response_rmt filter it means.
LEGACY_FILTERS = [
    pytest.param({"request": {"user_id": {"equals": "bob"}}}, req("user_id", "equals", "bob"), id="user"),
    pytest.param({"request": {"model": {"like": "gpt%"}}}, req("model", "like", "gpt%"), id="model"),
    pytest.param(
        {"request": {"prompt": {"contains": "refund"}}}, req("request_body", "contains", "refund"), id="p"
    ),
    pytest.param({"response": {"status": {"equals": 500}}}, req("status", "equals", 500), id="status"),
    pytest.param(
        {"response": {"body_tokens": {"gt": 200}}}, req("completion_tokens", "gt", 200), id="tokens"
    ),
    pytest.param(
        {"feedback": {"rating": {"equals": True}}}, req("helicone-score-feedback", "equals", True), id="fb"
    ),
    pytest.param(
        {"properties": {"env": {"equals": "prod"}}}, req("properties.env", "equals", "prod"), id="props"
    ),
    pytest.param(
        {R: {"search_properties": {"env": {"equals": "prod"}}}},
        req("properties.env", "equals", "prod"),
        id="sp",
    ),
]

SORTS = [
    pytest.param({"created_at": "asc"}, [1, 2, 3, 4, 5, 6, 7, 8], id="created-asc"),
    pytest.param({"latency": "desc"}, [4, 2, 1, 3, 6, 5, 7, 8], id="latency-desc"),
    pytest.param({"cost": "asc"}, [7, 8, 6, 5, 3, 1, 2, 4], id="cost-asc"),
    pytest.param({"total_tokens": "desc"}, [4, 2, 1, 3, 6, 5, 7, 8], id="total-tokens-desc"),
    pytest.param({"prompt_tokens": "asc"}, [8, 7, 6, 5, 3, 1, 2, 4], id="prompt-tokens-asc"),
    pytest.param({"completion_tokens": "desc"}, [4, 2, 1, 3, 6, 5, 7, 8], id="completion-tokens-desc"),
    pytest.param({"user_id": "asc"}, [8, 2, 1, 3, 4, 6, 5, 7], id="user-asc-missing-last"),
    pytest.param({"time_to_first_token": "asc"}, [7, 4, 8, 6, 5, 3, 2, 1], id="ttft-asc-missing-last"),
    pytest.param({"properties.prompt-version": "desc"}, [5, 4, 3, 2, 1, 8, 7, 6], id="property-desc"),
    pytest.param({"properties": {"prompt-version": "desc"}}, [5, 4, 3, 2, 1, 8, 7, 6], id="nested-property"),
    pytest.param({"body_model": "asc"}, [4, 2, 8, 6, 5, 3, 1, 7], id="body-model-asc"),
    pytest.param({"is_cached": "asc"}, [8, 7, 6, 5, 4, 3, 2, 1], id="is-cached-all-tie"),
    pytest.param({"values": {"name": "asc"}}, [8, 7, 6, 5, 4, 3, 2, 1], id="values-all-tie"),
]


class TestRequestQuery:
    @pytest.mark.parametrize(("filter_", "expected"), REQUEST_FILTERS)
    def test_a_filter_selects_exactly_the_requests_computed_by_hand(
        self, data: Dataset, filter_: Any, expected: list[int]
    ) -> None:
        assert request_ids(data, filter=filter_) == expected
        assert request_ids(data, path="/v1/request/query-clickhouse", filter=filter_) == expected

    @pytest.mark.parametrize(("legacy", "modern"), LEGACY_FILTERS)
    def test_a_legacy_table_means_what_helicone_maps_it_to(
        self, data: Dataset, legacy: Any, modern: Any
    ) -> None:
        expected = request_ids(data, filter=modern)
        assert expected, "the pair should select something"
        assert request_ids(data, filter=legacy) == expected

    def test_the_organization_and_response_time_fields_select_what_they_say(self, data: Dataset) -> None:
        assert len(request_ids(data, filter=req("organization_id", "equals", data.tenant.org_id))) == 8
        rows = data.tenant.client.post("/v1/request/query", json={"filter": "all", "limit": 100}).json()[
            "data"
        ]
        newest = max(row["response_created_at"] for row in rows)
        (latest,) = request_ids(data, filter=req("response_created_at", "gte", newest))
        assert {row["request_id"]: row["response_created_at"] for row in rows}[rid(latest)] == newest

    @pytest.mark.parametrize(("sort", "expected"), SORTS)
    def test_every_sort_key_orders_with_ties_newest_first(
        self, data: Dataset, sort: dict[str, str], expected: list[int]
    ) -> None:
        assert request_ids(data, sort=sort) == expected

    def test_a_random_sort_returns_every_request(self, data: Dataset) -> None:
        assert sorted(request_ids(data, sort={"random": True})) == list(range(1, 9))

    @pytest.mark.parametrize(
        ("page", "expected"),
        [
            pytest.param({"limit": 0}, [], id="limit-0"),
            pytest.param({"limit": -3}, [], id="negative-limit"),
            pytest.param({"limit": 2.9, "offset": 1.5}, [7, 6], id="fractions-drop"),
            pytest.param({"limit": 5000, "offset": -4}, [8, 7, 6, 5, 4, 3, 2, 1], id="over-1000"),
        ],
    )
    def test_any_limit_helicones_schema_allows_is_answered(
        self, data: Dataset, page: dict[str, Any], expected: list[int]
    ) -> None:
        assert request_ids(data, **page) == expected

    @pytest.mark.parametrize(
        ("flags", "expected"),
        [
            pytest.param({"isCached": True}, [], id="cached"),
            pytest.param({"isCached": False}, [8, 7, 6, 5, 4, 3, 2, 1], id="uncached"),
            pytest.param({"isPartOfExperiment": True}, [], id="in-experiment"),
            pytest.param(
                {"isPartOfExperiment": False, "includeInputs": True}, [8, 7, 6, 5, 4, 3, 2, 1], id="not"
            ),
        ],
    )
    def test_cache_and_experiment_flags_answer_as_no_cache_and_no_experiments(
        self, data: Dataset, flags: dict[str, Any], expected: list[int]
    ) -> None:
        assert request_ids(data, **flags) == expected
        count = data.tenant.client.post("/v1/request/count/query", json={"filter": "all", **flags})
        assert count.json()["data"] == len(expected)

    def test_pages_cover_everything_once(self, data: Dataset) -> None:
        pages = [request_ids(data, limit=3, offset=offset, sort={"cost": "asc"}) for offset in (0, 3, 6)]
        assert pages == [[7, 8, 6], [5, 3, 1], [2, 4]]

    @pytest.mark.parametrize(
        ("is_scored", "expected"), [(True, [5, 4, 3, 1]), (False, [8, 7, 6, 2])], ids=["scored", "unscored"]
    )
    def test_is_scored(self, data: Dataset, is_scored: bool, expected: list[int]) -> None:
        assert request_ids(data, isScored=is_scored) == expected

    def test_the_default_page_is_ten_newest(self, data: Dataset) -> None:
        response = data.tenant.client.post("/v1/request/query", json={"filter": "all"})
        assert [row["request_id"] for row in response.json()["data"]] == [rid(n) for n in range(8, 0, -1)]

    def test_rows_carry_scores_and_costs(self, data: Dataset) -> None:
        (row,) = data.tenant.client.post(
            "/v1/request/query", json={"filter": req("request_id", "equals", rid(4))}
        ).json()["data"]
        assert row["scores"] == {"accuracy": 5}
        assert row["cost"] == pytest.approx(0.024)
        assert row["provider"] == "ANTHROPIC" and row["time_to_first_token"] == 800

    def test_count(self, data: Dataset) -> None:
        response = data.tenant.client.post(
            "/v1/request/count/query", json={"filter": req("model", "equals", "gpt-4o-mini")}
        )
        assert response.status_code == 200
        assert response.json() == {"data": 5, "error": None}


class TestScores:
    def test_scores_are_upserted_and_booleans_count_as_integers(self, data: Dataset) -> None:
        client = data.tenant.client
        request_id = data.tenant.log()
        assert (
            client.post(f"/v1/request/{request_id}/score", json={"scores": {"a": 3, "b": True}}).status_code
            == 201
        )
        assert client.post(f"/v1/request/{request_id}/score", json={"scores": {"a": -7}}).status_code == 201
        assert client.get(f"/v1/request/{request_id}").json()["data"]["scores"] == {"a": -7, "b": 1}

    @pytest.mark.parametrize(
        ("scores", "message"),
        [
            pytest.param({"a": 1.5}, "scores are integers or booleans", id="float"),
            pytest.param({"a": "7"}, "scores are integers or booleans", id="string"),
            pytest.param({"a": 2**63}, "scores are integers or booleans", id="beyond-int64"),
            pytest.param({}, "at least one score", id="empty"),
        ],
    )
    def test_bad_scores_get_400_and_change_nothing(self, data: Dataset, scores: Any, message: str) -> None:
        response = data.tenant.client.post(f"/v1/request/{rid(2)}/score", json={"scores": scores})
        assert response.status_code == 400
        assert message in response.json()["error"]
        assert data.tenant.client.get(f"/v1/request/{rid(2)}").json()["data"]["scores"] == {}


def _deep_filter(levels: int) -> str:
    text = '{"request_response_rmt": {"model": {"equals": "x"}}}'
    for _ in range(levels):
        text = f'{{"left": {text}, "operator": "and", "right": "all"}}'
    return text


class TestHostileInput:
    @pytest.mark.parametrize("levels", [65, 1000, 5000], ids=["65", "1000", "5000"])
    def test_a_deeply_nested_filter_is_refused_and_the_server_stays_healthy(
        self, data: Dataset, levels: int
    ) -> None:
        window = '"timeFilter": {"startTimeUnixMs": 0, "endTimeUnixMs": 1}'
        body = (
            '{"search": "", ' + window + ', "timezoneDifference": 0, "filter": ' + _deep_filter(levels) + "}"
        )
        response = data.tenant.client.post(
            "/v1/session/query", content=body, headers={"content-type": "application/json"}
        )
        assert response.status_code in (400, 422)
        assert response.json()["data"] is None and response.json()["error"]
        assert data.tenant.server.request("GET", "/healthz").status_code == 200

    @pytest.mark.parametrize(
        ("body", "status", "message"),
        [
            pytest.param({"search": "x" * 1_000_000}, 422, "search", id="1MB-search"),
            pytest.param({"limit": -5}, 422, "limit", id="negative-limit"),
            pytest.param({"offset": -1}, 422, "offset", id="negative-offset"),
            pytest.param({"timezoneDifference": "east"}, 422, "timezoneDifference", id="text-timezone"),
            pytest.param(
                {"timeFilter": {"startTimeUnixMs": 5, "endTimeUnixMs": 1}}, 400, "timeFilter", id="window"
            ),
            pytest.param(
                {"timeFilter": {"startTimeUnixMs": 1e300, "endTimeUnixMs": 1}},
                422,
                "startTimeUnixMs",
                id="huge-time",
            ),
            pytest.param(
                {"filter": req("latency", "gt", "slow")}, 400, "expected a number", id="text-for-number"
            ),
            pytest.param(
                {"filter": req("latency", "gt", [1])}, 400, "expected a number", id="list-for-number"
            ),
            pytest.param(
                {"filter": {R: {"model": {"equals": {"$ne": 1}}}}}, 400, "expected a string", id="object"
            ),
        ],
    )
    def test_bad_query_bodies_get_a_clear_4xx(
        self, data: Dataset, body: dict[str, Any], status: int, message: str
    ) -> None:
        response = data.tenant.client.post("/v1/session/query", json=query_body(**body))
        assert response.status_code == status
        assert message in response.json()["error"]

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            pytest.param({"filter": "all", "sort": {"colour": "asc"}}, "colour", id="unknown-sort"),
            pytest.param({"filter": "all", "sort": {"cost": "up"}}, "sort", id="bad-direction"),
            pytest.param(
                {"filter": "all", "sort": {"cost": "asc", "latency": "asc"}}, "exactly one key", id="two"
            ),
            pytest.param({"filter": "all", "limit": "ten"}, "limit", id="limit"),
            pytest.param({"filter": "all", "sort": {"random": False}}, "random", id="random-false"),
            pytest.param(
                {"filter": "all", "sort": {"properties": {"a": "asc", "b": "asc"}}},
                "one key",
                id="two-properties",
            ),
            pytest.param({}, "filter", id="no-filter"),
        ],
    )
    def test_bad_request_queries_get_a_clear_4xx(
        self, data: Dataset, body: dict[str, Any], message: str
    ) -> None:
        for path in ("/v1/request/query", "/v1/request/count/query"):
            response = data.tenant.client.post(path, json=body)
            assert response.status_code in (400, 422), path
            assert message in response.json()["error"]
