"""`heliograph serve`: what `make run` starts, end to end."""

from __future__ import annotations

import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from dashboard.dashboard_support import signed_in
from heliograph.config import Settings
from ingest_support import stored_row_count
from support import new_tenant, query_body, session_headers, start_server, stop_server


def test_serve_keeps_a_ready_key_that_survives_a_restart(tmp_path: Path) -> None:
    url, key_file = f"sqlite:///{tmp_path}/heliograph.db", tmp_path / "api-key"
    keys = []
    for _ in range(2):
        server = start_server(url, tmp_path / "server.log", "--ready-key", str(key_file))
        try:
            key = key_file.read_text().strip()
            response = httpx.post(
                f"{server.base_url}/v1/session/query",
                json=query_body(),
                headers={"Authorization": f"Bearer {key}"},
            )
            assert response.status_code == 200
            assert key in server.log_path.read_text()
            keys.append(key)
        finally:
            stop_server(server)
    assert keys[0] == keys[1]
    assert key_file.stat().st_mode & 0o077 == 0  # readable by its owner only


def test_serve_with_two_workers_stores_every_call_and_shares_sign_ins(
    empty_database_url: str, tmp_path: Path
) -> None:
    server = start_server(empty_database_url, tmp_path / "server.log", "--workers", "2")
    tenant = new_tenant(server, "acme")
    try:
        with ThreadPoolExecutor(max_workers=16) as pool:
            ids = list(pool.map(lambda i: tenant.log(headers=session_headers(f"s-{i % 4}")), range(200)))
        assert len(set(ids)) == 200
        assert stored_row_count(tenant) == 200
        # Connections spread over both processes; a cookie signed by one must be valid on the other.
        with signed_in(tenant) as browser:
            for _ in range(20):
                assert browser.get("/dashboard/sessions", headers={"Connection": "close"}).status_code == 200
        pids = {line for line in server.log_path.read_text().splitlines() if "Started server process" in line}
        assert len(pids) == 2
    finally:
        tenant.client.close()
        stop_server(server)
    assert server.os_process.returncode == 0


def test_serve_gathers_sqlite_planner_statistics_for_a_store_that_has_none(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/heliograph.db"
    server = start_server(url, tmp_path / "server.log")
    tenant = new_tenant(server, "acme")
    try:
        for i in range(30):
            tenant.log(headers=session_headers(f"s-{i}"))
    finally:
        tenant.client.close()
        stop_server(server)
    with closing(sqlite3.connect(tmp_path / "heliograph.db")) as db:
        db.execute("DELETE FROM sqlite_stat1")  # as a store that grew from empty has: no statistics
        db.commit()
        server = start_server(url, tmp_path / "server.log")
        try:
            deadline = time.monotonic() + 10
            while not (rows := db.execute(_SESSION_STATISTICS).fetchall()) and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            stop_server(server)
    assert rows and all(stat.startswith("30 ") for (stat,) in rows)  # 30 sessions, per index


_SESSION_STATISTICS = "SELECT stat FROM sqlite_stat1 WHERE tbl = 'sessions'"


@pytest.mark.parametrize(
    ("url", "writer", "workers", "shared"),
    [
        ("sqlite:///x.db", "auto", 2, True),
        ("sqlite:///x.db", "auto", 1, False),  # one process commits its own
        ("sqlite:///x.db", "per-process", 2, False),
        ("postgresql://u@h/db", "auto", 2, False),  # per-process writers measured faster there
        ("postgresql://u@h/db", "shared", 2, True),
        ("clickhouse://u:p@h:8123/db", "auto", 2, False),  # reads wait for their own process's rollups
    ],
)
def test_who_commits_for_several_workers(url: str, writer: str, workers: int, shared: bool) -> None:
    settings = Settings(database_url=url, ingest_writer=writer, workers=workers)
    assert settings.shares_a_writer() is shared
