"""Every endpoint Heliograph shares with Helicone answers as Helicone's own OpenAPI document says.

Data is logged by the real `helicone-helpers` logger; each request body is the document's example or
is built from its request schemas (every sort key, every filter field and operator, the legacy
tables), and each answer is validated with `jsonschema` against Helicone's response schema.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from helicone_helpers import HeliconeManualLogger

from helicone_contract import DOCUMENT, filter_leaves, operation, sort_bodies, validate_answer, validate_body
from support import Server, Tenant, new_tenant, query_body, session_headers

REQUEST_LEAVES = filter_leaves(
    "FilterLeafSubset_feedback-or-request-or-response-or-properties-or-values-or-request_response_rmt"
    "-or-sessions_request_response_rmt_"
)
CLICKHOUSE_LEAVES = filter_leaves("FilterLeafSubset_request_response_rmt_")
SHARED_PATHS = [
    ("/v1/request/query", "post"),
    ("/v1/request/query-clickhouse", "post"),
]


def _completion(text: str, *, reasoning: int) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:8]}",
        "object": "chat.completion",
        "model": "o4-mini-2025-04-16",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": 30,
            "completion_tokens": 20,
            "total_tokens": 50,
            "completion_tokens_details": {"reasoning_tokens": reasoning},
        },
    }


class Logged:
    """A tenant with two calls logged by HeliconeManualLogger, and what the test knows of them."""

    def __init__(self, tenant: Tenant, completions: list[dict[str, Any]], session_id: str) -> None:
        self.tenant = tenant
        self.completions = completions
        self.session_id = session_id

    def post(self, path: str, body: Any, *, documented: str | None = None) -> Any:
        """POST a body Helicone's document allows; the answer must be a success it documents.
        `documented` is the path as the document spells it, when `path` fills in a parameter."""
        documented = documented or path.replace(self.session_id, "{sessionId}")
        validate_body(documented, "post", body)
        response = self.tenant.client.post(path, json=body)
        assert response.status_code in (200, 201), (path, body, response.text)
        answer = response.json()
        validate_answer(documented, "post", answer)
        return answer

    def get(self, path: str, documented: str) -> Any:
        response = self.tenant.client.get(path)
        assert response.status_code == 200, (path, response.text)
        validate_answer(documented, "get", response.json())
        return response.json()


@pytest.fixture(scope="module")
def logged(server: Server) -> Iterator[Logged]:
    tenant = new_tenant(server, f"contract-{uuid.uuid4().hex[:8]}")
    logger = HeliconeManualLogger(api_key=tenant.key, logging_endpoint=server.base_url)
    session_id = f"contract-{uuid.uuid4()}"
    completions = [_completion("one", reasoning=8), _completion("two", reasoning=12)]
    for index, completion in enumerate(completions):

        def operation_(recorder: Any, completion: dict[str, Any] = completion) -> str:
            recorder.append_results(completion)
            return "done"

        logger.log_request(
            provider="openai",
            request={"model": "o4-mini", "messages": [{"role": "user", "content": f"q{index}"}]},
            operation=operation_,
            additional_headers={
                **session_headers(session_id, f"/step{index}", "Contract"),
                "Helicone-Property-App": f"app-{index}",
                "Helicone-User-Id": "user-1",
            },
        )
    rows = tenant.client.post("/v1/request/query", json={"filter": "all", "limit": 10}).json()["data"]
    assert len(rows) == 2
    first = min(rows, key=lambda row: row["request_created_at"])["request_id"]
    assert (
        tenant.client.post(f"/v1/request/{first}/score", json={"scores": {"quality": 4}}).status_code == 201
    )
    yield Logged(tenant, completions, session_id)
    tenant.client.close()


@pytest.mark.parametrize(("path", "method"), SHARED_PATHS, ids=[p for p, _ in SHARED_PATHS])
def test_the_documents_examples_are_answered_as_documented(logged: Logged, path: str, method: str) -> None:
    examples = operation(path, method)["responses"]["200"]["content"]["application/json"]["examples"]
    for example in examples.values():
        answer = logged.post(path, example["value"])
        assert isinstance(answer["data"], list)


class TestRequestRows:
    def test_rows_carry_what_the_response_says(self, logged: Logged) -> None:
        rows = logged.post("/v1/request/query", {"filter": "all", "sort": {"created_at": "asc"}})["data"]
        assert [row["response_id"] for row in rows] == [c["id"] for c in logged.completions]
        assert [row["reasoning_tokens"] for row in rows] == [8, 12]
        assert {row["response_model"] for row in rows} == {"o4-mini-2025-04-16"}
        assert {row["request_model"] for row in rows} == {"o4-mini"}
        assert {row["request_path"] for row in rows} == {row["target_url"] for row in rows}
        apps = [{k.lower(): v for k, v in row["properties"].items()}["app"] for row in rows]
        assert apps == ["app-0", "app-1"]
        assert rows[0]["cache_enabled"] is False and rows[0]["assets"] == []

    def test_one_request_by_id_is_a_whole_helicone_request(self, logged: Logged) -> None:
        rows = logged.post("/v1/request/query", {"filter": "all"})["data"]
        for row in rows:
            response = logged.tenant.client.get(
                f"/v1/request/{row['request_id']}", params={"includeBody": "true"}
            )
            assert response.status_code == 200
            validate_answer("/v1/request/{requestId}", "get", response.json())
            assert response.json()["data"] == row


def test_limit_zero_gives_an_empty_page(logged: Logged) -> None:
    assert logged.post("/v1/request/query", {"filter": "all", "limit": 0})["data"] == []


@pytest.mark.parametrize("leaf", [leaf for _, leaf in REQUEST_LEAVES], ids=[i for i, _ in REQUEST_LEAVES])
def test_every_filter_field_and_operator_of_helicones_schema_is_answered(logged: Logged, leaf: Any) -> None:
    rows = logged.post("/v1/request/query", {"filter": leaf, "limit": 10})["data"]
    count = logged.post("/v1/request/count/query", {"filter": leaf})["data"]
    assert count == len(rows) <= 2


@pytest.mark.parametrize(
    "leaf", [leaf for _, leaf in CLICKHOUSE_LEAVES], ids=[i for i, _ in CLICKHOUSE_LEAVES]
)
def test_every_clickhouse_filter_leaf_is_answered(logged: Logged, leaf: Any) -> None:
    logged.post("/v1/request/query-clickhouse", {"filter": {"left": leaf, "operator": "or", "right": "all"}})


def test_several_tables_in_one_leaf_must_all_hold(logged: Logged) -> None:
    leaf = {
        "request_response_rmt": {
            "properties": {"app": {"equals": "app-1"}},
            "cache_enabled": {"equals": False},
        },
        "request": {"user_id": {"equals": "user-1"}},
        "response": {"body_tokens": {"equals": 20}},
    }
    (row,) = logged.post("/v1/request/query", {"filter": leaf})["data"]
    assert row["response_id"] == logged.completions[1]["id"]


@pytest.mark.parametrize("sort", [sort for _, sort in sort_bodies()], ids=[i for i, _ in sort_bodies()])
def test_every_sort_of_helicones_schema_is_answered(logged: Logged, sort: dict[str, Any]) -> None:
    rows = logged.post("/v1/request/query", {"filter": "all", "sort": sort})["data"]
    assert len(rows) == 2


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param({"filter": {"request_response_rmt": {"colour": {"equals": "x"}}}}, "colour", id="field"),
        pytest.param({"filter": {"responses": {"status": {"equals": 1}}}}, "responses", id="table"),
        pytest.param(
            {"filter": {"request": {"id": {"gt": "x"}}}}, "'gt' does not apply to id", id="operator"
        ),
    ],
)
def test_a_filter_helicones_document_does_not_allow_gets_400_naming_it(
    logged: Logged, body: dict[str, Any], message: str
) -> None:
    response = logged.tenant.client.post("/v1/request/query", json=body)
    assert response.status_code == 400
    assert message in response.json()["error"]


def test_the_session_endpoints_answer_as_documented(logged: Logged) -> None:
    sessions = logged.post("/v1/session/query", query_body(filter="all"))["data"]
    assert [s["session_id"] for s in sessions] == [logged.session_id]
    logged.post("/v1/session/count", query_body(filter="all"))
    logged.post("/v1/session/name/query", {"nameContains": "", "timezoneDifference": 0})
    logged.post("/v1/session/metrics/query", {"nameContains": "", "timezoneDifference": 0})
    logged.post(f"/v1/session/{logged.session_id}/feedback", {"rating": True})


WINDOW = {"start": "2000-01-01T00:00:00.000Z", "end": "2100-01-01T00:00:00.000Z"}


def test_query_ids_and_inputs_answer_as_documented(logged: Logged) -> None:
    rows = logged.post("/v1/request/query", {"filter": "all"})["data"]
    ids = [row["request_id"] for row in rows]
    assert [r["request_id"] for r in logged.post("/v1/request/query-ids", {"requestIds": ids})["data"]] == ids
    assert logged.get(f"/v1/request/{ids[0]}/inputs", "/v1/request/{requestId}/inputs")["data"] is None


def test_the_property_endpoints_answer_as_documented(logged: Logged) -> None:
    keys = [row["property"] for row in logged.post("/v1/property/query", {})["data"]]
    (app,) = [key for key in keys if key.lower() == "app"]
    values = logged.post(
        f"/v1/property/{app}/search", {"searchTerm": "app"}, documented="/v1/property/{propertyKey}/search"
    )["data"]
    assert sorted(values) == ["app-0", "app-1"]
    for kind in ("top-costs", "top-requests"):
        top = logged.post(
            f"/v1/property/{app}/{kind}/query",
            {"timeFilter": WINDOW},
            documented=f"/v1/property/{{propertyKey}}/{kind}/query",
        )["data"]
        assert sorted(row["value"] for row in top) == ["app-0", "app-1"]
    assert logged.post("/v1/property/hide", {"key": app})["data"] == {"ok": True}
    assert logged.post("/v1/property/hidden/query", {})["data"] == [{"property": app}]
    assert logged.post("/v1/property/restore", {"key": app})["data"] == {"ok": True}
    assert logged.post("/v1/property/hidden/query", {})["data"] == []
    for increment in ("min", "hour", "day", "week", "month", "year"):
        body = {
            "propertyKey": app,
            "timeFilter": WINDOW,
            "userFilter": "all",
            "dbIncrement": increment,
            "timeZoneDifference": -120,
        }
        rows = logged.post("/v1/property/properties/over-time", body)["data"]
        assert sum(row["request_count"] for row in rows) == 2


def test_the_evals_endpoints_answer_as_documented(logged: Logged) -> None:
    body = {"filter": "all", "timeFilter": WINDOW, "limit": 10, "offset": 0, "timeZoneDifference": 0}
    (quality,) = logged.post("/v1/evals/query", body)["data"]
    assert (quality["name"], quality["averageScore"], quality["count"]) == ("quality", 4, 1)
    (distribution,) = logged.post("/v1/evals/score-distributions/query", body)["data"]
    assert distribution["name"] == "quality"
    assert logged.get("/v1/evals/scores", "/v1/evals/scores")["data"] == ["quality"]


def test_shared_operations_carry_helicones_operation_ids_and_parameter_names(server: Server) -> None:
    served = httpx.get(f"{server.base_url}/openapi.json").json()["paths"]
    for path, item in DOCUMENT["paths"].items():
        for method, theirs in item.items():
            ours = served.get(path, {}).get(method)
            if ours is None:
                continue  # docs/compatibility.md says why Heliograph lacks it
            assert ours["operationId"] == theirs["operationId"], (path, method)
            names = {p["name"] for p in ours.get("parameters", []) if p["in"] == "path"}
            assert names == {p["name"] for p in theirs.get("parameters", []) if p["in"] == "path"}, path
