"""Filter size limits on every filtered endpoint and both databases: a filter at the limit answers,
one beyond it gets 400 naming the limit (never a 503 "retry shortly"), and nothing stored changes."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from heliograph.domain.filters import MAX_FILTER_LEAVES
from ingest_support import snapshot
from support import FAR_FUTURE_MS, FAR_PAST_MS, Cast, Tenant, balanced_or, query_body, session_headers

WINDOW = {"startTimeUnixMs": FAR_PAST_MS, "endTimeUnixMs": FAR_FUTURE_MS}
ENDPOINTS = [
    pytest.param("/v1/session/query", lambda f: query_body(filter=f), id="session-query"),
    pytest.param("/v1/session/count", lambda f: query_body(filter=f), id="session-count"),
    pytest.param(
        "/v1/session/name/query",
        lambda f: {"nameContains": "", "timezoneDifference": 0, "filter": f},
        id="session-names",
    ),
    pytest.param(
        "/v1/session/metrics/query",
        lambda f: {"nameContains": "", "timezoneDifference": 0, "timeFilter": WINDOW, "filter": f},
        id="session-metrics",
    ),
    pytest.param(
        "/v1/session/feedback/breakdown", lambda f: {"property": "model", "filter": f}, id="breakdown"
    ),
    pytest.param("/v1/request/query", lambda f: {"filter": f}, id="request-query"),
    pytest.param("/v1/request/count/query", lambda f: {"filter": f}, id="request-count"),
]


@pytest.fixture
def alice(cast: Cast) -> Tenant:
    """Alice with a session whose request carries the property k0 = v0 (the first leaf of each tree)."""
    cast.alice.log(headers=session_headers("limits", "/", "Limits", **{"Helicone-Property-k0": "v0"}))
    return cast.alice


@pytest.mark.parametrize(("path", "body"), ENDPOINTS)
def test_a_filter_at_the_leaf_limit_answers_and_one_leaf_more_gets_400_naming_it(
    alice: Tenant, path: str, body: Any
) -> None:
    at_limit = alice.client.post(path, json=body(balanced_or(MAX_FILTER_LEAVES)))
    assert at_limit.status_code in (200, 201), at_limit.text
    before = snapshot(alice)
    over = alice.client.post(path, json=body(balanced_or(MAX_FILTER_LEAVES + 1)))
    assert over.status_code == 400, over.text
    assert over.json() == {
        "data": None,
        "error": f"Filter is too large: at most {MAX_FILTER_LEAVES} conditions",
    }
    assert snapshot(alice) == before


def test_the_filter_at_the_limit_finds_what_it_matches(alice: Tenant) -> None:
    response = alice.client.post("/v1/session/query", json=query_body(filter=balanced_or(MAX_FILTER_LEAVES)))
    assert [row["session_id"] for row in response.json()["data"]] == ["limits"]
    count = alice.client.post("/v1/request/count/query", json={"filter": balanced_or(MAX_FILTER_LEAVES)})
    assert count.json()["data"] == 1


@pytest.mark.parametrize(
    "leaves", [pytest.param(998, id="998-beyond-sqlite-depth"), pytest.param(32_766, id="32766")]
)
def test_the_attack_runs_filters_get_400_never_503(alice: Tenant, leaves: int) -> None:
    before = snapshot(alice)
    response = alice.client.post("/v1/session/query", json=query_body(filter=balanced_or(leaves)))
    assert response.status_code == 400, response.text
    assert "at most" in response.json()["error"]
    assert snapshot(alice) == before
    assert httpx.get(f"{alice.server.base_url}/healthz", timeout=10).status_code == 200
