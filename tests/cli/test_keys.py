"""`heliograph keys create|list|revoke` and `heliograph migrate`, run in-process."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from pathlib import Path

import httpx
from typer.testing import CliRunner

from heliograph.cli.main import app
from support import Server, query_body, start_server, stop_server

KEY_PATTERN = re.compile(r"^sk-hg-[A-Za-z0-9_-]{32,}$")
runner = CliRunner()


def _create(database_url: str, org: str) -> str:
    result = runner.invoke(app, ["keys", "create", "--org", org, "--database-url", database_url])
    assert result.exit_code == 0, result.output
    key = result.stdout.strip().splitlines()[-1]
    assert KEY_PATTERN.match(key)
    return key


class TestKeys:
    def test_create_prints_the_key_alone_as_the_last_stdout_line(self, server: Server) -> None:
        key = _create(server.database_url, f"cli-{uuid.uuid4().hex[:6]}")
        response = httpx.post(
            f"{server.base_url}/v1/session/query",
            json=query_body(),
            headers={"Authorization": f"Bearer {key}"},
        )
        assert response.status_code == 200

    def test_list_shows_prefixes_never_keys(self, server: Server) -> None:
        org = f"cli-{uuid.uuid4().hex[:6]}"
        key = _create(server.database_url, org)
        result = runner.invoke(app, ["keys", "list", "--org", org, "--database-url", server.database_url])
        assert result.exit_code == 0
        assert key[:12] in result.stdout
        assert key not in result.stdout
        assert "active" in result.stdout

    def test_a_revoked_key_fails_at_once(self, server: Server) -> None:
        org = f"cli-{uuid.uuid4().hex[:6]}"
        key = _create(server.database_url, org)
        headers = {"Authorization": f"Bearer {key}"}
        assert (
            httpx.post(f"{server.base_url}/v1/session/query", json=query_body(), headers=headers).status_code
            == 200
        )
        result = runner.invoke(app, ["keys", "revoke", key[:12], "--database-url", server.database_url])
        assert result.exit_code == 0, result.output
        response = httpx.post(f"{server.base_url}/v1/session/query", json=query_body(), headers=headers)
        assert response.status_code == 401
        assert response.json() == {"data": None, "error": "Invalid API key"}

    def test_revoking_an_unknown_key_fails_clearly(self, server: Server) -> None:
        result = runner.invoke(
            app, ["keys", "revoke", "sk-hg-nothing", "--database-url", server.database_url]
        )
        assert result.exit_code == 1
        assert "No active key matches" in result.stderr


class TestConfiguration:
    def test_an_unsupported_database_url_is_a_clear_error(self) -> None:
        result = runner.invoke(app, ["migrate", "--database-url", "mysql://localhost/x"])
        assert result.exit_code == 2
        assert (
            "HELIOGRAPH_DATABASE_URL must start with sqlite:///, postgresql://, clickhouse://, "
            "clickhouses:// or chdb:///" in result.stderr
        )

    def test_chdb_with_several_workers_is_refused_before_anything_starts(self, tmp_path: object) -> None:
        result = runner.invoke(app, ["serve", "--workers", "2", "--database-url", f"chdb://{tmp_path}/ch"])
        assert result.exit_code == 2
        assert "embedded ClickHouse (chdb://) opens its directory from one process only" in result.stderr
        assert not (Path(str(tmp_path)) / "ch").exists()

    def test_a_relative_chdb_url_is_refused(self) -> None:
        result = runner.invoke(app, ["migrate", "--database-url", "chdb://relative/dir"])
        assert result.exit_code == 2
        assert "chdb:///absolute/path" in result.stderr

    def test_migrate_creates_a_fresh_sqlite_database(self, tmp_path: object) -> None:
        url = f"sqlite:///{tmp_path}/new/heliograph.db"
        result = runner.invoke(app, ["migrate", "--database-url", url])
        assert result.exit_code == 0, result.output
        assert "up to date" in result.stderr
        assert _create(url, "fresh")


def test_a_chdb_store_held_by_a_running_server_is_a_clear_error(tmp_path: Path) -> None:
    running = start_server(f"chdb://{tmp_path}/ch", tmp_path / "server.log")
    try:
        result = subprocess.run(
            [sys.executable, "-m", "heliograph", "keys", "list", "--database-url", f"chdb://{tmp_path}/ch"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        stop_server(running)
    assert result.returncode == 1
    assert "another process has it open (a running server?)" in result.stderr
    assert "POST /v1/admin/keys" in result.stderr
    assert "Traceback" not in result.stderr
