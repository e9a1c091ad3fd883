"""The database goes away mid-load and comes back: 503 with Retry-After meanwhile, never a 500 or a
hang, /healthz says why, and everything works again afterwards with nothing acknowledged lost.

PostgreSQL "goes away" behind a TCP proxy that drops every connection and refuses new ones (the
shared cluster itself is never stopped). SQLite is locked by another process holding BEGIN
EXCLUSIVE; under WAL its readers are not blocked, so reads keep answering 200 there.
bench/faults.py measures how long recovery takes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from gateway.gateway_support import metrics
from heliograph.testing.chaos import Load, TcpProxy, check_stored, holding_sqlite_lock
from support import Server, Tenant, new_tenant, start_server, stop_server

CONCURRENT = 8
RECOVERY_BOUND_S = 60  # a server that has not recovered by then never will; not a timing assertion


@dataclass
class Outage:
    """A way to take one database away from a server and give it back."""

    server_url: str  # the database URL the server is given
    reads_fail: bool  # PostgreSQL reads fail too; SQLite's WAL readers are never blocked by a writer
    reason: str  # what /healthz must name
    begin: Callable[[], None]
    end: Callable[[], None]


@pytest.fixture
def outage(empty_database_url: str) -> Iterator[Outage]:
    with ExitStack() as stack:
        if empty_database_url.startswith("sqlite"):
            path = empty_database_url.split(":///", 1)[1]
            held: list[AbstractContextManager[object]] = []

            def lock() -> None:
                held.append(holding_sqlite_lock(path))
                held[-1].__enter__()

            def unlock() -> None:
                held.pop().__exit__(None, None, None)

            yield Outage(empty_database_url, reads_fail=False, reason="locked", begin=lock, end=unlock)
            while held:
                unlock()
        else:
            proxy = stack.enter_context(TcpProxy.in_front_of(empty_database_url))
            yield Outage(
                proxy.url_through(empty_database_url),
                reads_fail=True,
                reason="unavailable",
                begin=proxy.cut,
                end=proxy.restore,
            )


@pytest.fixture(params=["1", "2"], ids=["1-worker", "2-workers"])
def outage_server(
    request: pytest.FixtureRequest, outage: Outage, fake_upstream: str, tmp_path: Path
) -> Iterator[Server]:
    """The server, with one process or two (on SQLite, two share one writer process: it is the one
    that finds the database locked, and its workers answer 503 for it)."""
    server = start_server(
        outage.server_url,
        tmp_path / "server.log",
        "--workers",
        request.param,
        "--openai-base-url",
        f"{fake_upstream}/v1",
        "--anthropic-base-url",
        fake_upstream,
    )
    yield server
    stop_server(server)


async def _send(server: Server, load: Load, count: int, *, via_gateway: bool = False) -> list[httpx.Response]:
    """`count` planned calls at once; every call's outcome is recorded in `load`."""
    calls = [load.plan(gateway_every=1 if via_gateway else 0) for _ in range(count)]
    async with httpx.AsyncClient(base_url=server.base_url, timeout=RECOVERY_BOUND_S) as client:
        responses = await asyncio.gather(*(call.send(client, load.key) for call in calls))
    for call, response in zip(calls, responses, strict=True):
        load.record(call, response)
    return list(responses)


def _wait_healthy(server: Server) -> None:
    _wait_for(lambda: httpx.get(f"{server.base_url}/healthz", timeout=RECOVERY_BOUND_S).status_code == 200)


@pytest.fixture
def tenant(outage_server: Server) -> Iterator[Tenant]:
    tenant = new_tenant(outage_server, "outage")
    yield tenant
    tenant.client.close()


def test_a_database_outage_answers_503_then_recovers_with_nothing_acknowledged_lost(
    outage: Outage, outage_server: Server, tenant: Tenant
) -> None:
    load = Load(run="outage", key=tenant.key)
    before = asyncio.run(_send(outage_server, load, CONCURRENT))
    assert [r.status_code for r in before] == [200] * CONCURRENT
    stored_id = before[0].headers["helicone-id"]

    outage.begin()
    during = asyncio.run(_send(outage_server, load, CONCURRENT))
    read = tenant.client.get(f"/v1/request/{stored_id}")
    health = httpx.get(f"{outage_server.base_url}/healthz", timeout=RECOVERY_BOUND_S)
    outage.end()

    assert [r.status_code for r in during] == [503] * CONCURRENT
    for response in during:
        assert response.headers["retry-after"] == "1"
        assert response.json() == {"data": None, "error": response.json()["error"]}
        assert "unavailable" in response.json()["error"]
    if outage.reads_fail:
        assert read.status_code == 503 and read.headers["retry-after"] == "1"
        assert read.json()["data"] is None and "unavailable" in read.json()["error"]
    else:
        assert read.status_code == 200 and read.json()["data"]["request_id"] == stored_id
    assert health.status_code == 503
    assert outage.reason in health.json()["error"]

    _wait_healthy(outage_server)
    # Ingestion refuses at once for a second after a failed batch (the Retry-After it gave), then
    # takes records again: a client that retries gets through.
    _wait_for(lambda: asyncio.run(_send(outage_server, load, 1))[0].status_code == 200)
    after = asyncio.run(_send(outage_server, load, CONCURRENT))
    assert [r.status_code for r in after] == [200] * CONCURRENT
    assert tenant.client.get(f"/v1/request/{stored_id}").status_code == 200
    check = asyncio.run(check_stored(outage_server.database_url, tenant.org_id, load))
    assert len(load.acknowledged) == 2 * CONCURRENT + 1
    assert check.acknowledged_lost == []
    assert check.problems == []


def test_a_gateway_call_answered_while_sqlite_is_locked_is_logged_after_the_lock_is_released(
    fake_upstream: str, tmp_path: Path
) -> None:
    database_url = f"sqlite:///{tmp_path / 'locked.db'}"
    server = start_server(database_url, tmp_path / "server.log", "--openai-base-url", f"{fake_upstream}/v1")
    tenant = new_tenant(server, "gateway-retry")
    try:
        load = Load(run="retry", key=tenant.key)
        with holding_sqlite_lock(database_url.split(":///", 1)[1]):
            answered = asyncio.run(_send(server, load, 3, via_gateway=True))
            # Hold the lock until a write has failed on it, so the record must be retried to be stored.
            _wait_for(lambda: metrics(server.base_url)["heliograph_ingest_failed_total"] >= 1)
        assert [r.status_code for r in answered] == [200] * 3
        _wait_for(lambda: metrics(server.base_url)["heliograph_gateway_logged_total"] == 3)
        assert metrics(server.base_url)["heliograph_gateway_log_failures_total"] == 0
        check = asyncio.run(check_stored(database_url, tenant.org_id, load))
        assert check.gateway_missing == []
        assert check.problems == []
    finally:
        tenant.client.close()
        stop_server(server)


def _wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + RECOVERY_BOUND_S
    while not condition():
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.1)
