"""Feedback records (issue 17): many raters per session, configs of their values, the seed's rating among
them, and isolation between organizations, on every backend through a real server."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from support import Cast, Tenant, feedback_filter, query_body, session_headers

FEEDBACK = "Helicone-Session-Feedback"


def _session(tenant: Tenant, requests: int = 2) -> tuple[str, list[str]]:
    session_id = f"fb-{uuid.uuid4()}"
    ids = [
        tenant.log(headers=session_headers(session_id, f"/step{i}"), start_ms=1_700_000_000_000 + i * 1000)
        for i in range(requests)
    ]
    return session_id, ids


def _records(tenant: Tenant, session_id: str) -> list[dict[str, Any]]:
    response = tenant.client.get(f"/v1/session/{session_id}/feedback")
    assert response.status_code == 200, response.text
    records: list[dict[str, Any]] = response.json()["data"]
    return records


def _send(tenant: Tenant, **body: Any) -> Any:
    return tenant.client.post("/v1/feedback", json=body)


def _session_row(tenant: Tenant, session_id: str) -> dict[str, Any]:
    rows = tenant.client.post("/v1/session/query", json=query_body(search=session_id)).json()["data"]
    (row,) = rows
    return dict(row)


class TestRecords:
    def test_two_raters_leave_two_records_and_the_same_rater_twice_leaves_one(self, cast: Cast) -> None:
        alice = cast.alice
        session_id, _ = _session(alice)
        first = _send(alice, session_id=session_id, value=True, rater="ann", source="human", comment="ok")
        assert first.status_code == 201, first.text
        record = first.json()["data"]
        assert record["name"] == "rating" and record["rater"] == "ann" and record["value"] is True
        assert record["request_id"] is None and record["source"] == "human" and record["comment"] == "ok"
        assert _send(alice, session_id=session_id, value=False, rater="bo").status_code == 201
        again = _send(alice, session_id=session_id, value=False, rater="ann", comment="changed my mind")
        assert again.status_code == 201
        assert again.json()["data"]["id"] == record["id"]
        assert again.json()["data"]["created_at"] == record["created_at"]

        stored = {r["rater"]: r for r in _records(alice, session_id)}
        assert set(stored) == {"ann", "bo"}
        assert stored["ann"]["value"] is False and stored["ann"]["comment"] == "changed my mind"
        assert stored["bo"]["source"] == "api" and stored["bo"]["comment"] is None

    def test_a_record_on_one_request_is_apart_from_the_session_s_record(self, cast: Cast) -> None:
        alice = cast.alice
        session_id, ids = _session(alice)
        on_request = _send(
            alice, session_id=session_id, request_id=ids[1], name="helpful", value=4, rater="ann"
        )
        assert on_request.status_code == 201, on_request.text
        assert on_request.json()["data"]["request_id"] == ids[1]
        assert on_request.json()["data"]["value"] == 4
        assert _send(alice, session_id=session_id, name="helpful", value=2, rater="ann").status_code == 201
        values = sorted((r["request_id"] or "", r["value"]) for r in _records(alice, session_id))
        assert values == sorted([(ids[1], 4), ("", 2)])

    def test_the_query_filters_by_name_rater_source_value_and_range(self, cast: Cast) -> None:
        alice = cast.alice
        one, _ = _session(alice)
        two, _ = _session(alice)
        _send(alice, session_id=one, name="accuracy", value=0.9, rater="llm-judge", source="llm")
        _send(alice, session_id=two, name="accuracy", value=0.4, rater="llm-judge", source="llm")
        _send(alice, session_id=two, value=True, rater="u1", source="end_user", comment="nice")

        def query(**body: Any) -> list[tuple[str, Any]]:
            response = alice.client.post("/v1/feedback/query", json=body)
            assert response.status_code == 200, response.text
            return sorted((r["session_id"], r["value"]) for r in response.json()["data"])

        assert query(name="accuracy", min_value=0.5) == [(one, 0.9)]
        assert query(name="accuracy", max_value=0.5) == [(two, 0.4)]
        assert query(source="end_user") == [(two, True)]
        assert query(value=True) == [(two, True)]
        assert query(rater="llm-judge", session_id=two) == [(two, 0.4)]
        assert len(query()) == 3
        assert len(query(limit=2)) == 2
        assert query(timeFilter={"startTimeUnixMs": 0, "endTimeUnixMs": 1}) == []

    def test_deleting_a_record_leaves_the_others(self, cast: Cast) -> None:
        alice = cast.alice
        session_id, _ = _session(alice)
        gone = _send(alice, session_id=session_id, name="helpful", value=1, rater="a").json()["data"]
        _send(alice, session_id=session_id, name="helpful", value=5, rater="b")
        assert alice.client.delete(f"/v1/feedback/{gone['id']}").json() == {"data": None, "error": None}
        assert [r["rater"] for r in _records(alice, session_id)] == ["b"]
        again = alice.client.delete(f"/v1/feedback/{gone['id']}")
        assert again.status_code == 404 and again.json()["error"] == "Feedback not found"

    @pytest.mark.parametrize(
        ("body", "status", "error"),
        [
            pytest.param(
                {"session_id": "nope", "value": True}, 404, "No request found", id="unknown-session"
            ),
            pytest.param(
                {"value": True, "request_id": str(uuid.uuid4())},
                404,
                "No request found",
                id="unknown-request",
            ),
            pytest.param({"value": "great"}, 422, "has no config", id="label-without-config"),
            pytest.param({"value": True, "comment": "x" * 4001}, 422, "comment", id="comment-too-long"),
            pytest.param({"value": True, "source": "robot"}, 422, "source", id="unknown-source"),
            pytest.param({"value": "1", "name": ""}, 422, "name", id="empty-name"),
            pytest.param({"value": None}, 422, "value", id="null-value"),
            pytest.param({"value": True, "extra": 1}, 422, "extra", id="unknown-key"),
        ],
    )
    def test_bad_records_are_refused_and_nothing_is_stored(
        self, cast: Cast, body: dict[str, Any], status: int, error: str
    ) -> None:
        alice = cast.alice
        session_id, _ = _session(alice)
        response = _send(alice, **{"session_id": session_id, **body})
        assert response.status_code == status, response.text
        assert error in response.json()["error"]
        assert _records(alice, session_id) == []
        assert alice.client.post("/v1/feedback/query", json={}).json()["data"] == []


class TestConfigs:
    def test_values_must_fit_their_names_config(self, cast: Cast) -> None:
        alice = cast.alice
        session_id, _ = _session(alice)
        put = alice.client.put("/v1/feedback/config/stars", json={"type": "numeric", "min": 1, "max": 5})
        assert put.status_code == 200, put.text
        alice.client.put("/v1/feedback/config/tone", json={"type": "categorical", "labels": ["calm", "rude"]})
        alice.client.put("/v1/feedback/config/solved", json={"type": "boolean", "description": "Did it?"})
        listed = alice.client.get("/v1/feedback/config").json()["data"]
        assert [(c["name"], c["type"], c["min"], c["max"], c["labels"]) for c in listed] == [
            ("solved", "boolean", None, None, []),
            ("stars", "numeric", 1, 5, []),
            ("tone", "categorical", None, None, ["calm", "rude"]),
        ]
        for name, value in (("stars", 6), ("stars", True), ("tone", "angry"), ("tone", 1), ("solved", 1)):
            refused = _send(alice, session_id=session_id, name=name, value=value)
            assert refused.status_code == 422, (name, value, refused.text)
            assert f"'{name}'" in refused.json()["error"]
        assert _records(alice, session_id) == []
        accepted: list[tuple[str, Any]] = [
            ("stars", 5),
            ("tone", "rude"),
            ("solved", False),
            ("unconfigured", 0.25),
        ]
        for name, good in accepted:
            assert _send(alice, session_id=session_id, name=name, value=good).status_code == 201
        assert sorted((r["name"], r["value"]) for r in _records(alice, session_id)) == [
            ("solved", False),
            ("stars", 5),
            ("tone", "rude"),
            ("unconfigured", 0.25),
        ]

    @pytest.mark.parametrize(
        ("name", "body"),
        [
            pytest.param("rating", {"type": "numeric"}, id="rating-stays-boolean"),
            pytest.param("x", {"type": "numeric", "min": 5, "max": 1}, id="min-above-max"),
            pytest.param("x", {"type": "categorical"}, id="categorical-without-labels"),
            pytest.param("x", {"type": "boolean", "labels": ["a"]}, id="labels-on-boolean"),
            pytest.param("x", {"type": "categorical", "labels": ["a", "a"]}, id="duplicate-labels"),
        ],
    )
    def test_inconsistent_configs_are_refused(self, cast: Cast, name: str, body: dict[str, Any]) -> None:
        response = cast.alice.client.put(f"/v1/feedback/config/{name}", json=body)
        assert response.status_code == 400, response.text
        assert cast.alice.client.get("/v1/feedback/config").json()["data"] == []


class TestTheSeedRatingAmongRecords:
    def test_the_session_shows_the_newest_boolean_rating_of_any_rater(self, cast: Cast) -> None:
        alice = cast.alice
        session_id, ids = _session(alice)
        assert (
            alice.client.post(f"/v1/session/{session_id}/feedback", json={"rating": True}).status_code == 200
        )
        (api,) = _records(alice, session_id)
        assert (api["rater"], api["source"], api["name"], api["value"]) == ("api", "api", "rating", True)

        _send(alice, session_id=session_id, value=False, rater="end-user-9", source="end_user")
        assert _session_row(alice, session_id)["feedback"] is False
        first = alice.client.get(f"/v1/request/{ids[0]}").json()["data"]
        assert first["properties"][FEEDBACK] == "0"
        negative = alice.client.post("/v1/session/query", json=query_body(filter=feedback_filter("0")))
        assert [r["session_id"] for r in negative.json()["data"]] == [session_id]

        # The seed's DELETE removes only the api rater's rating; the end user's stays and shows.
        assert alice.client.delete(f"/v1/session/{session_id}/feedback").status_code == 200
        assert [r["rater"] for r in _records(alice, session_id)] == ["end-user-9"]
        assert _session_row(alice, session_id)["feedback"] is False

        user = next(r for r in _records(alice, session_id))
        alice.client.delete(f"/v1/feedback/{user['id']}")
        assert _session_row(alice, session_id)["feedback"] is None
        first = alice.client.get(f"/v1/request/{ids[0]}").json()["data"]
        assert FEEDBACK not in first["properties"]

    def test_other_names_never_touch_the_session_rating(self, cast: Cast) -> None:
        alice = cast.alice
        session_id, _ = _session(alice)
        _send(alice, session_id=session_id, name="thumbs", value=True)
        _send(alice, session_id=session_id, value=3)  # a numeric rating is a record, not the thumbs
        assert _session_row(alice, session_id)["feedback"] is None

    def test_deleting_the_session_deletes_its_records(self, cast: Cast) -> None:
        alice = cast.alice
        session_id, _ = _session(alice)
        _send(alice, session_id=session_id, name="helpful", value=2)
        assert alice.client.delete(f"/v1/session/{session_id}").status_code == 200
        assert _records(alice, session_id) == []


class TestIsolation:
    def test_no_record_or_config_of_one_organization_reaches_another(self, cast: Cast) -> None:
        alice, bob = cast.alice, cast.bob
        session_id, ids = _session(alice)
        alice.client.put("/v1/feedback/config/stars", json={"type": "numeric", "min": 1, "max": 5})
        record = _send(alice, session_id=session_id, name="stars", value=4).json()["data"]

        assert _send(bob, session_id=session_id, value=True).json()["error"] == "No request found"
        assert _send(bob, session_id=session_id, request_id=ids[0], value=True).status_code == 404
        assert _records(bob, session_id) == []
        assert bob.client.post("/v1/feedback/query", json={}).json()["data"] == []
        assert bob.client.delete(f"/v1/feedback/{record['id']}").status_code == 404
        assert bob.client.get("/v1/feedback/config").json()["data"] == []
        # Bob's config of the same name is his own: Alice's stays as it was.
        bob.client.put("/v1/feedback/config/stars", json={"type": "boolean"})
        assert [c["type"] for c in alice.client.get("/v1/feedback/config").json()["data"]] == ["numeric"]
        assert _records(alice, session_id) == [record]
        # The second key of Alice's organization sees the same records.
        assert _records(cast.alice_second_key, session_id) == [record]

    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("POST", "/v1/feedback"),
            ("POST", "/v1/feedback/query"),
            ("DELETE", "/v1/feedback/x"),
            ("GET", "/v1/feedback/config"),
            ("PUT", "/v1/feedback/config/x"),
            ("GET", "/v1/session/s/feedback"),
            ("POST", "/v1/session/s/feedback-link"),
        ],
    )
    def test_every_endpoint_wants_a_key(self, cast: Cast, method: str, path: str) -> None:
        response = cast.outsider.request(method, path, json={})
        assert response.status_code == 401


# One row per field and operator of the `feedback` filter table: which of four sessions match.
FILTER_CASES = [
    pytest.param({"name": {"equals": "stars"}}, {"s1", "s2"}, id="name-equals"),
    pytest.param({"name": {"not-equals": "stars"}}, {"s3", "s4"}, id="name-not-equals"),
    pytest.param({"rater": {"contains": "AN"}}, {"s1"}, id="rater-contains"),
    pytest.param({"source": {"equals": "llm"}}, {"s3"}, id="source-equals"),
    pytest.param({"value": {"stars": {"gte": 4}}}, {"s1"}, id="value-range"),
    pytest.param({"value.stars": {"lt": 4}}, {"s2"}, id="value-dotted"),
    pytest.param({"value": {"rating": {"equals": 0}}}, {"s2"}, id="boolean-as-0"),
    pytest.param({"label": {"tone": {"equals": "rude"}}}, {"s3"}, id="label-equals"),
    pytest.param({"label": {"tone": {"not-equals": "rude"}}}, {"s1", "s2", "s4"}, id="label-not-equals"),
    pytest.param({"has_comment": {"equals": True}}, {"s1"}, id="has-comment"),
    pytest.param({"has_comment": {"equals": False}}, {"s2", "s3", "s4"}, id="no-comment"),
]


class TestFeedbackFilters:
    @pytest.fixture
    def four(self, cast: Cast) -> dict[str, str]:
        alice = cast.alice
        ids = {name: _session(alice, requests=1)[0] for name in ("s1", "s2", "s3", "s4")}
        alice.client.put("/v1/feedback/config/tone", json={"type": "categorical", "labels": ["calm", "rude"]})
        for body in (
            {"session_id": ids["s1"], "name": "stars", "value": 5, "rater": "ann", "comment": "spot on"},
            {"session_id": ids["s2"], "name": "stars", "value": 2, "rater": "bo"},
            {"session_id": ids["s2"], "value": False, "rater": "bo"},
            {"session_id": ids["s3"], "name": "tone", "value": "rude", "rater": "judge", "source": "llm"},
        ):
            assert _send(alice, **body).status_code == 201
        return ids

    @pytest.mark.parametrize(("leaf", "expected"), FILTER_CASES)
    def test_each_field_and_operator(
        self, cast: Cast, four: dict[str, str], leaf: dict[str, Any], expected: set[str]
    ) -> None:
        body = query_body(filter={"feedback": leaf}, limit=100)
        response = cast.alice.client.post("/v1/session/query", json=body)
        assert response.status_code == 200, response.text
        names = {v: k for k, v in four.items()}
        assert {names[r["session_id"]] for r in response.json()["data"]} == expected
        count = cast.alice.client.post("/v1/session/count", json=body).json()["data"]["count"]
        assert count == len(expected)

    def test_feedback_leaves_combine_with_others_and_select_requests(
        self, cast: Cast, four: dict[str, str]
    ) -> None:
        both = {
            "left": {"feedback": {"name": {"equals": "stars"}}},
            "operator": "and",
            "right": {"feedback": {"value": {"rating": {"equals": 0}}}},
        }
        rows = cast.alice.client.post("/v1/session/query", json=query_body(filter=both)).json()["data"]
        assert [r["session_id"] for r in rows] == [four["s2"]]
        requests = cast.alice.client.post(
            "/v1/request/query", json={"filter": {"feedback": {"source": {"equals": "llm"}}}}
        ).json()["data"]
        assert {r["properties"]["Helicone-Session-Id"] for r in requests} == {four["s3"]}
        assert cast.bob.client.post("/v1/session/query", json=query_body(filter=both)).json()["data"] == []

    @pytest.mark.parametrize(
        "leaf",
        [
            pytest.param({"value": {"gte": 1}}, id="value-without-name"),
            pytest.param({"has_comment": {"equals": "maybe"}}, id="has-comment-not-boolean"),
            pytest.param({"name": {"gt": "a"}}, id="ordered-operator-on-text"),
            pytest.param({"score": {"equals": 1}}, id="unknown-field"),
        ],
    )
    def test_malformed_feedback_leaves_get_400(self, cast: Cast, leaf: dict[str, Any]) -> None:
        response = cast.alice.client.post("/v1/session/query", json=query_body(filter={"feedback": leaf}))
        assert response.status_code == 400, response.text
