"""`/gateway/*` reaches no internal address unless HELIOGRAPH_GATEWAY_ALLOWED_HOSTS opens it.

The shared `server` fixture allowlists the fake upstream's loopback address (and reaches it, see
test_gateway_forwarding); here a server with the default settings refuses it. The rules for the
other address ranges are checked without traffic in tests/test_netguard.py.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from gateway.gateway_support import chat_body, extra_server, gateway_headers, marker, sent_with
from support import Server, Tenant, new_tenant, query_body


@pytest.fixture(scope="module")
def default_server(fake_upstream: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server with no allowlist, whose configured OpenAI upstream is the fake on loopback."""
    folder = tmp_path_factory.mktemp("default-gateway")
    with extra_server(
        f"sqlite:///{folder / 'heliograph.db'}",
        folder / "server.log",
        {"HELIOGRAPH_OPENAI_BASE_URL": f"{fake_upstream}/v1"},
    ) as running:
        yield running


@pytest.fixture
def carol(default_server: Server) -> Iterator[Tenant]:
    tenant = new_tenant(default_server, "carol")
    yield tenant
    tenant.client.close()


@pytest.mark.parametrize(
    "target",
    [
        pytest.param("http://127.0.0.1:{port}/v1", id="loopback-address"),
        pytest.param("http://localhost:{port}/v1", id="loopback-name"),
        pytest.param("http://[::ffff:127.0.0.1]:{port}/v1", id="ipv4-mapped-loopback"),
        pytest.param("http://0.0.0.0:{port}/v1", id="unspecified"),
    ],
)
def test_the_default_configuration_refuses_a_loopback_target_with_403_naming_the_setting(
    default_server: Server, carol: Tenant, fake_upstream: str, target: str
) -> None:
    text = marker()
    port = fake_upstream.rsplit(":", 1)[1]
    headers = gateway_headers(carol.key, **{"Helicone-Target-Url": target.format(port=port)})
    response = httpx.post(
        f"{default_server.base_url}/gateway/chat/completions",
        json=chat_body(text),
        headers=headers,
        timeout=30,
    )
    assert response.status_code == 403, response.text
    assert response.json()["data"] is None
    assert "HELIOGRAPH_GATEWAY_ALLOWED_HOSTS" in response.json()["error"]
    assert sent_with(text) == []
    assert carol.client.post("/v1/request/query", json={"filter": "all"}).json()["data"] == []
    assert carol.client.post("/v1/session/query", json=query_body()).json()["data"] == []


def test_the_configured_openai_upstream_stays_reachable_on_loopback(
    default_server: Server, carol: Tenant
) -> None:
    text = marker()
    response = httpx.post(
        f"{default_server.base_url}/openai/v1/chat/completions",
        json=chat_body(text),
        headers=gateway_headers(carol.key),
        timeout=30,
    )
    assert response.status_code == 200, response.text
    assert len(sent_with(text)) == 1


def test_an_allowlisted_configuration_reaches_the_loopback_target(server: Server, fake_upstream: str) -> None:
    tenant = new_tenant(server, "dave")
    text = marker()
    headers = gateway_headers(tenant.key, **{"Helicone-Target-Url": f"{fake_upstream}/v1"})
    response = httpx.post(
        f"{server.base_url}/gateway/chat/completions", json=chat_body(text), headers=headers, timeout=30
    )
    tenant.client.close()
    assert response.status_code == 200, response.text
    assert len(sent_with(text)) == 1
