"""`/v1/evals/*`: Helicone's evals over request scores: summaries, names, distributions, adding one."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from support import Server, Tenant, new_tenant

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
DAY = 86_400_000
WINDOW = {"start": "2025-12-01T00:00:00Z", "end": "2026-02-01T00:00:00Z"}


@pytest.fixture(scope="module")
def tenant(server: Server) -> Iterator[Tenant]:
    """accuracy 2 and 4 on day 0, accuracy 9 on day 1 (model gpt-4o), helpful 1 on day 0."""
    tenant = new_tenant(server, f"evals-{uuid.uuid4().hex[:8]}")
    for start, model, scores in (
        (T0, "gpt-4o-mini", {"accuracy": 2, "helpful": True}),
        (T0 + 1000, "gpt-4o-mini", {"accuracy": 4}),
        (T0 + DAY, "gpt-4o", {"accuracy": 9}),
    ):
        request_id = tenant.log(start_ms=start, model=model)
        response = tenant.client.post(f"/v1/evals/{request_id}", json={"name": "placeholder", "score": 0})
        assert response.status_code == 201, response.text
        assert (
            tenant.client.post(f"/v1/request/{request_id}/score", json={"scores": scores}).status_code == 201
        )
    tenant.log(start_ms=T0)  # unscored
    yield tenant
    tenant.client.close()


def _query(tenant: Tenant, path: str, **body: Any) -> Any:
    response = tenant.client.post(path, json={"filter": "all", "timeFilter": WINDOW, **body})
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_each_score_is_an_eval_with_its_average_bounds_and_days(tenant: Tenant) -> None:
    evals = {e["name"]: e for e in _query(tenant, "/v1/evals/query")}
    assert set(evals) == {"accuracy", "helpful", "placeholder"}
    accuracy = evals["accuracy"]
    assert (accuracy["averageScore"], accuracy["minScore"], accuracy["maxScore"], accuracy["count"]) == (
        5,
        2,
        9,
        3,
    )
    assert accuracy["overTime"] == [
        {"date": "2026-01-01T00:00:00.000Z", "count": 2},
        {"date": "2026-01-02T00:00:00.000Z", "count": 1},
    ]
    assert [point["value"] for point in accuracy["averageOverTime"]] == [3, 9]


def test_a_filter_and_a_page_narrow_the_evals(tenant: Tenant) -> None:
    only_4o = {"request_response_rmt": {"model": {"equals": "gpt-4o"}}}
    evals = _query(tenant, "/v1/evals/query", filter=only_4o)
    assert [(e["name"], e["count"], e["averageScore"]) for e in evals] == [
        ("accuracy", 1, 9),
        ("placeholder", 1, 0),
    ]
    assert [e["name"] for e in _query(tenant, "/v1/evals/query", limit=1, offset=1)] == ["helpful"]


def test_the_score_names_are_listed(tenant: Tenant) -> None:
    response = tenant.client.get("/v1/evals/scores")
    assert response.json() == {"data": ["accuracy", "helpful", "placeholder"], "error": None}


def test_distributions_bin_each_scores_values(tenant: Tenant) -> None:
    found = {d["name"]: d["distribution"] for d in _query(tenant, "/v1/evals/score-distributions/query")}
    accuracy = found["accuracy"]
    assert len(accuracy) == 10 and accuracy[0]["lower"] == 2 and accuracy[-1]["upper"] == 9
    assert sum(b["value"] for b in accuracy) == 3 and accuracy[0]["value"] == 1 and accuracy[-1]["value"] == 1
    assert found["helpful"] == [{"lower": 1, "upper": 2, "value": 1}]


@pytest.mark.parametrize(
    ("body", "status", "message"),
    [
        pytest.param({"name": "q", "score": 0.5}, 400, "integers", id="fraction"),
        pytest.param({"name": "", "score": 1}, 422, "name", id="empty-name"),
        pytest.param({"score": 1}, 422, "name", id="no-name"),
    ],
)
def test_a_bad_eval_gets_a_clear_4xx_and_changes_nothing(
    tenant: Tenant, body: dict[str, Any], status: int, message: str
) -> None:
    request_id = tenant.logged[-1]
    response = tenant.client.post(f"/v1/evals/{request_id}", json=body)
    assert response.status_code == status
    assert message in response.json()["error"]
    assert tenant.client.get(f"/v1/request/{request_id}").json()["data"]["scores"] == {}


def test_an_eval_on_another_organizations_request_is_not_found(server: Server, tenant: Tenant) -> None:
    other = new_tenant(server, f"evals-other-{uuid.uuid4().hex[:8]}")
    try:
        request_id = other.log()
        response = tenant.client.post(f"/v1/evals/{request_id}", json={"name": "q", "score": 1})
        assert response.status_code == 404
        assert other.client.get(f"/v1/request/{request_id}").json()["data"]["scores"] == {}
    finally:
        other.client.close()
