"""When the upstream fails: its errors reach the caller as they are, the gateway's are JSON; all are logged.

An upstream 4xx/5xx is relayed with its status and body. An upstream that cannot be reached gets 502,
one that does not answer in time 504 (extra servers with other settings), and a stream that the
upstream drops half-way ends the caller's stream early and is logged as 502.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from gateway.gateway_support import (
    UPSTREAM_KEY,
    chat_body,
    extra_server,
    gateway_headers,
    marker,
    messages_body,
    metrics,
    module_tenant,
    sent_with,
    wait_for_request,
)
from heliograph.testing.fake_upstream import WORDS
from support import Server, Tenant, free_port

alice = module_tenant("alice")

BAD_GATEWAY, GATEWAY_TIMEOUT = 502, 504


@pytest.fixture(scope="module")
def faulty_server(
    database_url: str, fake_upstream: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """A server on the same database whose OpenAI upstream is a port nobody listens on, and whose
    Anthropic upstream is the fake one, waited on for at most 1 s (one server for both, to start once)."""
    env = {
        "HELIOGRAPH_OPENAI_BASE_URL": f"http://127.0.0.1:{free_port()}/v1",
        "HELIOGRAPH_ANTHROPIC_BASE_URL": fake_upstream,
        "HELIOGRAPH_UPSTREAM_READ_TIMEOUT": "1",
    }
    with extra_server(database_url, tmp_path_factory.mktemp("faulty") / "server.log", env) as running:
        yield running


REFUSED_ROUTE, SLOW_ROUTE = "/openai/v1/chat/completions", "/anthropic/v1/messages"


def _post(base_url: str, path: str, body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        return client.post(path, json=body, headers=headers)


class TestUpstreamErrorAnswers:
    @pytest.mark.parametrize(
        ("route", "upstream_path", "build", "status", "stream", "provider"),
        [
            pytest.param(
                "/openai/v1/chat/completions",
                "/v1/chat/completions",
                chat_body,
                400,
                False,
                "OPENAI",
                id="openai-400",
            ),
            pytest.param(
                "/openai/v1/chat/completions",
                "/v1/chat/completions",
                chat_body,
                429,
                True,
                "OPENAI",
                id="openai-429-streamed",
            ),
            pytest.param(
                "/openai/v1/chat/completions",
                "/v1/chat/completions",
                chat_body,
                500,
                False,
                "OPENAI",
                id="openai-500",
            ),
            pytest.param(
                "/anthropic/v1/messages",
                "/v1/messages",
                messages_body,
                401,
                False,
                "ANTHROPIC",
                id="anthropic-401",
            ),
            pytest.param(
                "/anthropic/v1/messages",
                "/v1/messages",
                messages_body,
                529,
                True,
                "ANTHROPIC",
                id="anthropic-529-streamed",
            ),
        ],
    )
    def test_the_caller_gets_the_upstreams_status_and_body_and_the_call_is_logged_with_that_status(
        self,
        server: Server,
        fake_upstream: str,
        alice: Tenant,
        route: str,
        upstream_path: str,
        build: Any,
        status: int,
        stream: bool,
        provider: str,
    ) -> None:
        text = marker()
        body = build(text, model=f"fail-{status}", stream=stream)
        expected = httpx.post(f"{fake_upstream}{upstream_path}", json=body, timeout=30)
        assert expected.status_code == status

        response = _post(server.base_url, route, body, gateway_headers(alice.key))

        assert response.status_code == status
        assert response.content == expected.content
        assert response.json() == {"error": {"message": f"fake failure {status}", "type": "server_error"}}
        assert len(sent_with(text)) == 2  # once directly, once through the gateway: no retry
        record = wait_for_request(alice.client, response.headers["helicone-id"])
        assert record["response_status"] == status
        assert record["response_body"] == expected.json()
        assert record["provider"] == provider
        assert record["model"] == f"fail-{status}"
        assert (record["prompt_tokens"], record["completion_tokens"], record["cost"]) == (0, 0, 0)

    def test_the_openai_sdk_raises_the_upstreams_error(self, server: Server, alice: Tenant) -> None:
        with (
            openai.OpenAI(
                base_url=f"{server.base_url}/openai/v1",
                api_key=UPSTREAM_KEY,
                default_headers={"Helicone-Auth": f"Bearer {alice.key}"},
                max_retries=0,
            ) as client,
            pytest.raises(openai.InternalServerError) as raised,
        ):
            client.chat.completions.create(model="fail-503", messages=[{"role": "user", "content": marker()}])
        assert raised.value.status_code == 503
        assert "fake failure 503" in str(raised.value)
        record = wait_for_request(alice.client, raised.value.response.headers["helicone-id"])
        assert record["response_status"] == 503


class TestUnreachableUpstream:
    def test_a_refused_connection_gets_502_with_a_clear_message_and_is_logged_as_502(
        self, faulty_server: Server, alice: Tenant
    ) -> None:
        request_id, session_id = str(uuid.uuid4()), f"refused-{uuid.uuid4()}"
        headers = gateway_headers(
            alice.key, **{"Helicone-Request-Id": request_id, "Helicone-Session-Id": session_id}
        )
        before = metrics(faulty_server.base_url)

        response = _post(faulty_server.base_url, REFUSED_ROUTE, chat_body(marker()), headers)

        assert response.status_code == BAD_GATEWAY
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {"data": None, "error": "The upstream could not be reached (ConnectError)"}
        record = wait_for_request(alice.client, request_id)  # the same database as the main server
        assert record["response_status"] == BAD_GATEWAY
        assert record["provider"] == "OPENAI"
        assert record["properties"]["Helicone-Session-Id"] == session_id
        assert record["time_to_first_token"] is None
        after = metrics(faulty_server.base_url)
        assert after["heliograph_gateway_calls_total"] == before["heliograph_gateway_calls_total"] + 1
        assert (
            after["heliograph_gateway_upstream_errors_total"]
            == before["heliograph_gateway_upstream_errors_total"] + 1
        )

    def test_the_502_answer_names_the_request_id_it_is_logged_under(
        self, faulty_server: Server, alice: Tenant
    ) -> None:
        response = _post(
            faulty_server.base_url, REFUSED_ROUTE, chat_body(marker()), gateway_headers(alice.key)
        )
        assert response.status_code == BAD_GATEWAY
        assert "helicone-id" in response.headers, "the caller cannot find the logged 502 call"
        record = wait_for_request(alice.client, response.headers["helicone-id"])
        assert record["response_status"] == BAD_GATEWAY


class TestSlowUpstream:
    def test_an_upstream_that_does_not_answer_in_time_gets_504_and_is_logged_as_504(
        self, faulty_server: Server, alice: Tenant
    ) -> None:
        text, request_id = marker(), str(uuid.uuid4())
        headers = gateway_headers(alice.key, **{"Helicone-Request-Id": request_id})

        response = _post(faulty_server.base_url, SLOW_ROUTE, messages_body(text, model="slow"), headers)

        assert response.status_code == GATEWAY_TIMEOUT
        assert response.headers["content-type"] == "application/json"
        assert response.json() == {"data": None, "error": "The upstream did not answer in time"}
        assert len(sent_with(text)) == 1  # the upstream got the call; it just never answered
        record = wait_for_request(alice.client, request_id)
        assert record["response_status"] == GATEWAY_TIMEOUT
        assert record["provider"] == "ANTHROPIC"
        assert record["model"] == "slow"

    def test_the_504_answer_names_the_request_id_it_is_logged_under(
        self, faulty_server: Server, alice: Tenant
    ) -> None:
        body = messages_body(marker(), model="slow")
        response = _post(faulty_server.base_url, SLOW_ROUTE, body, gateway_headers(alice.key))
        assert response.status_code == GATEWAY_TIMEOUT
        assert "helicone-id" in response.headers, "the caller cannot find the logged 504 call"
        record = wait_for_request(alice.client, response.headers["helicone-id"])
        assert record["response_status"] == GATEWAY_TIMEOUT

    def test_a_stream_whose_chunks_keep_coming_outlives_the_read_timeout(
        self, faulty_server: Server, alice: Tenant
    ) -> None:
        # The read timeout bounds the silence between chunks, not the whole answer (~5 x PAUSE_S here).
        body = messages_body(marker(), stream=True)
        response = _post(faulty_server.base_url, SLOW_ROUTE, body, gateway_headers(alice.key))
        assert response.status_code == 200
        assert response.content.endswith(b'event: message_stop\ndata: {"type":"message_stop"}\n\n')
        assert wait_for_request(alice.client, response.headers["helicone-id"])["response_status"] == 200


class TestStreamCutByTheUpstream:
    def test_the_callers_stream_ends_early_and_the_call_is_logged_as_502(
        self, server: Server, alice: Tenant
    ) -> None:
        received: list[bytes] = []
        failed: Exception | None = None
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            try:
                with client.stream(
                    "POST",
                    "/openai/v1/chat/completions",
                    json=chat_body(marker(), model="cut", stream=True),
                    headers=gateway_headers(alice.key),
                ) as response:
                    assert response.status_code == 200  # the status was sent before the upstream failed
                    request_id = response.headers["helicone-id"]
                    received.extend(response.iter_raw())
            except httpx.TransportError as exc:
                failed = exc

        body = b"".join(received)
        # The caller learns the stream is incomplete: its connection is cut (today) or, at least, the
        # stream ends without the upstream's closing [DONE].
        assert failed is None or isinstance(failed, httpx.RemoteProtocolError), failed
        assert b"[DONE]" not in body
        assert b'"finish_reason":"stop"' not in body
        assert [word.encode() in body for word in WORDS] == [True, True, False, False, False]
        record = wait_for_request(alice.client, request_id)
        assert record["response_status"] == BAD_GATEWAY
        assert record["time_to_first_token"] is not None
        assert WORDS[1] in record["response_body"]
