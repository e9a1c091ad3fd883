"""API keys: revoked at once, stored only as SHA-256 hashes; keys and bodies never reach the log.

Keys are never compared as text: a request's key is hashed and looked up by its hash (an index
probe), so how long a lookup takes says nothing about the stored key. The tests here check what can
be observed: the database holds no key, a key one character off is refused, a revoked key is
refused by the very next request, and the server's output at the default log level holds neither
keys nor request or response bodies.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from heliograph.cli.main import app
from heliograph.domain.keys import hash_api_key, key_display_prefix
from heliograph.storage.sql.schema import api_keys
from heliograph.storage.sql.store import SqlStore
from support import Cast, Server, log_body, new_tenant, query_body, session_headers, start_server, stop_server

runner = CliRunner()


def _stored_key_rows(database_url: str) -> list[tuple[str, ...]]:
    async def read() -> list[tuple[str, ...]]:
        store = SqlStore.from_url(database_url)
        try:
            async with store.engines.reader.connect() as conn:
                rows = (await conn.execute(sa.select(api_keys))).all()
                return [tuple(str(value) for value in row) for row in rows]
        finally:
            await store.close()

    return asyncio.run(read())


class TestKeys:
    def test_the_database_holds_hashes_and_prefixes_never_a_key(self, cast: Cast) -> None:
        rows = _stored_key_rows(cast.alice.server.database_url)
        everything = "\n".join("\t".join(row) for row in rows)
        for tenant in (cast.alice, cast.alice_second_key, cast.bob):
            assert tenant.key not in everything
            assert hash_api_key(tenant.key) in everything  # the row is there, as its hash

    def test_a_key_one_character_off_is_refused(self, cast: Cast) -> None:
        last = cast.alice.key[-1]
        near = cast.alice.key[:-1] + ("A" if last != "A" else "B")
        response = cast.outsider.post(
            "/v1/session/query", json=query_body(), headers={"Authorization": f"Bearer {near}"}
        )
        assert response.status_code == 401
        assert response.json() == {"data": None, "error": "Invalid API key"}

    def test_a_key_revoked_with_the_cli_fails_on_the_very_next_request(self, server: Server) -> None:
        tenant = new_tenant(server, f"revoke-{uuid.uuid4().hex[:8]}")
        try:
            assert tenant.client.post("/v1/session/query", json=query_body()).status_code == 200
            result = runner.invoke(
                app, ["keys", "revoke", key_display_prefix(tenant.key), "--database-url", server.database_url]
            )
            assert result.exit_code == 0, result.output
            # No cache stands between the key and the database: the next request is refused.
            for path, body in (("/v1/session/query", query_body()), ("/oai/v1/log", log_body())):
                response = tenant.client.post(path, json=body)
                assert response.status_code == 401, response.text
                assert response.json()["error"] == "Invalid API key"
            proxied = httpx.post(
                f"{server.base_url}/openai/v1/chat/completions",
                json={"model": "gpt-4o-mini", "messages": []},
                headers={"Helicone-Auth": f"Bearer {tenant.key}"},
            )
            assert proxied.status_code == 401
        finally:
            tenant.client.close()


@pytest.fixture
def quiet_server(database_url: str, fake_upstream: str, tmp_path: Path) -> Iterator[Server]:
    """A server of its own at the default log level, its output unbuffered into one file."""
    running = start_server(
        database_url,
        tmp_path / "server.log",
        "--openai-base-url",
        f"{fake_upstream}/v1",
        env={"PYTHONUNBUFFERED": "1", "HELIOGRAPH_LOG_LEVEL": "info"},
    )
    yield running
    stop_server(running)  # again, if the test stopped before it did


def test_keys_and_bodies_never_appear_in_the_server_log(quiet_server: Server) -> None:
    marker = f"body-marker-{uuid.uuid4().hex}"
    tenant = new_tenant(quiet_server, f"logs-{uuid.uuid4().hex[:8]}")
    wrong_key = f"sk-hg-wrong-{uuid.uuid4().hex}"
    try:
        client = tenant.client
        session = session_headers(f"s-{marker}", "/p", **{"Helicone-Property-Note": marker})
        assert client.post("/oai/v1/log", json=log_body(content=marker), headers=session).status_code == 200
        bad = {**log_body(content=marker), "providerResponse": {"status": "x", "json": {"m": marker}}}
        assert client.post("/oai/v1/log", json=bad).status_code == 400
        assert client.post("/v1/session/query", json=query_body(search=marker)).status_code == 200
        assert client.post("/v1/session/query", json={"search": marker}).status_code == 422
        refused = httpx.post(
            f"{quiet_server.base_url}/v1/session/query",
            json=query_body(search=marker),
            headers={"Authorization": f"Bearer {wrong_key}"},
        )
        assert refused.status_code == 401
        proxied = httpx.post(
            f"{quiet_server.base_url}/openai/v1/chat/completions",
            json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": marker}]},
            headers={"Helicone-Auth": f"Bearer {tenant.key}", "Authorization": f"Bearer {wrong_key}"},
            timeout=30,
        )
        assert proxied.status_code == 200, proxied.text
    finally:
        tenant.client.close()
        stop_server(quiet_server)
    log = quiet_server.log_path.read_text(errors="replace")
    # The whole output was captured, to the server's last line.
    assert "Application startup complete" in log and "Finished server process" in log
    for secret in (tenant.key, wrong_key, hash_api_key(tenant.key), marker):
        assert secret not in log
