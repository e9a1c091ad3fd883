"""GET /v1/session/{id} and POST /v1/session/query: sessions as rollups over all their requests."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from support import Cast, Tenant, query_body, session_headers

BASE_MS = 1_750_000_000_000  # 2025-06-15 15:06:40 UTC


def _ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [row["session_id"] for row in response.json()["data"]]


def _seed(tenant: Tenant, tag: str) -> dict[str, str]:
    """Three sessions at known times: old (2 requests), middle (1), new (3, renamed mid-way)."""
    old, middle, new = (f"{tag}-{name}" for name in ("old", "middle", "new"))
    tenant.log(headers=session_headers(old, "/", "Old name", **{"Helicone-User-Id": "u1"}), start_ms=BASE_MS)
    tenant.log(
        headers=session_headers(old, "/x", **{"Helicone-User-Id": "u2"}),
        start_ms=BASE_MS + 60_000,
        latency_ms=300,
    )
    tenant.log(headers=session_headers(middle, "/", "Middle 100%_done"), start_ms=BASE_MS + 3_600_000)
    for offset, name in ((7_200_000, "First name"), (7_300_000, None), (7_400_000, "Final name")):
        tenant.log(headers=session_headers(new, "/", name), start_ms=BASE_MS + offset, prompt_tokens=1000)
    return {"old": old, "middle": middle, "new": new}


class TestGetSession:
    def test_it_returns_aggregates_requests_in_order_and_the_path_tree(self, cast: Cast) -> None:
        session_id = f"tree-{uuid.uuid4()}"
        paths = ["/plan", "/plan/search", "/plan/search/flights", "/plan/search", "/answer", "no-slash"]
        ids = [
            cast.alice.log(headers=session_headers(session_id, path, "Tree"), start_ms=BASE_MS + i * 1000)
            for i, path in enumerate(paths)
        ]
        response = cast.alice.client.get(f"/v1/session/{session_id}")
        assert response.status_code == 200
        data = response.json()["data"]
        assert [r["request_id"] for r in data["requests"]] == ids
        assert data["session"]["total_requests"] == 6
        assert data["session"]["created_at"] == "2025-06-15 15:06:40.000"
        assert data["session"]["latest_request_created_at"] == "2025-06-15 15:06:45.000"

        def shape(node: dict[str, Any]) -> Any:
            return (node["path"], len(node["request_ids"]), [shape(child) for child in node["children"]])

        assert shape(data["tree"]) == (
            "/",
            0,
            [
                ("/plan", 1, [("/plan/search", 2, [("/plan/search/flights", 1, [])])]),
                ("/answer", 1, []),
                ("/no-slash", 1, []),
            ],
        )

    def test_an_unknown_session_is_404(self, cast: Cast) -> None:
        response = cast.alice.client.get("/v1/session/nothing-here")
        assert response.status_code == 404
        assert response.json() == {"data": None, "error": "Session not found"}


class TestQuerySessions:
    def test_rows_are_newest_first_with_whole_session_aggregates(self, cast: Cast) -> None:
        seeded = _seed(cast.alice, f"q-{uuid.uuid4().hex[:6]}")
        response = cast.alice.client.post("/v1/session/query", json=query_body())
        assert _ids(response) == [seeded["new"], seeded["middle"], seeded["old"]]
        new, _, old = response.json()["data"]
        assert new["session_name"] == "Final name"  # the most recent non-empty name wins
        assert new["total_requests"] == 3 and new["prompt_tokens"] == 3000 and new["total_tokens"] == 3015
        assert new["total_cost"] == pytest.approx((3000 * 150 + 15 * 600) / 1e9)
        assert old["avg_latency"] == 200.0  # (100 + 300) / 2
        assert old["user_ids"] == ["u1", "u2"]
        assert old["created_at"] == "2025-06-15 15:06:40.000"
        assert old["latest_request_created_at"] == "2025-06-15 15:07:40.000"
        assert isinstance(old["total_requests"], int)  # Helicone leaks this count as a string

    def test_search_matches_id_or_name_case_insensitively_and_literally(self, cast: Cast) -> None:
        seeded = _seed(cast.alice, f"s-{uuid.uuid4().hex[:6]}")

        def search(text: str) -> list[str]:
            return _ids(cast.alice.client.post("/v1/session/query", json=query_body(search=text)))

        assert search("MIDDLE 100%") == [seeded["middle"]]
        assert search("100%_") == [seeded["middle"]]
        assert search("0%d") == []  # % and _ are literal, not wildcards
        assert search(seeded["old"].upper()) == [seeded["old"]]
        assert search("final NAME") == [seeded["new"]]

    def test_name_equals_selects_by_the_current_name(self, cast: Cast) -> None:
        seeded = _seed(cast.alice, f"n-{uuid.uuid4().hex[:6]}")

        def query(name: str) -> list[str]:
            return _ids(cast.alice.client.post("/v1/session/query", json=query_body(nameEquals=name)))

        assert query("Final name") == [seeded["new"]]
        assert query("First name") == []

    def test_time_filter_selects_sessions_with_a_request_inside_the_window(self, cast: Cast) -> None:
        seeded = _seed(cast.alice, f"t-{uuid.uuid4().hex[:6]}")

        def window(start: int, end: int) -> list[str]:
            body = query_body(timeFilter={"startTimeUnixMs": BASE_MS + start, "endTimeUnixMs": BASE_MS + end})
            return _ids(cast.alice.client.post("/v1/session/query", json=body))

        assert window(0, 1) == [seeded["old"]]  # the start is inclusive
        assert window(1, 60_000) == []  # between old's two requests; the end is exclusive
        assert window(60_000, 3_600_001) == [seeded["middle"], seeded["old"]]
        assert window(7_250_000, 7_350_000) == [seeded["new"]]  # only new's middle request is inside

    def test_pages_do_not_overlap_or_leave_gaps(self, cast: Cast) -> None:
        ids = [f"page-{i:02d}-{uuid.uuid4().hex[:4]}" for i in range(7)]
        for i, session_id in enumerate(ids):
            cast.alice.log(headers=session_headers(session_id), start_ms=BASE_MS + i)
        pages = [
            _ids(cast.alice.client.post("/v1/session/query", json=query_body(limit=3, offset=offset)))
            for offset in (0, 3, 6, 9)
        ]
        assert pages == [ids[6:3:-1], ids[3:0:-1], ids[0:1], []]

    def test_timezone_difference_shifts_the_returned_times(self, cast: Cast) -> None:
        session_id = f"tz-{uuid.uuid4()}"
        cast.alice.log(headers=session_headers(session_id), start_ms=BASE_MS)
        body = query_body(search=session_id, timezoneDifference=-90)
        (row,) = cast.alice.client.post("/v1/session/query", json=body).json()["data"]
        assert row["created_at"] == "2025-06-15 13:36:40.000"

    def test_a_property_filter_selects_sessions_that_contain_a_matching_request(self, cast: Cast) -> None:
        tag = uuid.uuid4().hex[:6]
        for name, version in (("a", "A"), ("b", "B")):
            cast.alice.log(headers=session_headers(f"{tag}-{name}"))
            cast.alice.log(
                headers=session_headers(f"{tag}-{name}", **{"Helicone-Property-Prompt-Version": version})
            )
        body = query_body(
            filter={"request_response_rmt": {"properties": {"prompt-version": {"equals": "B"}}}}
        )
        response = cast.alice.client.post("/v1/session/query", json=body)
        assert _ids(response) == [f"{tag}-b"]
        assert response.json()["data"][0]["total_requests"] == 2

    @pytest.mark.parametrize(
        ("overrides", "status", "message"),
        [
            pytest.param({"timezoneDifference": 1441}, 400, "Invalid timezone difference", id="timezone"),
            pytest.param({"limit": -5}, 422, "limit", id="negative-limit"),
            pytest.param({"limit": 1001}, 422, "limit", id="limit-over-1000"),
            pytest.param({"search": "x" * 1001}, 422, "search", id="search-too-long"),
            pytest.param(
                {"timeFilter": {"startTimeUnixMs": 10, "endTimeUnixMs": 5}},
                400,
                "Invalid timeFilter",
                id="start-after-end",
            ),
            pytest.param({"filter": {"nope": {}}}, 400, "Unknown filter table 'nope'", id="unknown-table"),
            pytest.param({"unexpected": 1}, 422, "unexpected", id="unknown-key"),
        ],
    )
    def test_bad_queries_get_a_clear_4xx(
        self, cast: Cast, overrides: dict[str, Any], status: int, message: str
    ) -> None:
        response = cast.alice.client.post("/v1/session/query", json=query_body(**overrides))
        assert response.status_code == status
        assert response.json()["data"] is None
        assert message in response.json()["error"]
