"""Concurrent ingestion from many clients loses nothing and counts nothing twice, on both databases.

32 clients log at once through the real server; afterwards every acknowledged id must be readable
and the session rollups must equal sums computed here by hand. No timing is asserted (benchmarks do
that); the sizes keep the file to about 20 s per database on a small, busy machine.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import httpx

from ingest_support import stored_row_count
from support import Cast, Server, Tenant, log_body, query_body, session_headers

CLIENTS, CALLS_PER_CLIENT, SESSIONS = 32, 12, 20
START_MS = 1_700_000_000_000
# gpt-4o-mini list price in nano-USD per token: $0.15/1M input, $0.60/1M output.
INPUT_NANO, OUTPUT_NANO = 150, 600


@dataclass(frozen=True)
class Call:
    """One planned log call with the values it must leave behind."""

    key: str
    session_id: str
    index: int
    prompt_tokens: int
    completion_tokens: int
    request_id: str | None  # sent as Helicone-Request-Id when set
    model: str = "gpt-4o-mini"

    @property
    def cost_nano(self) -> int:
        return self.prompt_tokens * INPUT_NANO + self.completion_tokens * OUTPUT_NANO

    def headers(self) -> dict[str, str]:
        headers = session_headers(self.session_id, f"/step-{self.index % 3}", "Load") | {
            "Authorization": f"Bearer {self.key}"
        }
        if self.request_id is not None:
            headers["Helicone-Request-Id"] = self.request_id
        return headers

    def body(self) -> dict[str, Any]:
        return log_body(
            model=self.model,
            start_ms=START_MS + self.index,
            latency_ms=self.index % 50,
            prompt_tokens=self.prompt_tokens,
            completion_tokens=self.completion_tokens,
            content=f"call {self.index}",
        )


def _plan(
    keys: Sequence[str],
    run: str,
    *,
    clients: int = CLIENTS,
    calls_per_client: int = CALLS_PER_CLIENT,
    token_scale: int = 1,
) -> list[list[Call]]:
    """`clients` lists of `calls_per_client` calls; client c uses keys[c % len(keys)].

    Calls go round-robin over SESSIONS sessions; every other call chooses its own request id.
    """
    plan = []
    for client in range(clients):
        calls = []
        for n in range(calls_per_client):
            index = client * calls_per_client + n
            calls.append(
                Call(
                    key=keys[client % len(keys)],
                    session_id=f"{run}-s{index % SESSIONS:02d}",
                    index=index,
                    prompt_tokens=(1 + index % 97) * token_scale,
                    completion_tokens=(1 + (index * 7) % 13) * token_scale,
                    request_id=str(uuid.uuid4()) if n % 2 == 0 else None,
                )
            )
        plan.append(calls)
    return plan


async def _client(base_url: str, calls: Sequence[Call]) -> list[tuple[Call, httpx.Response]]:
    """One client (its own connection) logging its calls one after another."""
    async with httpx.AsyncClient(base_url=base_url, timeout=60) as client:
        return [
            (call, await client.post("/oai/v1/log", json=call.body(), headers=call.headers()))
            for call in calls
        ]


def _run_concurrently(server: Server, plan: Sequence[Sequence[Call]]) -> list[tuple[Call, httpx.Response]]:
    async def run() -> list[tuple[Call, httpx.Response]]:
        results = await asyncio.gather(*(_client(server.base_url, calls) for calls in plan))
        return [pair for per_client in results for pair in per_client]

    return asyncio.run(run())


def _acknowledged(results: Sequence[tuple[Call, httpx.Response]]) -> dict[str, Call]:
    """helicone-id -> call, for every call the server acknowledged (200 `ok`)."""
    acknowledged: dict[str, Call] = {}
    for call, response in results:
        if response.status_code != 200:
            continue
        assert response.text == "ok"
        request_id = response.headers["helicone-id"]
        if call.request_id is not None:
            assert request_id == call.request_id
        assert request_id not in acknowledged, "two calls were acknowledged with the same id"
        acknowledged[request_id] = call
    return acknowledged


def _read_all(tenant: Tenant, request_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """GET /v1/request/{id} for every id, 32 at a time."""

    async def run() -> dict[str, dict[str, Any]]:
        limits = httpx.Limits(max_connections=CLIENTS)
        headers = {"Authorization": f"Bearer {tenant.key}"}
        async with httpx.AsyncClient(
            base_url=tenant.server.base_url, headers=headers, limits=limits, timeout=60
        ) as client:
            responses = await asyncio.gather(*(client.get(f"/v1/request/{rid}") for rid in request_ids))
        rows = {}
        for request_id, response in zip(request_ids, responses, strict=True):
            assert response.status_code == 200, f"{request_id} was acknowledged but is not readable"
            rows[request_id] = response.json()["data"]
        return rows

    return asyncio.run(run())


def _expected_sessions(calls: Sequence[Call]) -> dict[str, dict[str, Any]]:
    """Session rollups computed by hand from the calls."""
    by_session: dict[str, list[Call]] = defaultdict(list)
    for call in calls:
        by_session[call.session_id].append(call)
    expected = {}
    for session_id, members in by_session.items():
        prompt = sum(c.prompt_tokens for c in members)
        completion = sum(c.completion_tokens for c in members)
        expected[session_id] = {
            "total_requests": len(members),
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "total_tokens": prompt + completion,
            "total_cost": sum(c.cost_nano for c in members) / 1e9,
        }
    return expected


def _sessions_as_listed(tenant: Tenant) -> dict[str, dict[str, Any]]:
    response = tenant.client.post("/v1/session/query", json=query_body(limit=1000))
    assert response.status_code == 200, response.text
    keys = ("total_requests", "prompt_tokens", "completion_tokens", "total_tokens", "total_cost")
    return {row["session_id"]: {key: row[key] for key in keys} for row in response.json()["data"]}


def _assert_everything_stored(tenant: Tenant, acknowledged: dict[str, Call]) -> None:
    """Every acknowledged call readable with its values; rollups and listings equal hand sums."""
    rows = _read_all(tenant, list(acknowledged))
    for request_id, call in acknowledged.items():
        row = rows[request_id]
        assert (row["prompt_tokens"], row["completion_tokens"]) == (
            call.prompt_tokens,
            call.completion_tokens,
        )
        assert row["properties"]["Helicone-Session-Id"] == call.session_id
    assert stored_row_count(tenant) == len(acknowledged)

    listed = _sessions_as_listed(tenant)
    expected = _expected_sessions(list(acknowledged.values()))
    assert sum(s["total_requests"] for s in listed.values()) == len(acknowledged)
    assert listed == expected

    ids_by_session: dict[str, set[str]] = defaultdict(set)
    for request_id, call in acknowledged.items():
        ids_by_session[call.session_id].add(request_id)
    for session_id, ids in ids_by_session.items():
        detail = tenant.client.get(f"/v1/session/{session_id}").json()["data"]
        assert {r["request_id"] for r in detail["requests"]} == ids
        assert detail["session"]["total_requests"] == len(ids)


class TestConcurrentIngestion:
    def test_thirty_two_clients_logging_at_once_lose_nothing(self, server: Server, cast: Cast) -> None:
        # Half the clients use Alice's second key: both keys write into the one organization.
        plan = _plan([cast.alice.key, cast.alice_second_key.key], f"load-{uuid.uuid4().hex[:8]}")
        results = _run_concurrently(server, plan)

        refused = [(r.status_code, r.text) for _, r in results if r.status_code != 200]
        assert refused == []  # at most 32 calls wait at once; the queue holds thousands
        acknowledged = _acknowledged(results)
        assert len(acknowledged) == CLIENTS * CALLS_PER_CLIENT
        _assert_everything_stored(cast.alice, acknowledged)
        assert len(_sessions_as_listed(cast.alice)) == SESSIONS

    def test_two_organizations_logging_the_same_session_ids_at_once_keep_separate_sums(
        self, server: Server, cast: Cast
    ) -> None:
        run = f"shared-{uuid.uuid4().hex[:8]}"
        alice_plan = _plan([cast.alice.key], run, clients=CLIENTS // 2, calls_per_client=5)
        bob_plan = _plan([cast.bob.key], run, clients=CLIENTS // 2, calls_per_client=5, token_scale=1000)
        interleaved = [calls for pair in zip(alice_plan, bob_plan, strict=True) for calls in pair]
        results = _run_concurrently(server, interleaved)

        assert [r.status_code for _, r in results] == [200] * len(results)
        acknowledged = _acknowledged(results)
        alice_calls = {rid: c for rid, c in acknowledged.items() if c.key == cast.alice.key}
        bob_calls = {rid: c for rid, c in acknowledged.items() if c.key == cast.bob.key}
        assert len(alice_calls) == len(bob_calls) == CLIENTS // 2 * 5
        _assert_everything_stored(cast.alice, alice_calls)
        _assert_everything_stored(cast.bob, bob_calls)
        assert set(_sessions_as_listed(cast.alice)) == set(_sessions_as_listed(cast.bob))

    def test_concurrent_retries_of_the_same_request_id_are_stored_once(
        self, server: Server, cast: Cast
    ) -> None:
        run = f"retry-{uuid.uuid4().hex[:8]}"
        planned = _plan([cast.alice.key], run, clients=2, calls_per_client=16)
        # A retry resends the same Helicone-Request-Id, so every call here chooses one.
        originals = [replace(call, request_id=str(uuid.uuid4())) for calls in planned for call in calls]
        attempts = [call for call in originals for _ in range(4)]
        random.Random(7).shuffle(attempts)
        # 32 clients send the shuffled attempts, so copies of one call race on different connections.
        plan = [attempts[client::CLIENTS] for client in range(CLIENTS)]
        results = _run_concurrently(server, plan)

        assert [r.status_code for _, r in results] == [200] * len(attempts)
        for call, response in results:
            assert (response.text, response.headers["helicone-id"]) == ("ok", call.request_id)
        _assert_everything_stored(cast.alice, {str(c.request_id): c for c in originals})

    def test_a_call_the_database_cannot_store_does_not_take_its_batch_neighbours_down(
        self, server: Server, cast: Cast
    ) -> None:
        # PostgreSQL text cannot hold NUL, so a model name with one passes validation but fails the
        # insert of whatever batch it lands in. Whatever the server answers for that call (stored,
        # 400 or 503), the calls committed alongside it must all land.
        poison = "gpt-4o-mini\x00"
        plan = _plan([cast.alice.key], f"poison-{uuid.uuid4().hex[:8]}", clients=16, calls_per_client=4)
        plan = [[replace(calls[0], model=poison), *calls[1:]] for calls in plan]
        results = _run_concurrently(server, plan)

        poisoned = [r.status_code for c, r in results if c.model == poison]
        assert len(poisoned) == 16
        assert set(poisoned) <= {200, 400, 503}, poisoned
        assert [r.status_code for c, r in results if c.model != poison] == [200] * 16 * 3
        _assert_everything_stored(cast.alice, _acknowledged(results))
