"""What the gateway lets through, and what it refuses before anything reaches the upstream.

The caller's `Authorization` goes to the upstream untouched and no `Helicone-*` header does; Heliograph's
own key travels in `Helicone-Auth`. A missing or bad key, a bad `Helicone-Target-Url` or a malformed
Helicone header is refused with a JSON error and the upstream never hears of the call.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from gateway.gateway_support import (
    GPT_COST_USD,
    GPT_MODEL,
    TEXT,
    UPSTREAM_KEY,
    chat_body,
    gateway_headers,
    marker,
    messages_body,
    module_tenant,
    sent_with,
    wait_for_request,
)
from heliograph.testing.fake_upstream import COMPLETION_TOKENS, PROMPT_TOKENS
from support import Server, Tenant

alice = module_tenant("alice")

ROUTES = [
    pytest.param("/openai/v1/chat/completions", chat_body, id="openai"),
    pytest.param("/anthropic/v1/messages", messages_body, id="anthropic"),
    pytest.param("/gateway/chat/completions", chat_body, id="gateway"),
]


def _post(server: Server, path: str, body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        return client.post(path, json=body, headers=headers)


class TestWhatTheUpstreamReceives:
    def test_the_callers_authorization_and_other_headers_arrive_untouched_and_no_helicone_header_does(
        self, server: Server, alice: Tenant
    ) -> None:
        text = marker()
        headers = gateway_headers(
            alice.key,
            **{
                "Helicone-Session-Id": f"fwd-{uuid.uuid4()}",
                "Helicone-Property-Team": "search",
                "Helicone-User-Id": "user-1",
                "OpenAI-Organization": "org-caller",
                "X-Custom-Trace": "trace-42",
            },
        )
        response = _post(server, "/openai/v1/chat/completions", chat_body(text), headers)

        assert response.status_code == 200, response.text
        (sent,) = sent_with(text)
        received = sent["headers"]
        assert received["authorization"] == f"Bearer {UPSTREAM_KEY}"
        assert received["openai-organization"] == "org-caller"
        assert received["x-custom-trace"] == "trace-42"
        assert [name for name in received if name.startswith("helicone-")] == []
        assert sent["body"] == chat_body(text)
        assert sent["path"] == "/v1/chat/completions"

    def test_the_query_string_reaches_the_upstream(self, server: Server, alice: Tenant) -> None:
        text = marker()
        path = "/openai/v1/chat/completions?api-version=2024-10-21&x=a%20b"
        assert _post(server, path, chat_body(text), gateway_headers(alice.key)).status_code == 200
        (sent,) = sent_with(text)
        if "query" not in sent:
            pytest.skip(
                "needs fake_upstream: SENT entries recording the query string ('query': request.url.query)"
            )
        assert sent["query"] == "api-version=2024-10-21&x=a%20b"

    def test_any_method_and_path_is_forwarded_and_the_upstreams_answer_logged(
        self, server: Server, fake_upstream: str, alice: Tenant
    ) -> None:
        expected = httpx.get(f"{fake_upstream}/v1/models", timeout=30)  # a path the fake does not serve
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            response = client.get("/openai/v1/models", headers=gateway_headers(alice.key))
        assert (response.status_code, response.content) == (expected.status_code, expected.content)
        assert response.status_code == 404
        record = wait_for_request(alice.client, response.headers["helicone-id"])
        assert record["response_status"] == 404
        assert record["target_url"] == f"{fake_upstream}/v1/models"
        assert record["model"] == "unknown"
        assert record["cost_unknown"] is True

    def test_the_upstream_is_not_offered_compression_so_the_relayed_bytes_can_be_read_for_usage(
        self, server: Server, alice: Tenant
    ) -> None:
        # The gateway drops the caller's Accept-Encoding so that it can read usage from what it relays;
        # the upstream must then not be offered compression by anyone else either.
        text = marker()
        headers = gateway_headers(alice.key, **{"Accept-Encoding": "gzip, br"})
        assert _post(server, "/openai/v1/chat/completions", chat_body(text), headers).status_code == 200
        (sent,) = sent_with(text)
        assert sent["headers"].get("accept-encoding", "identity") == "identity"

    def test_a_compressing_upstream_still_yields_tokens_and_cost_in_the_log(
        self, server: Server, fake_upstream: str, alice: Tenant
    ) -> None:
        model = f"{GPT_MODEL}-gzip"
        probe = httpx.post(
            f"{fake_upstream}/v1/chat/completions",
            json=chat_body("probe", model=model),
            headers={"Accept-Encoding": "gzip"},
            timeout=30,
        )
        if probe.headers.get("content-encoding") != "gzip":
            pytest.skip(
                "needs fake_upstream: models ending in '-gzip' answer non-streamed chat completions "
                "gzip-compressed (Content-Encoding: gzip) when the request's Accept-Encoding allows gzip"
            )
        response = _post(
            server,
            "/openai/v1/chat/completions",
            chat_body(marker(), model=model),
            gateway_headers(alice.key),
        )
        assert response.status_code == 200
        assert response.json()["choices"][0]["message"]["content"] == TEXT
        record = wait_for_request(alice.client, response.headers["helicone-id"])
        assert (record["prompt_tokens"], record["completion_tokens"]) == (PROMPT_TOKENS, COMPLETION_TOKENS)
        assert record["cost"] == pytest.approx(GPT_COST_USD, rel=1e-9)
        assert record["response_body"]["usage"]["total_tokens"] == PROMPT_TOKENS + COMPLETION_TOKENS


class TestWhatTheCallerReceives:
    def test_a_plain_answer_is_the_upstreams_body_with_a_helicone_id(
        self, server: Server, fake_upstream: str, alice: Tenant
    ) -> None:
        body = chat_body(marker())
        expected = httpx.post(f"{fake_upstream}/v1/chat/completions", json=body, timeout=30)
        response = _post(server, "/openai/v1/chat/completions", body, gateway_headers(alice.key))
        assert response.status_code == 200
        assert response.content == expected.content
        assert response.headers["content-type"] == "application/json"
        assert response.json()["choices"][0]["message"]["content"] == TEXT
        assert str(uuid.UUID(response.headers["helicone-id"])) == response.headers["helicone-id"]

    def test_each_header_reaches_the_caller_once(self, server: Server, alice: Tenant) -> None:
        response = _post(
            server, "/openai/v1/chat/completions", chat_body(marker()), gateway_headers(alice.key)
        )
        assert response.status_code == 200
        # The fake sends no list-valued header such as Set-Cookie, so no name may repeat (RFC 9110 5.3).
        names = [name.lower() for name, _ in response.headers.multi_items()]
        assert sorted(name for name in set(names) if names.count(name) > 1) == []


class TestTargetUrlGateway:
    def test_the_gateway_route_forwards_to_the_target_url_like_the_openai_route(
        self, server: Server, fake_upstream: str, alice: Tenant
    ) -> None:
        text = marker()
        headers = gateway_headers(alice.key, **{"Helicone-Target-Url": f"{fake_upstream}/v1"})
        response = _post(server, "/gateway/chat/completions", chat_body(text), headers)

        assert response.status_code == 200, response.text
        assert response.json()["choices"][0]["message"]["content"] == TEXT
        (sent,) = sent_with(text)
        assert sent["path"] == "/v1/chat/completions"
        assert sent["headers"]["authorization"] == f"Bearer {UPSTREAM_KEY}"
        assert [name for name in sent["headers"] if name.startswith("helicone-")] == []
        record = wait_for_request(alice.client, response.headers["helicone-id"])
        assert record["target_url"] == f"{fake_upstream}/v1/chat/completions"
        assert record["provider"] == "CUSTOM"  # an OpenAI-compatible upstream that is not OpenAI's host
        assert record["model"] == GPT_MODEL
        assert (record["prompt_tokens"], record["completion_tokens"]) == (PROMPT_TOKENS, COMPLETION_TOKENS)
        assert record["cost"] == pytest.approx(GPT_COST_USD, rel=1e-9)

    @pytest.mark.parametrize(
        ("target", "reason"),
        [
            pytest.param(None, "Missing Helicone-Target-Url", id="missing"),
            pytest.param("", "Missing Helicone-Target-Url", id="empty"),
            pytest.param("ftp://127.0.0.1/v1", "Invalid Helicone-Target-Url", id="ftp"),
            pytest.param("127.0.0.1:9/v1", "Invalid Helicone-Target-Url", id="no-scheme"),
            pytest.param("http:///v1", "Invalid Helicone-Target-Url", id="no-host"),
        ],
    )
    def test_a_missing_or_non_http_target_url_gets_400_and_reaches_nothing(
        self, server: Server, alice: Tenant, target: str | None, reason: str
    ) -> None:
        text = marker()
        extra = {} if target is None else {"Helicone-Target-Url": target}
        response = _post(
            server, "/gateway/chat/completions", chat_body(text), gateway_headers(alice.key, **extra)
        )
        assert response.status_code == 400
        assert response.json()["data"] is None
        assert response.json()["error"].startswith(reason)
        assert sent_with(text) == []


class TestAuthRefusals:
    @pytest.mark.parametrize(("path", "build"), ROUTES)
    @pytest.mark.parametrize(
        ("auth", "reason"),
        [
            pytest.param(None, "Missing API key", id="no-helicone-auth"),
            pytest.param("Bearer sk-hg-not-a-real-key", "Invalid API key", id="unknown-key"),
            pytest.param("Basic abc", "Malformed Helicone-Auth", id="wrong-scheme"),
        ],
    )
    def test_a_missing_or_bad_helicone_auth_gets_401_and_nothing_reaches_the_upstream(
        self,
        server: Server,
        fake_upstream: str,
        path: str,
        build: Any,
        auth: str | None,
        reason: str,
    ) -> None:
        text = marker()
        headers = {"Authorization": f"Bearer {UPSTREAM_KEY}", "Helicone-Target-Url": f"{fake_upstream}/v1"}
        if auth is not None:
            headers["Helicone-Auth"] = auth
        response = _post(server, path, build(text), headers)
        assert response.status_code == 401
        assert response.json()["data"] is None
        assert response.json()["error"].startswith(reason)
        assert sent_with(text) == []

    @pytest.mark.parametrize(("path", "build"), ROUTES)
    def test_the_heliograph_key_in_authorization_alone_is_not_enough(
        self, server: Server, fake_upstream: str, alice: Tenant, path: str, build: Any
    ) -> None:
        text = marker()
        headers = {"Authorization": f"Bearer {alice.key}", "Helicone-Target-Url": f"{fake_upstream}/v1"}
        response = _post(server, path, build(text), headers)
        assert response.status_code == 401
        assert response.json()["error"].startswith("Missing API key")
        assert "Helicone-Auth" in response.json()["error"]  # the message says where the key goes
        assert sent_with(text) == []


class TestHeliconeHeaderRefusals:
    @pytest.mark.parametrize(
        ("header", "value", "reason"),
        [
            pytest.param(
                "Helicone-Session-Id", "s" * 257, "Invalid Helicone-Session-Id", id="session-id-257"
            ),
            pytest.param(
                "Helicone-Session-Id", "tab\there", "Invalid Helicone-Session-Id", id="session-id-tab"
            ),
            pytest.param(
                "Helicone-Property-Notes", "x" * 4097, "Property 'notes' is too long", id="property-4k"
            ),
        ],
    )
    def test_a_malformed_helicone_header_gets_400_before_anything_is_sent_upstream(
        self, server: Server, alice: Tenant, header: str, value: str, reason: str
    ) -> None:
        text = marker()
        headers = gateway_headers(alice.key, **{header: value})
        response = _post(server, "/openai/v1/chat/completions", chat_body(text), headers)
        assert response.status_code == 400
        assert response.json() == {"data": None, "error": response.json()["error"]}
        assert response.json()["error"].startswith(reason)
        assert sent_with(text) == []

    def test_a_session_id_of_256_characters_is_accepted(self, server: Server, alice: Tenant) -> None:
        session_id = ("s" * 256)[: 256 - 36] + str(uuid.uuid4())
        headers = gateway_headers(alice.key, **{"Helicone-Session-Id": session_id})
        response = _post(server, "/openai/v1/chat/completions", chat_body(marker()), headers)
        assert response.status_code == 200
        record = wait_for_request(alice.client, response.headers["helicone-id"])
        assert record["properties"]["Helicone-Session-Id"] == session_id
