"""Feedback, property updates and ingestion racing on one session end in one consistent state.

The documented rule is "last write wins by commit order": every write is one transaction, so after a
race the stored value is the value of one of the writes (never a mix), every place that shows it
agrees (the first request's property, the session row, the feedback filter), and the next write
after the race wins. Rollups equal sums recomputed here from the stored requests. Both databases.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from support import Cast, Tenant, feedback_filter, log_body, query_body, session_headers

CLIENTS, WRITES_PER_CLIENT = 16, 6
FEEDBACK = "Helicone-Session-Feedback"
START_MS = 1_700_000_000_000


def _race(tenant: Tenant, write: Callable[[httpx.AsyncClient, int], Awaitable[httpx.Response]]) -> None:
    """CLIENTS clients, each on its own connection, making WRITES_PER_CLIENT writes at once."""

    async def client(number: int) -> list[httpx.Response]:
        headers = {"Authorization": f"Bearer {tenant.key}"}
        async with httpx.AsyncClient(base_url=tenant.server.base_url, headers=headers, timeout=60) as c:
            return [await write(c, number * WRITES_PER_CLIENT + n) for n in range(WRITES_PER_CLIENT)]

    async def run() -> list[httpx.Response]:
        results = await asyncio.gather(*(client(number) for number in range(CLIENTS)))
        return [response for per_client in results for response in per_client]

    responses = asyncio.run(run())
    assert [r.status_code for r in responses if r.status_code >= 300] == [], [r.text for r in responses][:3]


def _session(tenant: Tenant, session_id: str) -> dict[str, Any]:
    response = tenant.client.get(f"/v1/session/{session_id}")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    return data


def _feedback_everywhere(tenant: Tenant, session_id: str, first_request_id: str) -> set[Any]:
    """The session's feedback as each reader sees it; a consistent store gives one value."""
    detail = _session(tenant, session_id)
    first = tenant.client.get(f"/v1/request/{first_request_id}").json()["data"]
    as_property = {"1": True, "0": False, None: None}[first["properties"].get(FEEDBACK)]
    by_filter = {
        value
        for value, label in ((True, "1"), (False, "0"))
        if session_id
        in [
            s["session_id"]
            for s in tenant.client.post(
                "/v1/session/query", json=query_body(filter=feedback_filter(label), limit=1000)
            ).json()["data"]
        ]
    }
    return {detail["session"]["feedback"], as_property, *(by_filter or [None])}


def _log_session(tenant: Tenant, session_id: str, requests: int) -> list[str]:
    return [
        tenant.log(headers=session_headers(session_id, f"/step-{n}"), start_ms=START_MS + n * 1000)
        for n in range(requests)
    ]


class TestFeedbackRaces:
    def test_concurrent_ratings_leave_one_value_that_every_reader_agrees_on(self, cast: Cast) -> None:
        session_id = f"race-{uuid.uuid4().hex[:8]}"
        first, *_ = _log_session(cast.alice, session_id, 3)
        choices = [random.Random(n).choice([True, False, None]) for n in range(CLIENTS * WRITES_PER_CLIENT)]

        async def rate(client: httpx.AsyncClient, n: int) -> httpx.Response:
            url = f"/v1/session/{session_id}/feedback"
            if choices[n] is None:
                return await client.delete(url)
            return await client.post(url, json={"rating": choices[n]})

        _race(cast.alice, rate)
        seen = _feedback_everywhere(cast.alice, session_id, first)
        assert len(seen) == 1 and seen <= set(choices), seen

        # The next write after the race wins, everywhere.
        for rating in (True, False):
            assert (
                cast.alice.client.post(
                    f"/v1/session/{session_id}/feedback", json={"rating": rating}
                ).status_code
                == 200
            )
            assert _feedback_everywhere(cast.alice, session_id, first) == {rating}


class TestPropertyRaces:
    def test_concurrent_updates_of_one_property_leave_exactly_one_of_the_written_values(
        self, cast: Cast
    ) -> None:
        session_id = f"race-{uuid.uuid4().hex[:8]}"
        (request_id,) = _log_session(cast.alice, session_id, 1)
        values = [f"v{n}" for n in range(CLIENTS * WRITES_PER_CLIENT)]

        async def put(client: httpx.AsyncClient, n: int) -> httpx.Response:
            return await client.put(
                f"/v1/request/{request_id}/property", json={"key": "Verdict", "value": values[n]}
            )

        _race(cast.alice, put)
        stored = cast.alice.client.get(f"/v1/request/{request_id}").json()["data"]["properties"]["verdict"]
        assert stored in values
        matching = [
            value
            for value in values
            if cast.alice.client.post(
                "/v1/request/count/query",
                json={"filter": {"request_response_rmt": {"properties": {"Verdict": {"equals": value}}}}},
            ).json()["data"]
        ]
        assert matching == [stored]  # one row for the key, holding the value every reader sees

        assert (
            cast.alice.client.put(
                f"/v1/request/{request_id}/property", json={"key": "Verdict", "value": "last"}
            ).status_code
            == 201
        )
        assert (
            cast.alice.client.get(f"/v1/request/{request_id}").json()["data"]["properties"]["verdict"]
            == "last"
        )


class TestIngestionRaces:
    def test_logging_rating_and_property_updates_at_once_keep_rollups_equal_to_the_stored_requests(
        self, cast: Cast
    ) -> None:
        session_id = f"race-{uuid.uuid4().hex[:8]}"
        first = _log_session(cast.alice, session_id, 1)[0]  # the earliest: later logs never move it
        acknowledged: list[str] = []

        async def mixed(client: httpx.AsyncClient, n: int) -> httpx.Response:
            if n % 3 == 0:
                return await client.post(f"/v1/session/{session_id}/feedback", json={"rating": n % 2 == 0})
            if n % 3 == 1:
                return await client.put(
                    f"/v1/request/{first}/property", json={"key": "Round", "value": str(n)}
                )
            body = log_body(start_ms=START_MS + 10_000 + n, prompt_tokens=n + 1, completion_tokens=n % 7 + 1)
            response = await client.post(
                "/oai/v1/log", json=body, headers=session_headers(session_id, "/more")
            )
            acknowledged.append(response.headers["helicone-id"])
            return response

        _race(cast.alice, mixed)
        detail = _session(cast.alice, session_id)
        stored = {r["request_id"]: r for r in detail["requests"]}
        assert set(stored) == {first, *acknowledged}  # nothing lost, nothing extra
        summary = detail["session"]
        recomputed = {
            "total_requests": len(stored),
            "prompt_tokens": sum(r["prompt_tokens"] for r in stored.values()),
            "completion_tokens": sum(r["completion_tokens"] for r in stored.values()),
            "total_tokens": sum(r["total_tokens"] for r in stored.values()),
            "total_cost": sum(r["cost"] for r in stored.values()),
        }
        assert {key: summary[key] for key in recomputed} == {
            **recomputed,
            "total_cost": summary["total_cost"],
        }
        assert abs(summary["total_cost"] - recomputed["total_cost"]) < 1e-9
        assert len(_feedback_everywhere(cast.alice, session_id, first)) == 1
        assert detail["requests"][0]["request_id"] == first
