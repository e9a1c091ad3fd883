"""`/metrics` shows counters summed over every organization: loopback clients only, or a token.

No test connects from outside 127.0.0.0/8: a remote peer is an address given to an in-process ASGI
transport, and the loopback rule is checked on its function.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from heliograph.api.routes.metrics import is_loopback_client
from heliograph.app import create_app
from heliograph.config import Settings
from support import Server, start_server, stop_server

TOKEN = "scrape-token-0123456789"


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.10", True),
        ("::1", True),
        ("10.0.0.5", False),
        ("192.168.1.20", False),
        ("203.0.113.5", False),
        ("::ffff:10.0.0.5", False),
        ("fe80::1", False),
        ("testclient", False),
        (None, False),
    ],
)
def test_the_loopback_rule(host: str | None, loopback: bool) -> None:
    assert is_loopback_client(host) is loopback


def test_without_a_token_a_remote_client_gets_403_naming_the_setting() -> None:
    """The counters were open to anyone; the ASGI transport stands for a peer at 203.0.113.5."""
    app = create_app(Settings(), migrate=False)  # the refusal comes before anything the lifespan builds

    async def scrape() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, client=("203.0.113.5", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://heliograph") as client:
            return await client.get("/metrics")

    response = asyncio.run(scrape())
    assert response.status_code == 403
    assert "HELIOGRAPH_METRICS_TOKEN" in response.json()["error"]


def test_a_loopback_client_scrapes_without_a_token(server: Server) -> None:
    response = httpx.get(f"{server.base_url}/metrics", timeout=10)
    assert response.status_code == 200
    assert "heliograph_ingest_committed_total" in response.text


@pytest.fixture(scope="module")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder: Path = tmp_path_factory.mktemp("metrics-token")
    running = start_server(
        f"sqlite:///{folder / 'heliograph.db'}",
        folder / "server.log",
        env={"HELIOGRAPH_METRICS_TOKEN": TOKEN},
    )
    yield running
    stop_server(running)


@pytest.mark.parametrize(
    ("authorization", "status"),
    [
        pytest.param(None, 401, id="none"),
        pytest.param("Bearer wrong-token", 401, id="wrong"),
        pytest.param(TOKEN, 401, id="no-scheme"),
        pytest.param(f"Bearer {TOKEN}", 200, id="the-token"),
    ],
)
def test_with_a_token_a_scrape_must_send_it(
    token_server: Server, authorization: str | None, status: int
) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = httpx.get(f"{token_server.base_url}/metrics", headers=headers, timeout=10)
    assert response.status_code == status
