"""DELETE /v1/request/{id} and DELETE /v1/session/{id}: an organization removes its own bad data,
and everything hanging off it goes too (properties, scores, feedback, users, tag, rollups)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import sqlalchemy as sa

from heliograph.storage.sql.schema import properties, requests, scores, session_tags, session_users, sessions
from heliograph.storage.sql.store import SqlStore
from ingest_support import snapshot
from support import Cast, Tenant, query_body, session_headers

START_MS = 1_764_150_000_000
TABLES = (requests, properties, scores, sessions, session_users, session_tags)


def _rows(tenant: Tenant) -> dict[str, int]:
    """How many rows each table holds for the tenant's organization."""
    org_id = tenant.org_id

    async def count() -> dict[str, int]:
        store = SqlStore.from_url(tenant.server.database_url)
        try:
            async with store.engines.reader.connect() as conn:
                return {
                    table.name: int(
                        (
                            await conn.execute(
                                sa.select(sa.func.count()).select_from(table).where(table.c.org_id == org_id)
                            )
                        ).scalar_one()
                    )
                    for table in TABLES
                }
        finally:
            await store.close()

    return asyncio.run(count())


def _session(tenant: Tenant, session_id: str) -> dict[str, Any]:
    response = tenant.client.get(f"/v1/session/{session_id}")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


@pytest.fixture
def alice(cast: Cast) -> Tenant:
    """Alice's session "trip" of three requests (by two users, the first rated, scored and tagged),
    and her session "other" of one."""
    alice = cast.alice
    for index, user in enumerate(("ann", "ben", "ann")):
        alice.log(
            headers=session_headers("trip", f"/step{index}", "Trip", **{"Helicone-User-Id": user}),
            start_ms=START_MS + index * 1000,
            prompt_tokens=10 * (index + 1),
        )
    alice.log(headers=session_headers("other", "/", "Other"), start_ms=START_MS)
    client = alice.client
    assert client.post("/v1/session/trip/feedback", json={"rating": True}).status_code == 200
    assert client.post("/v1/session/trip/tag", json={"tag": "keep"}).status_code == 200
    assert client.post(f"/v1/request/{alice.logged[0]}/score", json={"scores": {"q": 3}}).status_code == 201
    return alice


def test_deleting_the_first_request_folds_it_out_of_its_session_and_keeps_the_session_s_rating(
    alice: Tenant,
) -> None:
    first, second, third, _ = alice.logged
    response = alice.client.delete(f"/v1/request/{first}")
    assert response.status_code == 200, response.text
    assert response.json() == {"data": None, "error": None}
    assert alice.client.get(f"/v1/request/{first}").status_code == 404
    trip = _session(alice, "trip")
    assert [r["request_id"] for r in trip["requests"]] == [second, third]
    summary = trip["session"]
    assert (summary["total_requests"], summary["prompt_tokens"]) == (2, 20 + 30)
    assert summary["feedback"] is True
    assert summary["user_ids"] == ["ann", "ben"]
    assert trip["requests"][0]["properties"]["Helicone-Session-Feedback"] == "1"  # moved to the new first
    rows = _rows(alice)
    assert (rows["requests"], rows["scores"], rows["session_users"]) == (3, 0, 2)


def test_deleting_a_session_s_last_request_deletes_the_session_with_its_users_and_tag(alice: Tenant) -> None:
    alice.client.delete(f"/v1/request/{alice.logged[3]}")
    assert alice.client.get("/v1/session/other").status_code == 404
    for request_id in alice.logged[:2]:
        alice.client.delete(f"/v1/request/{request_id}")
    assert _session(alice, "trip")["session"]["user_ids"] == ["ann"]
    assert alice.client.delete(f"/v1/request/{alice.logged[2]}").status_code == 200
    assert alice.client.get("/v1/session/trip").status_code == 404
    assert alice.client.post("/v1/session/query", json=query_body()).json()["data"] == []
    assert set(_rows(alice).values()) == {0}


def test_deleting_a_session_deletes_its_requests_and_everything_of_theirs_and_nothing_else(
    alice: Tenant,
) -> None:
    before_other = _session(alice, "other")
    response = alice.client.delete("/v1/session/trip")
    assert response.status_code == 200, response.text
    assert alice.client.get("/v1/session/trip").status_code == 404
    for request_id in alice.logged[:3]:
        assert alice.client.get(f"/v1/request/{request_id}").status_code == 404
    assert alice.client.get("/v1/session/trip/tag").json()["data"] is None
    assert _session(alice, "other") == before_other
    count = alice.client.post("/v1/session/count", json=query_body()).json()["data"]
    assert count["count"] == 1
    assert _rows(alice) == {
        "requests": 1,
        "properties": 3,  # "other"'s id, name and path
        "scores": 0,
        "sessions": 1,
        "session_users": 0,
        "session_tags": 0,
    }


@pytest.mark.parametrize(
    ("path", "message"),
    [
        pytest.param("/v1/request/00000000-0000-4000-8000-000000000000", "Request not found", id="request"),
        pytest.param("/v1/session/no-such-session", "Session not found", id="session"),
    ],
)
def test_deleting_what_does_not_exist_is_404_and_changes_nothing(
    alice: Tenant, path: str, message: str
) -> None:
    before, rows = snapshot(alice), _rows(alice)
    response = alice.client.delete(path)
    assert response.status_code == 404
    assert response.json() == {"data": None, "error": message}
    assert snapshot(alice) == before
    assert _rows(alice) == rows
