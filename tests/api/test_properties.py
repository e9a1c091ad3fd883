"""`/v1/property/*`: property keys, value search, top values by cost and requests, values over time."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from support import Server, Tenant, new_tenant

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z, a Thursday
HOUR, DAY = 3_600_000, 86_400_000
WINDOW = {"start": "2025-12-01T00:00:00Z", "end": "2026-02-01T00:00:00Z"}


@pytest.fixture(scope="module")
def tenant(server: Server) -> Iterator[Tenant]:
    """Five calls: plan=pro at T0 (cost from 10/5 tokens) twice, plan=free once, team=red, none."""
    tenant = new_tenant(server, f"props-{uuid.uuid4().hex[:8]}")
    for start, meta, tokens in (
        (T0, {"Helicone-Property-Plan": "pro"}, 1000),
        (T0 + HOUR, {"Helicone-Property-Plan": "pro"}, 1000),
        (T0 + 2 * DAY, {"Helicone-Property-Plan": "free"}, 10),
        (T0 + 40 * DAY, {"Helicone-Property-Team": "red"}, 10),
        (T0, {}, 10),
    ):
        tenant.log(headers=meta, start_ms=start, prompt_tokens=tokens, completion_tokens=tokens)
    yield tenant
    tenant.client.close()


def _post(tenant: Tenant, path: str, body: Any) -> Any:
    response = tenant.client.post(path, json=body)
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_the_keys_are_every_property_the_requests_carry(tenant: Tenant) -> None:
    keys = [row["property"].lower() for row in _post(tenant, "/v1/property/query", {})]
    assert keys == ["plan", "team"]


def test_a_hidden_key_leaves_the_list_until_it_is_restored(server: Server) -> None:
    tenant = new_tenant(server, f"props-hide-{uuid.uuid4().hex[:8]}")
    try:
        tenant.log(headers={"Helicone-Property-Plan": "pro", "Helicone-Property-Team": "red"})
        assert _post(tenant, "/v1/property/hide", {"key": "team"}) == {"ok": True}
        assert _post(tenant, "/v1/property/hide", {"key": "team"}) == {"ok": True}  # twice is once
        assert [r["property"] for r in _post(tenant, "/v1/property/query", {})] == ["plan"]
        assert _post(tenant, "/v1/property/hidden/query", None) == [{"property": "team"}]
        assert _post(tenant, "/v1/property/team/search", {"searchTerm": ""}) == ["red"]  # values stay
        assert _post(tenant, "/v1/property/restore", {"key": "team"}) == {"ok": True}
        assert [r["property"] for r in _post(tenant, "/v1/property/query", {})] == ["plan", "team"]
        assert _post(tenant, "/v1/property/hidden/query", None) == []
        bad = tenant.client.post("/v1/property/hide", json={"key": ""})
        assert bad.status_code == 422 and "key" in bad.json()["error"]
        assert _post(tenant, "/v1/property/hidden/query", None) == []
    finally:
        tenant.client.close()


def test_search_finds_values_containing_the_term_in_any_case(tenant: Tenant) -> None:
    assert _post(tenant, "/v1/property/plan/search", {"searchTerm": "PR"}) == ["pro"]
    assert _post(tenant, "/v1/property/plan/search", {"searchTerm": ""}) == ["pro", "free"]


def test_top_costs_and_top_requests_rank_the_values_in_the_window(tenant: Tenant) -> None:
    costs = _post(tenant, "/v1/property/plan/top-costs/query", {"timeFilter": WINDOW})
    assert [row["value"] for row in costs] == ["pro", "free"]
    assert costs[0]["cost"] > costs[1]["cost"] > 0
    counts = _post(tenant, "/v1/property/plan/top-requests/query", {"timeFilter": WINDOW})
    assert counts == [{"value": "pro", "count": 2}, {"value": "free", "count": 1}]
    narrow = {"start": "2026-01-02T00:00:00Z", "end": "2026-01-31T00:00:00Z"}
    assert _post(tenant, "/v1/property/plan/top-requests/query", {"timeFilter": narrow}) == [
        {"value": "free", "count": 1}
    ]


@pytest.mark.parametrize(
    ("increment", "timezone", "expected"),
    [
        pytest.param(
            "hour",
            0,
            [
                ("pro", 1, "2026-01-01T00:00:00.000Z"),
                ("pro", 1, "2026-01-01T01:00:00.000Z"),
                ("free", 1, "2026-01-03T00:00:00.000Z"),
            ],
            id="hour",
        ),
        pytest.param(
            "day",
            60,  # an hour west of UTC: local days start at 01:00 UTC, so T0 is still 31 December
            [
                ("pro", 1, "2025-12-31T01:00:00.000Z"),
                ("pro", 1, "2026-01-01T01:00:00.000Z"),
                ("free", 1, "2026-01-02T01:00:00.000Z"),
            ],
            id="day-west",
        ),
        pytest.param(
            "week",
            0,
            [("free", 1, "2025-12-29T00:00:00.000Z"), ("pro", 2, "2025-12-29T00:00:00.000Z")],
            id="week-from-monday",
        ),
        pytest.param(
            "month",
            0,
            [("free", 1, "2026-01-01T00:00:00.000Z"), ("pro", 2, "2026-01-01T00:00:00.000Z")],
            id="month",
        ),
    ],
)
def test_values_over_time_group_by_the_callers_calendar(
    tenant: Tenant, increment: str, timezone: int, expected: list[tuple[str, int, str]]
) -> None:
    body = {
        "propertyKey": "plan",
        "timeFilter": WINDOW,
        "userFilter": "all",
        "dbIncrement": increment,
        "timeZoneDifference": timezone,
    }
    rows = _post(tenant, "/v1/property/properties/over-time", body)
    assert [(r["property"], r["request_count"], r["created_at_trunc"]) for r in rows] == expected


@pytest.mark.parametrize(
    ("path", "body", "status", "message"),
    [
        pytest.param("/v1/property/query", {"all": True}, 422, "all", id="unknown-key"),
        pytest.param("/v1/property/plan/search", {}, 422, "searchTerm", id="no-term"),
        pytest.param(
            "/v1/property/plan/top-costs/query",
            {"timeFilter": {"start": "yesterday", "end": "today"}},
            400,
            "ISO 8601",
            id="bad-time",
        ),
        pytest.param(
            "/v1/property/properties/over-time",
            {
                "propertyKey": "plan",
                "timeFilter": WINDOW,
                "userFilter": "all",
                "dbIncrement": "decade",
                "timeZoneDifference": 0,
            },
            422,
            "dbIncrement",
            id="bad-increment",
        ),
    ],
)
def test_bad_bodies_get_a_clear_4xx(tenant: Tenant, path: str, body: Any, status: int, message: str) -> None:
    response = tenant.client.post(path, json=body)
    assert response.status_code == status
    assert message in response.json()["error"]


def test_another_organization_sees_none_of_these_properties(server: Server, tenant: Tenant) -> None:
    other = new_tenant(server, f"props-other-{uuid.uuid4().hex[:8]}")
    try:
        assert _post(other, "/v1/property/query", {}) == []
        assert _post(other, "/v1/property/plan/search", {"searchTerm": ""}) == []
    finally:
        other.client.close()
