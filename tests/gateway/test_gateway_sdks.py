"""The real `openai` and `anthropic` SDKs call the fake upstream through the gateway; the calls are logged.

Each call is found again through `GET /v1/request/{id}` (the id comes back in the `helicone-id` header)
and `/v1/session/query`, with its session, path, properties, user, tokens, model, provider, status and
cost; session feedback works on the logged calls. The log is written after the answer, so reads poll.
"""

from __future__ import annotations

import uuid
from typing import Any

import anthropic
import httpx
import httpx2
import openai
import pytest
from anthropic.types import RawContentBlockDeltaEvent, TextDelta

from gateway.gateway_support import (
    CLAUDE_COST_USD,
    CLAUDE_MODEL,
    GPT_COST_USD,
    GPT_MODEL,
    TEXT,
    UPSTREAM_KEY,
    marker,
    module_tenant,
    sent_with,
    wait_for_request,
    wait_for_session,
)
from heliograph.testing.fake_upstream import COMPLETION_TOKENS, PROMPT_TOKENS
from support import Cast, Server, Tenant

FEEDBACK = "Helicone-Session-Feedback"
alice = module_tenant("alice")
STREAMED = [pytest.param(False, id="non-streamed"), pytest.param(True, id="streamed")]


def _helicone_headers(tenant: Tenant, session_id: str, path: str, **extra: str) -> dict[str, str]:
    return {
        "Helicone-Auth": f"Bearer {tenant.key}",
        "Helicone-Session-Id": session_id,
        "Helicone-Session-Path": path,
        "Helicone-Session-Name": "Trip planner",
        "Helicone-Property-Prompt-Version": "B",
        "Helicone-User-Id": "user-7",
        **extra,
    }


class _Recorder:
    """The headers of every request an SDK sends, as its own HTTP client saw them (an httpx event hook)."""

    def __init__(self) -> None:
        self.headers: list[dict[str, str]] = []

    def __call__(self, request: httpx.Request | httpx2.Request) -> None:
        self.headers.append({name.lower(): value for name, value in request.headers.multi_items()})

    def openai_client(self) -> httpx.Client:
        return httpx.Client(event_hooks={"request": [self]})

    def anthropic_client(self) -> httpx2.Client:  # this Anthropic SDK is built on httpx2
        return httpx2.Client(event_hooks={"request": [self]})


def _openai(server: Server, headers: dict[str, str], recorder: _Recorder | None = None) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{server.base_url}/openai/v1",
        api_key=UPSTREAM_KEY,
        default_headers=headers,
        max_retries=0,
        http_client=(recorder or _Recorder()).openai_client(),
    )


def _anthropic(
    server: Server, headers: dict[str, str], recorder: _Recorder | None = None
) -> anthropic.Anthropic:
    # The Anthropic SDK appends /v1/messages to its base URL.
    return anthropic.Anthropic(
        base_url=f"{server.base_url}/anthropic",
        api_key=UPSTREAM_KEY,
        default_headers=headers,
        max_retries=0,
        http_client=(recorder or _Recorder()).anthropic_client(),
    )


def _ask_openai(client: openai.OpenAI, text: str, *, stream: bool) -> tuple[str, str]:
    """The answer's text and its request id, through the OpenAI SDK."""
    messages: Any = [{"role": "user", "content": text}]
    raw = client.chat.completions.with_raw_response.create(model=GPT_MODEL, messages=messages, stream=stream)
    request_id = raw.headers["helicone-id"]
    if not stream:
        completion = raw.parse()
        assert completion.usage is not None
        assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (
            PROMPT_TOKENS,
            COMPLETION_TOKENS,
        )
        return completion.choices[0].message.content or "", request_id
    with raw.parse() as chunks:
        pieces = [chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices]
    return "".join(pieces), request_id


def _ask_anthropic(client: anthropic.Anthropic, text: str, *, stream: bool) -> tuple[str, str]:
    """The answer's text and its request id, through the Anthropic SDK."""
    messages: Any = [{"role": "user", "content": text}]
    raw = client.messages.with_raw_response.create(
        model=CLAUDE_MODEL, max_tokens=32, messages=messages, stream=stream
    )
    request_id = raw.headers["helicone-id"]
    if not stream:
        message = raw.parse()
        assert (message.usage.input_tokens, message.usage.output_tokens) == (PROMPT_TOKENS, COMPLETION_TOKENS)
        return "".join(block.text for block in message.content if block.type == "text"), request_id
    with raw.parse() as events:
        pieces = [
            event.delta.text
            for event in events
            if isinstance(event, RawContentBlockDeltaEvent) and isinstance(event.delta, TextDelta)
        ]
    return "".join(pieces), request_id


def _assert_logged_call(
    record: dict[str, Any],
    *,
    session_id: str,
    path: str,
    provider: str,
    model: str,
    cost_usd: float,
    stream: bool,
) -> None:
    properties = record["properties"]
    assert properties["Helicone-Session-Id"] == session_id
    assert properties["Helicone-Session-Path"] == path
    assert properties["Helicone-Session-Name"] == "Trip planner"
    assert properties["prompt-version"] == "B"  # Helicone-Property-<Name>: the key is lowercased
    assert "Prompt-Version" not in properties
    assert not any(key.lower() == "helicone-auth" for key in properties)
    assert record["request_user_id"] == "user-7"
    assert record["response_status"] == 200
    assert record["provider"] == provider
    assert record["model"] == model
    assert (record["prompt_tokens"], record["completion_tokens"], record["total_tokens"]) == (
        PROMPT_TOKENS,
        COMPLETION_TOKENS,
        PROMPT_TOKENS + COMPLETION_TOKENS,
    )
    assert record["cost"] == pytest.approx(cost_usd, rel=1e-9)
    assert record["cost_unknown"] is False
    if stream:
        assert record["time_to_first_token"] is not None
        assert 0 <= record["time_to_first_token"] < record["delay_ms"]
    else:
        assert record["time_to_first_token"] is None


def _assert_forwarded_untouched(sent: dict[str, Any], sdk_sent: dict[str, str]) -> None:
    """The upstream got every header the SDK sent, same value, except Helicone-* and per-hop ones."""
    received = sent["headers"]
    assert received["authorization"] == f"Bearer {UPSTREAM_KEY}"
    assert [name for name in received if name.startswith("helicone-")] == []
    per_hop = {"host", "content-length", "connection", "accept-encoding", "transfer-encoding"}
    expected = {k: v for k, v in sdk_sent.items() if not k.startswith("helicone-") and k not in per_hop}
    assert {k: received.get(k) for k in expected} == expected


class TestOpenAISdk:
    @pytest.mark.parametrize("stream", STREAMED)
    def test_a_call_is_answered_and_logged_with_its_session_properties_user_tokens_and_cost(
        self, server: Server, alice: Tenant, stream: bool
    ) -> None:
        session_id, text, recorder = f"sdk-openai-{uuid.uuid4()}", marker(), _Recorder()
        with _openai(server, _helicone_headers(alice, session_id, "plan/search"), recorder) as client:
            answer, request_id = _ask_openai(client, text, stream=stream)

        assert answer == TEXT
        record = wait_for_request(alice.client, request_id)
        _assert_logged_call(
            record,
            session_id=session_id,
            path="/plan/search",  # the missing leading slash is added
            provider="OPENAI",
            model=GPT_MODEL,
            cost_usd=GPT_COST_USD,
            stream=stream,
        )
        (sent,) = sent_with(text)
        _assert_forwarded_untouched(sent, recorder.headers[-1])
        assert sent["path"] == "/v1/chat/completions"

        row = wait_for_session(alice.client, session_id, requests=1)
        assert row["total_requests"] == 1
        assert row["session_name"] == "Trip planner"
        assert (row["prompt_tokens"], row["completion_tokens"]) == (PROMPT_TOKENS, COMPLETION_TOKENS)
        assert row["total_cost"] == pytest.approx(GPT_COST_USD, rel=1e-9)
        assert row["user_ids"] == ["user-7"]
        assert row["feedback"] is None

    def test_a_caller_chosen_request_id_is_the_logged_id(self, server: Server, alice: Tenant) -> None:
        session_id, chosen = f"sdk-id-{uuid.uuid4()}", str(uuid.uuid4())
        headers = _helicone_headers(alice, session_id, "/", **{"Helicone-Request-Id": chosen})
        with _openai(server, headers) as client:
            _, request_id = _ask_openai(client, marker(), stream=False)
        assert request_id == chosen
        assert wait_for_request(alice.client, chosen)["properties"]["Helicone-Session-Id"] == session_id

    def test_another_organization_cannot_see_the_logged_call(self, server: Server, cast: Cast) -> None:
        session_id = f"sdk-private-{uuid.uuid4()}"
        with _openai(server, _helicone_headers(cast.alice, session_id, "/")) as client:
            _, request_id = _ask_openai(client, marker(), stream=False)
        wait_for_request(cast.alice.client, request_id)
        assert cast.bob.client.get(f"/v1/request/{request_id}").status_code == 404
        assert (
            cast.bob.client.post(f"/v1/session/{session_id}/feedback", json={"rating": True}).status_code
            == 404
        )


class TestAnthropicSdk:
    @pytest.mark.parametrize("stream", STREAMED)
    def test_a_call_is_answered_and_logged_with_its_session_properties_user_tokens_and_cost(
        self, server: Server, alice: Tenant, stream: bool
    ) -> None:
        session_id, text, recorder = f"sdk-anthropic-{uuid.uuid4()}", marker(), _Recorder()
        with _anthropic(server, _helicone_headers(alice, session_id, "/plan"), recorder) as client:
            answer, request_id = _ask_anthropic(client, text, stream=stream)

        assert answer == TEXT
        record = wait_for_request(alice.client, request_id)
        _assert_logged_call(
            record,
            session_id=session_id,
            path="/plan",
            provider="ANTHROPIC",
            model=CLAUDE_MODEL,
            cost_usd=CLAUDE_COST_USD,
            stream=stream,
        )
        (sent,) = sent_with(text)
        _assert_forwarded_untouched(sent, recorder.headers[-1])
        assert sent["path"] == "/v1/messages"
        assert sent["headers"]["anthropic-version"] == recorder.headers[-1]["anthropic-version"]

        row = wait_for_session(alice.client, session_id, requests=1)
        assert (row["prompt_tokens"], row["completion_tokens"]) == (PROMPT_TOKENS, COMPLETION_TOKENS)
        assert row["total_cost"] == pytest.approx(CLAUDE_COST_USD, rel=1e-9)
        assert row["user_ids"] == ["user-7"]


class TestSessionFeedbackOnGatewayCalls:
    def test_feedback_marks_the_first_call_of_a_session_made_through_both_sdks(
        self, server: Server, alice: Tenant
    ) -> None:
        session_id = f"sdk-feedback-{uuid.uuid4()}"
        with _openai(server, _helicone_headers(alice, session_id, "/plan")) as client:
            _, first = _ask_openai(client, marker(), stream=False)
        wait_for_request(alice.client, first)  # the next call must start after this one
        with _anthropic(server, _helicone_headers(alice, session_id, "/plan/search")) as client:
            _, second = _ask_anthropic(client, marker(), stream=True)
        with _openai(server, _helicone_headers(alice, session_id, "/plan/summary")) as client:
            _, third = _ask_openai(client, marker(), stream=True)
        wait_for_session(alice.client, session_id, requests=3)

        response = alice.client.post(f"/v1/session/{session_id}/feedback", json={"rating": True})
        assert response.status_code == 200
        assert response.json() == {"data": None, "error": None}
        assert wait_for_request(alice.client, first)["properties"][FEEDBACK] == "1"
        for later in (second, third):
            assert FEEDBACK not in wait_for_request(alice.client, later)["properties"]

        assert (
            alice.client.post(f"/v1/session/{session_id}/feedback", json={"rating": False}).status_code == 200
        )
        assert wait_for_request(alice.client, first)["properties"][FEEDBACK] == "0"
        row = wait_for_session(alice.client, session_id, requests=3)
        assert row["feedback"] is False
        assert row["total_requests"] == 3
        assert row["prompt_tokens"] == 3 * PROMPT_TOKENS
        assert row["completion_tokens"] == 3 * COMPLETION_TOKENS
        assert row["total_cost"] == pytest.approx(2 * GPT_COST_USD + CLAUDE_COST_USD, rel=1e-9)

        detail = alice.client.get(f"/v1/session/{session_id}").json()["data"]
        assert detail["requests"][0]["request_id"] == first
        assert sorted(r["properties"]["Helicone-Session-Path"] for r in detail["requests"]) == [
            "/plan",
            "/plan/search",
            "/plan/summary",
        ]
        assert sorted(r["provider"] for r in detail["requests"]) == ["ANTHROPIC", "OPENAI", "OPENAI"]
