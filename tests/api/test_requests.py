"""GET /v1/request/{id}, PUT /v1/request/{id}/property and POST /v1/request/{id}/feedback."""

from __future__ import annotations

import uuid

import pytest

from support import Cast, everything_of, session_headers


class TestGetRequest:
    def test_it_returns_helicone_field_names(self, cast: Cast) -> None:
        request_id = cast.alice.log(
            headers=session_headers("r-1", "/p") | {"Helicone-User-Id": "u-9"},
            start_ms=1_750_000_000_123,
            latency_ms=250,
        )
        row = cast.alice.client.get(f"/v1/request/{request_id}").json()["data"]
        assert row["request_id"] == request_id
        assert row["request_created_at"] == "2025-06-15T15:06:40.123Z"
        assert row["response_created_at"] == "2025-06-15T15:06:40.373Z"
        assert row["delay_ms"] == 250
        assert row["request_user_id"] == "u-9"
        assert row["response_status"] == 200
        assert row["request_body"]["messages"][0]["content"] == "hello"
        assert row["properties"] == row["request_properties"]
        assert row["scores"] == {}

    @pytest.mark.parametrize(
        ("request_id", "status"),
        [
            pytest.param(str(uuid.uuid4()), 404, id="unknown"),
            pytest.param("not-a-uuid", 400, id="not-a-uuid"),
            pytest.param("..%2F..%2Fetc%2Fpasswd", 404, id="path-traversal"),
        ],
    )
    def test_an_unknown_or_malformed_id_is_refused(self, cast: Cast, request_id: str, status: int) -> None:
        response = cast.alice.client.get(f"/v1/request/{request_id}")
        assert response.status_code == status
        assert response.json()["data"] is None and response.json()["error"]


class TestSetProperty:
    def test_it_adds_and_overwrites_under_the_key_ingestion_would_store(self, cast: Cast) -> None:
        request_id = cast.alice.log()
        for value in ("first", "second"):
            response = cast.alice.client.put(
                f"/v1/request/{request_id}/property", json={"key": "Reviewed-By", "value": value}
            )
            assert response.status_code == 201
            assert response.json() == {"data": None, "error": None}
        properties = cast.alice.client.get(f"/v1/request/{request_id}").json()["data"]["properties"]
        assert properties["reviewed-by"] == "second"  # as Helicone-Property-Reviewed-By is stored

    def test_session_queries_find_the_session_by_the_property_set_last(self, cast: Cast) -> None:
        session = f"set-later-{uuid.uuid4()}"
        cast.alice.log(headers=session_headers(session, "/a"))
        second = cast.alice.log(headers=session_headers(session, "/b"))

        def sessions_with(value: str) -> list[str]:
            leaf = {"request_response_rmt": {"properties": {"reviewed-by": {"equals": value}}}}
            window = {"startTimeUnixMs": 0, "endTimeUnixMs": 4_102_444_800_000}
            body = {"search": "", "timeFilter": window, "timezoneDifference": 0, "filter": leaf, "limit": 10}
            response = cast.alice.client.post("/v1/session/query", json=body)
            assert response.status_code == 200, response.text
            rows = response.json()["data"]
            return [row["session_id"] for row in rows]

        assert sessions_with("ann") == []
        for value in ("ann", "bo"):
            body = {"key": "reviewed-by", "value": value}
            assert cast.alice.client.put(f"/v1/request/{second}/property", json=body).status_code == 201
        assert (sessions_with("ann"), sessions_with("bo")) == ([], [session])

    def test_another_organization_cannot_set_it(self, cast: Cast) -> None:
        request_id = cast.alice.log()
        before = everything_of(cast.alice)
        response = cast.bob.client.put(f"/v1/request/{request_id}/property", json={"key": "k", "value": "v"})
        assert response.status_code == 404
        assert everything_of(cast.alice) == before

    @pytest.mark.parametrize(
        ("body", "status"),
        [
            pytest.param({"key": "", "value": "v"}, 422, id="empty-key"),
            pytest.param({"key": "k" * 257, "value": "v"}, 422, id="long-key"),
            pytest.param({"key": "k", "value": "v" * 4097}, 422, id="long-value"),
            pytest.param({"key": "k"}, 422, id="no-value"),
            pytest.param({"key": "k", "value": "v", "extra": 1}, 422, id="unknown-field"),
        ],
    )
    def test_bad_bodies_change_nothing(self, cast: Cast, body: dict[str, object], status: int) -> None:
        request_id = cast.alice.log()
        before = everything_of(cast.alice)
        assert cast.alice.client.put(f"/v1/request/{request_id}/property", json=body).status_code == status
        assert everything_of(cast.alice) == before


class TestRequestFeedback:
    def test_it_sets_the_feedback_score_and_the_last_call_wins(self, cast: Cast) -> None:
        request_id = cast.alice.log()
        for rating, score in ((True, 1), (False, 0)):
            response = cast.alice.client.post(f"/v1/request/{request_id}/feedback", json={"rating": rating})
            assert response.status_code == 201
            row = cast.alice.client.get(f"/v1/request/{request_id}").json()["data"]
            assert row["scores"] == {"helicone-score-feedback": score}

    def test_another_organization_gets_404(self, cast: Cast) -> None:
        request_id = cast.alice.log()
        response = cast.bob.client.post(f"/v1/request/{request_id}/feedback", json={"rating": True})
        assert response.status_code == 404
        assert cast.alice.client.get(f"/v1/request/{request_id}").json()["data"]["scores"] == {}
