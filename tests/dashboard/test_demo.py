"""`heliograph demo` and `heliograph serve --ready-key FILE --demo`: the sample `make run` shows."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner

from heliograph.cli.main import app
from heliograph.domain.sessions import SessionQuery
from heliograph.storage.sql.store import SqlStore
from support import query_body, start_server, stop_server


def _stored(url: str, org: str) -> dict[str, Any]:
    """What organization `org` holds: totals, breakdowns by prompt version and model, one session's paths."""

    async def run() -> dict[str, Any]:
        store = SqlStore.from_url(url)
        try:
            org_id = await store.ensure_org(name=org)
            query = SessionQuery(limit=1000)
            sessions = await store.query_sessions(org_id=org_id, query=query)
            longest = max(sessions, key=lambda s: s.request_count)
            requests = await store.session_requests(org_id=org_id, session_id=longest.session_id)
            return {
                "totals": await store.count_sessions(org_id=org_id, query=query),
                "versions": await store.feedback_by_value(
                    org_id=org_id, query=query, dimension="prompt-version", limit=10
                ),
                "models": await store.feedback_by_value(
                    org_id=org_id, query=query, dimension="model", limit=10
                ),
                "users": {user for s in sessions for user in s.user_ids},
                "paths": [r.record.properties["Helicone-Session-Path"] for r in requests],
                "rated": sum(s.feedback is not None for s in sessions),
            }
        finally:
            await store.close()

    return asyncio.run(run())


def test_demo_loads_agent_sessions_with_two_prompt_versions_models_users_and_feedback(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/demo.db"
    result = CliRunner().invoke(app, ["demo", "--sessions", "60", "--database-url", url, "--org", "acme"])
    assert result.exit_code == 0, result.output
    assert "Added 60 demo sessions" in result.output and "to organization acme." in result.output
    stored = _stored(url, "acme")
    assert stored["totals"].session_count == 60
    assert stored["totals"].request_count > 60 and stored["totals"].cost_nano_usd > 0
    assert {row.value for row in stored["versions"]} == {"A", "B"}
    assert sum(row.sessions for row in stored["versions"]) == 60
    assert len(stored["models"]) >= 3
    assert len(stored["users"]) > 10
    assert 20 <= stored["rated"] <= 50  # about 60% rated
    assert len(set(stored["paths"])) >= 3 and all(p.startswith("/") for p in stored["paths"])
    assert any(p.count("/") >= 2 for p in stored["paths"])  # a tree, not a list

    again = CliRunner().invoke(app, ["demo", "--sessions", "60", "--database-url", url, "--org", "acme"])
    assert again.exit_code == 0, again.output
    assert _stored(url, "acme")["totals"] == stored["totals"]  # the same seed adds nothing
    assert "The demo's 60 sessions were already in organization acme: nothing added." in again.output
    assert "Added" not in again.output

    more = CliRunner().invoke(app, ["demo", "--sessions", "70", "--database-url", url, "--org", "acme"])
    assert "Added 10 demo sessions" in more.output and "60 were already there" in more.output


def test_serve_loads_the_demo_only_when_it_creates_the_ready_key(tmp_path: Path) -> None:
    url, key_file, log = f"sqlite:///{tmp_path}/heliograph.db", tmp_path / "api-key", tmp_path / "server.log"
    counts = []
    for _ in range(2):
        server = start_server(url, log, "--ready-key", str(key_file), "--demo")
        try:
            key = key_file.read_text().strip()
            response = httpx.post(
                f"{server.base_url}/v1/session/count",
                json=query_body(),
                headers={"Authorization": f"Bearer {key}"},
            )
            counts.append(response.json()["data"]["count"])
        finally:
            stop_server(server)
    assert counts == [500, 500]
    assert log.read_text().count("Added 500 demo sessions") == 1


def test_demo_on_serve_needs_a_ready_key(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["serve", "--demo", "--database-url", f"sqlite:///{tmp_path}/x.db"])
    assert result.exit_code == 2
    assert "--demo needs --ready-key" in result.output
