"""Property keys match as ingestion stores them (issue 14, bug 3): `Helicone-Property-Prompt-Version` is
stored as `prompt-version`, so filters, sorts, the breakdown and the dashboard find it under any case."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from dashboard.dashboard_support import listed_session_ids, signed_in
from support import Cast, Tenant, query_body

SPELLINGS = [
    pytest.param("Prompt-Version", id="as-the-header-had-it"),
    pytest.param("PROMPT-VERSION", id="upper-case"),
    pytest.param("prompt-version", id="as-stored"),
]


def _log(tenant: Tenant, version: str) -> str:
    session_id = f"pv-{uuid.uuid4()}"
    headers = {"Helicone-Session-Id": session_id, "Helicone-Property-Prompt-Version": version}
    tenant.log(headers=headers)
    return session_id


def _property_filter(key: str, value: str) -> dict[str, Any]:
    return {"request_response_rmt": {"properties": {key: {"equals": value}}}}


@pytest.mark.parametrize("key", SPELLINGS)
class TestPropertyKeysIgnoreCase:
    def test_session_and_request_filters_find_the_property(self, cast: Cast, key: str) -> None:
        b, a = _log(cast.alice, "B"), _log(cast.alice, "A")
        response = cast.alice.client.post(
            "/v1/session/query", json=query_body(filter=_property_filter(key, "B"))
        )
        assert response.status_code == 200, response.text
        assert [row["session_id"] for row in response.json()["data"]] == [b]

        response = cast.alice.client.post(
            "/v1/request/query", json={"filter": _property_filter(key, "A"), "limit": 10}
        )
        assert response.status_code == 201, response.text
        assert [row["properties"]["prompt-version"] for row in response.json()["data"]] == ["A"]
        assert a  # logged second: the filter, not the order, picked it

        key_only = {"request_response_rmt": {"property_key": {"equals": key}}}
        response = cast.alice.client.post("/v1/session/query", json=query_body(filter=key_only))
        assert {row["session_id"] for row in response.json()["data"]} == {a, b}

    def test_the_feedback_breakdown_groups_by_the_property(self, cast: Cast, key: str) -> None:
        for version in ("A", "B", "B"):
            _log(cast.alice, version)
        response = cast.alice.client.post("/v1/session/feedback/breakdown", json={"property": key})
        assert response.status_code == 200, response.text
        assert {row["value"]: row["sessions"] for row in response.json()["data"]} == {"A": 1, "B": 2}

    def test_the_dashboard_property_filter_finds_the_sessions(self, cast: Cast, key: str) -> None:
        b = _log(cast.alice, "B")
        _log(cast.alice, "A")
        with signed_in(cast.alice) as browser:
            response = browser.get("/dashboard/sessions", params={"prop": key, "value": "B"})
            assert response.status_code == 200
            assert listed_session_ids(response.text) == [b]
            response = browser.get("/dashboard/feedback", params={"property": key})
            assert response.status_code == 200
            assert "<td>B</td>" in response.text or ">B<" in response.text


def test_the_session_feedback_key_keeps_its_stored_spelling(cast: Cast) -> None:
    rated = _log(cast.alice, "A")
    _log(cast.alice, "A")
    assert cast.alice.client.post(f"/v1/session/{rated}/feedback", json={"rating": True}).status_code == 200
    leaf = _property_filter("helicone-session-feedback", "1")
    response = cast.alice.client.post("/v1/session/query", json=query_body(filter=leaf))
    assert [row["session_id"] for row in response.json()["data"]] == [rated]
