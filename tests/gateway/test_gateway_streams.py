"""Streams pass through the gateway chunk by chunk and byte for byte.

The only change the gateway makes: when a caller streams an OpenAI chat completion without asking for
usage, the gateway asks the upstream for it (to log tokens) and removes that usage-only event from
what the caller receives. The expected bytes are what the fake upstream answers to the same body when
called directly.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from gateway.gateway_support import (
    GPT_COST_USD,
    chat_body,
    gateway_headers,
    marker,
    messages_body,
    module_tenant,
    sent_with,
    wait_for_request,
)
from heliograph.testing.fake_upstream import COMPLETION_TOKENS, PAUSE_S, PROMPT_TOKENS, WORDS
from support import Server, Tenant

alice = module_tenant("alice")

CHAT, MESSAGES = "/v1/chat/completions", "/v1/messages"
CANCELLED_STATUS = -3  # Helicone's status for a stream its caller abandoned


@dataclass
class Received:
    """What the caller saw of one streamed answer, with when each piece arrived."""

    status: int
    headers: httpx.Headers
    chunks: list[bytes]
    first_chunk_s: float  # since the request was sent
    total_s: float

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)


def _stream(client: httpx.Client, path: str, body: dict[str, Any], headers: dict[str, str]) -> Received:
    started = time.perf_counter()
    first: float | None = None
    chunks: list[bytes] = []
    with client.stream("POST", path, json=body, headers=headers) as response:
        for chunk in response.iter_raw():
            if chunk and first is None:
                first = time.perf_counter() - started
            chunks.append(chunk)
    assert first is not None, "the stream was empty"
    return Received(response.status_code, response.headers, chunks, first, time.perf_counter() - started)


def _direct(fake_upstream: str, path: str, body: dict[str, Any]) -> bytes:
    """What the upstream itself answers to `body`."""
    response = httpx.post(f"{fake_upstream}{path}", json=body, timeout=30)
    assert response.status_code == 200, response.text
    return response.content


# (gateway route, upstream path, body builder, stream_options the caller sends)
KINDS = [
    pytest.param("/openai/v1/chat/completions", CHAT, chat_body, None, id="openai-without-usage"),
    pytest.param(
        "/openai/v1/chat/completions", CHAT, chat_body, {"include_usage": True}, id="openai-asking-usage"
    ),
    pytest.param("/anthropic/v1/messages", MESSAGES, messages_body, None, id="anthropic"),
]


def _body(build: Any, text: str, stream_options: dict[str, Any] | None) -> dict[str, Any]:
    body: dict[str, Any] = build(text, stream=True)
    if stream_options is not None:
        body["stream_options"] = stream_options
    return body


class TestStreamedBytes:
    @pytest.mark.parametrize(("route", "upstream_path", "build", "stream_options"), KINDS)
    def test_the_caller_receives_exactly_what_the_upstream_sends_for_the_same_body(
        self,
        server: Server,
        fake_upstream: str,
        alice: Tenant,
        route: str,
        upstream_path: str,
        build: Any,
        stream_options: dict[str, Any] | None,
    ) -> None:
        text = marker()
        body = _body(build, text, stream_options)
        expected = _direct(fake_upstream, upstream_path, body)
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            received = _stream(client, route, body, gateway_headers(alice.key))

        assert received.status == 200
        assert received.headers["content-type"].startswith("text/event-stream")
        assert received.body == expected
        assert received.body.count(b"data: ") == expected.count(b"data: ") > len(WORDS)
        if stream_options is not None:  # the caller asked for the usage chunk: it keeps it
            assert b'"choices":[],"usage":' in received.body

        record = wait_for_request(alice.client, received.headers["helicone-id"])
        assert record["response_status"] == 200
        assert (record["prompt_tokens"], record["completion_tokens"]) == (PROMPT_TOKENS, COMPLETION_TOKENS)

    def test_the_gateway_asks_the_upstream_for_usage_and_hides_that_chunk_from_the_caller(
        self, server: Server, fake_upstream: str, alice: Tenant
    ) -> None:
        text = marker()
        body = chat_body(text, stream=True, stream_options={"include_usage": False})
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            received = _stream(client, "/openai/v1/chat/completions", body, gateway_headers(alice.key))

        (sent,) = sent_with(text)
        assert sent["body"]["stream_options"] == {"include_usage": True}
        assert {k: v for k, v in sent["body"].items() if k != "stream_options"} == {
            k: v for k, v in body.items() if k != "stream_options"
        }
        assert b'"usage"' not in received.body
        assert received.body.endswith(b"data: [DONE]\n\n")
        record = wait_for_request(alice.client, received.headers["helicone-id"])
        assert (record["prompt_tokens"], record["completion_tokens"]) == (PROMPT_TOKENS, COMPLETION_TOKENS)
        assert record["cost"] == pytest.approx(GPT_COST_USD, rel=1e-9)


class TestStreamTiming:
    @pytest.mark.parametrize(
        ("route", "build"),
        [
            pytest.param("/openai/v1/chat/completions", chat_body, id="openai"),
            pytest.param("/anthropic/v1/messages", messages_body, id="anthropic"),
        ],
    )
    def test_the_first_chunk_reaches_the_caller_before_the_upstream_sends_the_last(
        self, server: Server, alice: Tenant, route: str, build: Any
    ) -> None:
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            received = _stream(client, route, build(marker(), stream=True), gateway_headers(alice.key))
        # The upstream pauses PAUSE_S after each of its words; a gateway that buffered the answer
        # would deliver its first chunk together with the last.
        assert received.first_chunk_s < received.total_s - 2 * PAUSE_S
        assert len([chunk for chunk in received.chunks if chunk]) > 2
        record = wait_for_request(alice.client, received.headers["helicone-id"])
        assert 0 <= record["time_to_first_token"] < record["delay_ms"] - 2 * PAUSE_S * 1000


class TestAbandonedStreams:
    def test_a_caller_that_hangs_up_mid_stream_is_logged_as_cancelled(
        self, server: Server, alice: Tenant
    ) -> None:
        session_id = f"abandon-{uuid.uuid4()}"
        headers = gateway_headers(alice.key, **{"Helicone-Session-Id": session_id})
        with (
            httpx.Client(base_url=server.base_url, timeout=30) as client,
            client.stream(
                "POST", "/openai/v1/chat/completions", json=chat_body(marker(), stream=True), headers=headers
            ) as response,
        ):
            request_id = response.headers["helicone-id"]
            first = next(response.iter_raw())
        assert WORDS[0].encode() in first

        record = wait_for_request(alice.client, request_id)
        assert record["response_status"] == CANCELLED_STATUS
        assert record["properties"]["Helicone-Session-Id"] == session_id
        assert record["time_to_first_token"] is not None
