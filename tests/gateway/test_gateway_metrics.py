"""`/metrics` counts proxied calls, and a database that cannot take the log write does not break them."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from gateway.gateway_support import (
    TEXT,
    chat_body,
    extra_server,
    gateway_headers,
    marker,
    metrics,
    module_tenant,
    wait_for_metrics,
    wait_for_request,
)
from heliograph.ingest.submitter import RETRY_FOR_S
from support import Server, Tenant, new_tenant

alice = module_tenant("alice")

GATEWAY_COUNTERS = [
    "heliograph_gateway_calls_total",
    "heliograph_gateway_upstream_errors_total",
    "heliograph_gateway_logged_total",
    "heliograph_gateway_log_failures_total",
]
CALLS, LOGGED, LOG_FAILURES = GATEWAY_COUNTERS[0], GATEWAY_COUNTERS[2], GATEWAY_COUNTERS[3]
BUSY_TIMEOUT_S = 5  # the server's SQLite busy_timeout: how long a write waits for a lock before failing


def _call(base_url: str, key: str, model: str = "gpt-4o-mini") -> httpx.Response:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        return client.post(
            "/openai/v1/chat/completions", json=chat_body(marker(), model=model), headers=gateway_headers(key)
        )


class TestMetrics:
    def test_every_gateway_counter_is_exposed_without_a_key(self, server: Server, alice: Tenant) -> None:
        response = httpx.get(f"{server.base_url}/metrics", timeout=10)
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/plain")
        for name in GATEWAY_COUNTERS:
            assert f"# TYPE {name} counter\n" in response.text
            assert metrics(server.base_url)[name] >= 0
        assert alice.key not in response.text

    def test_the_counters_grow_with_proxied_calls(self, server: Server, alice: Tenant) -> None:
        before = metrics(server.base_url)
        assert _call(server.base_url, alice.key).status_code == 200
        assert _call(server.base_url, alice.key, model="fail-500").status_code == 500

        after = wait_for_metrics(server.base_url, lambda m: m[LOGGED] >= before[LOGGED] + 2, wait_s=5)
        assert after[CALLS] == before[CALLS] + 2
        assert after[LOGGED] >= before[LOGGED] + 2
        assert after[LOG_FAILURES] == before[LOG_FAILURES]

    def test_refused_calls_are_not_counted_as_proxied(self, server: Server) -> None:
        before = metrics(server.base_url)
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            response = client.post("/openai/v1/chat/completions", json=chat_body(marker()))
        assert response.status_code == 401
        assert metrics(server.base_url)[CALLS] == before[CALLS]


@dataclass
class LockableServer:
    """A server on its own SQLite file, so the test can lock that file without disturbing others."""

    server: Server
    path: Path
    tenant: Tenant

    def lock(self) -> sqlite3.Connection:
        """Hold the database's write lock until the returned connection is rolled back and closed."""
        connection = sqlite3.connect(self.path, timeout=0)
        connection.execute("BEGIN EXCLUSIVE")
        return connection


@pytest.fixture(scope="module")
def lockable(
    database_url: str, fake_upstream: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LockableServer]:
    if not database_url.startswith("sqlite"):
        pytest.skip(
            "holds a SQLite file lock from the test; run once, on SQLite (PostgreSQL has no file to lock)"
        )
    folder = tmp_path_factory.mktemp("lockable")
    path = folder / "heliograph.db"
    env = {
        "HELIOGRAPH_OPENAI_BASE_URL": f"{fake_upstream}/v1",
        "HELIOGRAPH_ANTHROPIC_BASE_URL": fake_upstream,
    }
    with extra_server(f"sqlite:///{path}", folder / "server.log", env) as running:
        tenant = new_tenant(running, "locked-org")
        try:
            yield LockableServer(running, path, tenant)
        finally:
            tenant.client.close()


class TestLockedDatabase:
    def test_a_call_made_while_the_database_is_locked_is_answered_before_its_log_is_written(
        self, lockable: LockableServer
    ) -> None:
        base_url = lockable.server.base_url
        before = metrics(base_url)
        lock = lockable.lock()
        try:
            response = _call(base_url, lockable.tenant.key)
            at_answer = metrics(base_url)
        finally:
            lock.rollback()
            lock.close()

        assert response.status_code == 200
        assert response.json()["choices"][0]["message"]["content"] == TEXT
        assert at_answer[CALLS] == before[CALLS] + 1
        # The write was still waiting for the lock when the answer arrived.
        assert (at_answer[LOGGED], at_answer[LOG_FAILURES]) == (before[LOGGED], before[LOG_FAILURES])
        record = wait_for_request(lockable.tenant.client, response.headers["helicone-id"])
        assert record["response_status"] == 200
        after = metrics(base_url)
        assert (after[LOGGED], after[LOG_FAILURES]) == (before[LOGGED] + 1, before[LOG_FAILURES])

    def test_a_log_write_that_gives_up_on_the_lock_is_counted_and_the_next_call_is_logged(
        self, lockable: LockableServer
    ) -> None:
        base_url = lockable.server.base_url
        before = metrics(base_url)
        lock = lockable.lock()
        try:
            response = _call(base_url, lockable.tenant.key)
            settled = wait_for_metrics(
                base_url,
                lambda m: m[LOGGED] + m[LOG_FAILURES] > before[LOGGED] + before[LOG_FAILURES],
                # The record is retried for RETRY_FOR_S, each try waiting up to the busy timeout.
                wait_s=RETRY_FOR_S + 3 * BUSY_TIMEOUT_S,
            )
        finally:
            lock.rollback()
            lock.close()

        assert response.status_code == 200
        assert response.json()["choices"][0]["message"]["content"] == TEXT
        assert settled[CALLS] == before[CALLS] + 1
        assert (settled[LOGGED], settled[LOG_FAILURES]) == (before[LOGGED], before[LOG_FAILURES] + 1)
        # Each try is a failed write of its own.
        assert settled["heliograph_ingest_failed_total"] > before["heliograph_ingest_failed_total"]

        next_call = _call(base_url, lockable.tenant.key)
        assert next_call.status_code == 200
        assert (
            wait_for_request(lockable.tenant.client, next_call.headers["helicone-id"])["response_status"]
            == 200
        )
