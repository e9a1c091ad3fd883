"""Shared fixtures: a real server on loopback for each database, and a named cast of tenants.

Every test that takes `server` runs on SQLite (a real temp file) and on PostgreSQL (a fresh database on
the local cluster), and the suites in CHDB_SERVER_SUITES on embedded ClickHouse (chdb) as well. Without
PostgreSQL those runs skip with a message, unless HELIOGRAPH_REQUIRE_POSTGRES=1 (as in CI), where they
fail.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from heliograph.testing.fake_upstream import serve_fake_upstream
from in_process import serve_in_process
from support import Cast, Server, free_port, new_tenant, start_server, stop_server

POSTGRES_ADMIN_URL = os.environ.get(
    "HELIOGRAPH_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REQUIRE_POSTGRES = os.environ.get("HELIOGRAPH_REQUIRE_POSTGRES") == "1"
# `make test-fast`: the server-level suites run on SQLite only, against the app in this process
# (tests/in_process.py) rather than a `heliograph serve` process.
IN_PROCESS = os.environ.get("HELIOGRAPH_TEST_IN_PROCESS") == "1"


# -- databases ---------------------------------------------------------------------------------


def _postgres_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://")


async def _create_postgres_database(name: str) -> None:
    conn = await asyncpg.connect(_postgres_dsn(POSTGRES_ADMIN_URL), timeout=5)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def _drop_postgres_database(name: str) -> None:
    conn = await asyncpg.connect(_postgres_dsn(POSTGRES_ADMIN_URL), timeout=5)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_database() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test run, dropped afterwards."""
    name = f"heliograph_test_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_create_postgres_database(name))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        message = (
            f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} ({exc!r}); set HELIOGRAPH_TEST_POSTGRES_URL"
        )
        if REQUIRE_POSTGRES:
            pytest.fail(message + " (HELIOGRAPH_REQUIRE_POSTGRES=1, so this is a failure)")
        pytest.skip(message)
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    asyncio.run(_drop_postgres_database(name))


BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres), "chdb"]
# The server-level suites that also run on embedded ClickHouse. Only the server's process may open a
# chdb directory, so suites that read the database from the test process run on SQLite and PostgreSQL.
CHDB_SERVER_SUITES = (
    "api/test_session_feedback.py",
    "api/test_feedback_records.py",
    "api/test_feedback_links.py",
    "api/test_feedback_breakdown.py",
    "api/test_sessions.py",
    "api/test_session_ids.py",
    "api/test_property_keys.py",
    "api/test_queries.py",
    "api/test_requests.py",
    "api/test_helicone_compatibility.py",
    "api/test_properties.py",
    "api/test_evals.py",
    "api/test_monitors.py",
    "api/test_ingest.py",
    "api/test_ingest_captured.py",
    "api/test_otlp.py",
    "api/test_otlp_clients.py",
    "api/test_custom_trace.py",
    "security/test_isolation.py",
    "gateway/test_gateway_sdks.py",
    "gateway/test_gateway_feedback.py",
    "dashboard/test_pages.py",
    "reliability/test_process_faults.py",
    "security/test_schemathesis.py",
    "security/test_filter_limits.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep the chdb runs of the server-level suites in CHDB_SERVER_SUITES only, a test marked
    `backends(...)` on those backends only, and in process (IN_PROCESS) the SQLite runs only (deselect
    the rest)."""
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        params = getattr(item, "callspec", None)
        databases = (
            {params.params.get(name) for name in ("database_url", "empty_database_url")} if params else set()
        )
        suite = item.path.relative_to(Path(__file__).parent).as_posix()
        elsewhere = IN_PROCESS and (
            bool(databases & {"chdb", "postgresql"}) or item.get_closest_marker("real_server") is not None
        )
        on_chdb = "chdb" in databases and suite not in CHDB_SERVER_SUITES
        marked = item.get_closest_marker("backends")
        not_here = marked is not None and bool(databases - {None, *marked.args})
        (dropped if on_chdb or elsewhere or not_here else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A migrated-on-first-use database of each kind, shared by the whole run."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'heliograph.db'}"
    if request.param == "chdb":
        return f"chdb://{tmp_path_factory.mktemp('chdb-server')}"
    url: str = request.getfixturevalue("postgres_database")
    return url


@pytest.fixture(params=BACKENDS)
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """A brand-new, empty database of each kind for one test."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
        return
    if request.param == "chdb":
        yield f"chdb://{tmp_path / 'empty-chdb'}"
        return
    request.getfixturevalue("postgres_database")  # skips or fails as configured when Postgres is absent
    name = f"heliograph_empty_{uuid.uuid4().hex[:12]}"
    asyncio.run(_create_postgres_database(name))
    yield f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    asyncio.run(_drop_postgres_database(name))


@pytest.fixture(scope="session")
def fake_upstream() -> Iterator[str]:
    """The OpenAI/Anthropic stand-in on loopback; its base URL, without /v1."""
    with serve_fake_upstream(free_port()) as base_url:
        yield base_url


@pytest.fixture(scope="session")
def server(
    database_url: str, fake_upstream: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """One real server per database for the whole run; its gateway talks to the fake upstream, which
    `/gateway/*` may reach because its loopback address is allowlisted."""
    if IN_PROCESS:
        with serve_in_process(
            database_url, tmp_path_factory.mktemp("server") / "none.log", fake_upstream=fake_upstream
        ) as app:
            yield app
        return
    running = start_server(
        database_url,
        tmp_path_factory.mktemp("server") / "server.log",
        "--openai-base-url",
        f"{fake_upstream}/v1",
        "--anthropic-base-url",
        fake_upstream,
        # Schemathesis creates monitors with any webhook URL: this server sends webhooks to 127.0.0.1
        # only, and refuses every other host before resolving its name.
        env={
            "HELIOGRAPH_GATEWAY_ALLOWED_HOSTS": "127.0.0.1",
            "HELIOGRAPH_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        },
    )
    yield running
    stop_server(running)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Attach the server's log to a failed test's report."""
    report = yield
    running = getattr(item, "funcargs", {}).get("server")
    if report.failed and isinstance(running, Server):
        report.sections.append(("heliograph server log", running.log_tail()))
    return report


# -- tenants -----------------------------------------------------------------------------------


@pytest.fixture
def cast(server: Server) -> Iterator[Cast]:
    """Fresh organizations for each test, so tests never see each other's data."""
    suffix = uuid.uuid4().hex[:8]
    alice = new_tenant(server, f"alice-{suffix}", "first")
    alice_second = new_tenant(server, f"alice-{suffix}", "second")
    bob = new_tenant(server, f"bob-{suffix}", "first")
    outsider = server.client()
    yield Cast(alice=alice, alice_second_key=alice_second, bob=bob, outsider=outsider)
    for client in (alice.client, alice_second.client, bob.client, outsider):
        client.close()
