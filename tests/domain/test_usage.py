"""Tests for reading token usage out of provider response bodies."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from heliograph.domain.usage import Usage, usage_from_response


def sse(*events: object) -> str:
    """A server-sent-events body with one ``data:`` line per event."""
    return "".join(f"data: {json.dumps(event)}\n\n" for event in events)


def named_sse(*events: dict[str, Any]) -> str:
    """A server-sent-events body with an ``event:`` line naming each event's type."""
    return "".join(f"event: {event['type']}\ndata: {json.dumps(event)}\n\n" for event in events)


def json_lines(*chunks: object) -> str:
    return "\n".join(json.dumps(chunk) for chunk in chunks) + "\n"


OPENAI_CHAT_CHUNKS = [
    {"id": "c1", "object": "chat.completion.chunk", "model": "gpt-4o-mini-2024-07-18", "choices": []},
    {"id": "c1", "model": "gpt-4o-mini-2024-07-18", "choices": [{"index": 0, "delta": {"content": "Hi"}}]},
    {"id": "c1", "model": "gpt-4o-mini-2024-07-18", "choices": [], "usage": None},
    {
        "id": "c1",
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [],
        "usage": {
            "prompt_tokens": 1200,
            "completion_tokens": 7,
            "total_tokens": 1207,
            "prompt_tokens_details": {"cached_tokens": 1024},
        },
    },
]

MANUAL_LOGGER_STREAM = (
    '{"id": "chatcmpl-fake123", "object": "chat.completion.chunk",'
    ' "choices": [{"index": 0, "delta": {"content": "Hel"}}]}\n'
    '{"id": "chatcmpl-fake123", "object": "chat.completion.chunk",'
    ' "choices": [{"index": 0, "delta": {"content": "lo"}}]}\n'
)


def test_usage_defaults_to_zero_tokens_and_not_found() -> None:
    assert Usage() == Usage(0, 0, 0, 0, None, False)
    assert Usage(prompt_tokens=12, completion_tokens=5).total_tokens == 17


def test_openai_chat_completion_reads_prompt_completion_cached_and_reasoning_tokens_and_its_id() -> None:
    body = {
        "id": "chatcmpl-1",
        "model": "gpt-4o-2024-08-06",
        "usage": {
            "prompt_tokens": 2006,
            "completion_tokens": 300,
            "total_tokens": 2306,
            "prompt_tokens_details": {"cached_tokens": 1920},
            "completion_tokens_details": {"reasoning_tokens": 256},
        },
    }
    expected = Usage(
        2006,
        300,
        cache_read_tokens=1920,
        model="gpt-4o-2024-08-06",
        found=True,
        reasoning_tokens=256,
        response_id="chatcmpl-1",
    )
    assert usage_from_response(json_body=body, text_body=None) == expected


@pytest.mark.parametrize(
    "details",
    [
        pytest.param(None, id="details-null"),
        pytest.param({"cached_tokens": None, "audio_tokens": 0}, id="cached-tokens-null"),
        pytest.param([], id="details-a-list"),
    ],
)
def test_openai_chat_completion_without_readable_cache_details_has_no_cache_reads(details: object) -> None:
    body = {"usage": {"prompt_tokens": 12, "completion_tokens": 5, "prompt_tokens_details": details}}
    assert usage_from_response(json_body=body, text_body=None) == Usage(12, 5, found=True)


@pytest.mark.parametrize(
    "text_body",
    [
        pytest.param(sse(*OPENAI_CHAT_CHUNKS) + "data: [DONE]\n\n", id="sse"),
        pytest.param(json_lines(*OPENAI_CHAT_CHUNKS), id="json-lines"),
    ],
)
def test_openai_chat_stream_takes_usage_from_the_last_chunk(text_body: str) -> None:
    expected = Usage(
        1200, 7, cache_read_tokens=1024, model="gpt-4o-mini-2024-07-18", found=True, response_id="c1"
    )
    assert usage_from_response(json_body=None, text_body=text_body) == expected


def test_openai_responses_api_does_not_count_cached_input_twice_and_reads_reasoning_tokens() -> None:
    body = {
        "id": "resp_1",
        "object": "response",
        "model": "o4-mini-2025-04-16",
        "usage": {
            "input_tokens": 3000,
            "input_tokens_details": {"cached_tokens": 2048},
            "output_tokens": 450,
            "output_tokens_details": {"reasoning_tokens": 384},
            "total_tokens": 3450,
        },
    }
    expected = Usage(
        3000,
        450,
        cache_read_tokens=2048,
        model="o4-mini-2025-04-16",
        found=True,
        reasoning_tokens=384,
        response_id="resp_1",
    )
    assert usage_from_response(json_body=body, text_body=None) == expected


def test_openai_responses_stream_takes_usage_from_the_response_completed_event() -> None:
    created = {"type": "response.created", "response": {"model": "gpt-4.1-2025-04-14", "usage": None}}
    delta = {"type": "response.output_text.delta", "delta": "Hi"}
    completed = {
        "type": "response.completed",
        "response": {
            "model": "gpt-4.1-2025-04-14",
            "usage": {"input_tokens": 40, "output_tokens": 9, "input_tokens_details": {"cached_tokens": 0}},
        },
    }
    text_body = named_sse(created, delta, completed)
    assert usage_from_response(json_body=None, text_body=text_body) == Usage(
        prompt_tokens=40, completion_tokens=9, model="gpt-4.1-2025-04-14", found=True
    )


def test_anthropic_message_adds_cache_reads_and_writes_to_the_prompt() -> None:
    body = {
        "type": "message",
        "model": "claude-sonnet-4-20250514",
        "usage": {
            "input_tokens": 100,
            "cache_creation_input_tokens": 1000,
            "cache_read_input_tokens": 5000,
            "output_tokens": 200,
        },
    }
    expected = Usage(100 + 1000 + 5000, 200, 5000, 1000, model="claude-sonnet-4-20250514", found=True)
    assert usage_from_response(json_body=body, text_body=None) == expected


def test_anthropic_message_with_null_cache_fields_counts_only_input_tokens() -> None:
    usage = {"input_tokens": 25, "output_tokens": 3, "cache_read_input_tokens": None}
    body = {"type": "message", "usage": usage | {"cache_creation_input_tokens": None}}
    assert usage_from_response(json_body=body, text_body=None) == Usage(25, 3, found=True)


ANTHROPIC_START = {
    "type": "message_start",
    "message": {
        "type": "message",
        "model": "claude-3-5-sonnet-20241022",
        "usage": {
            "input_tokens": 20,
            "cache_creation_input_tokens": 300,
            "cache_read_input_tokens": 0,
            "output_tokens": 1,
        },
    },
}
ANTHROPIC_EVENTS: list[dict[str, Any]] = [
    ANTHROPIC_START,
    {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Hi"}},
    {"type": "message_delta", "delta": {"stop_reason": None}, "usage": {"output_tokens": 10}},
    {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 42}},
    {"type": "message_stop"},
]


@pytest.mark.parametrize(
    "text_body",
    [
        pytest.param(named_sse(*ANTHROPIC_EVENTS), id="sse"),
        pytest.param(json_lines(*ANTHROPIC_EVENTS), id="json-lines"),
    ],
)
def test_anthropic_stream_takes_output_tokens_from_the_last_message_delta(text_body: str) -> None:
    expected = Usage(20 + 300, 42, cache_write_tokens=300, model="claude-3-5-sonnet-20241022", found=True)
    assert usage_from_response(json_body=None, text_body=text_body) == expected


def test_anthropic_stream_message_delta_input_and_cache_fields_replace_those_of_message_start() -> None:
    delta = {
        "type": "message_delta",
        "usage": {"input_tokens": 22, "cache_read_input_tokens": 1000, "output_tokens": 15},
    }
    expected = Usage(22 + 300 + 1000, 15, 1000, 300, model="claude-3-5-sonnet-20241022", found=True)
    assert usage_from_response(json_body=None, text_body=sse(ANTHROPIC_START, delta)) == expected


def test_manual_logger_stream_without_usage_is_not_found_and_zero() -> None:
    assert usage_from_response(json_body=None, text_body=MANUAL_LOGGER_STREAM) == Usage(
        response_id="chatcmpl-fake123"
    )


def test_stream_without_usage_still_reports_the_model() -> None:
    chunks: list[object] = [{"model": name, "choices": []} for name in ("", "gpt-4o", "gpt-5")]
    assert usage_from_response(json_body=None, text_body=json_lines(*chunks)) == Usage(model="gpt-4o")


def test_single_json_object_sent_as_text_is_read_like_a_json_body() -> None:
    body = {"model": "gpt-4o-mini", "usage": {"prompt_tokens": 12, "completion_tokens": 5}}
    text_body = json.dumps(body, indent=2)
    expected = Usage(12, 5, model="gpt-4o-mini", found=True)
    assert usage_from_response(json_body=None, text_body=text_body) == expected
    assert usage_from_response(json_body=body, text_body=None) == expected


def test_text_body_wins_over_json_body() -> None:
    json_body = {"usage": {"prompt_tokens": 1, "completion_tokens": 1}}
    text_body = json_lines({"usage": {"prompt_tokens": 7, "completion_tokens": 3}})
    assert usage_from_response(json_body=json_body, text_body=text_body) == Usage(7, 3, found=True)


@pytest.mark.parametrize(
    "text_body",
    [pytest.param(None, id="none"), pytest.param("", id="empty"), pytest.param(" \n", id="blank")],
)
def test_missing_or_blank_text_body_falls_back_to_json_body(text_body: str | None) -> None:
    json_body = {"usage": {"prompt_tokens": 1, "completion_tokens": 2}}
    assert usage_from_response(json_body=json_body, text_body=text_body) == Usage(1, 2, found=True)


def test_stream_skips_comments_done_markers_event_lines_and_broken_json() -> None:
    text_body = """: keep-alive
event: ping
id: 7
retry: 1000
data: {not json
data: [1, 2, 3]
data: 42
[DONE]
data:{"usage": {"prompt_tokens": 4, "completion_tokens": 6}}\r
data: [DONE]
{"usage": {"prompt_tokens": 9"""
    assert usage_from_response(json_body=None, text_body=text_body) == Usage(4, 6, found=True)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(12, 12, id="int"),
        pytest.param(12.9, 12, id="float-truncates"),
        pytest.param("12", 12, id="digit-string"),
        pytest.param(" 12 ", 12, id="padded-digit-string"),
        pytest.param("12.0", 12, id="decimal-string"),
        pytest.param(None, 0, id="null"),
        pytest.param(-5, 0, id="negative"),
        pytest.param("-5", 0, id="negative-string"),
        pytest.param("twelve", 0, id="words"),
        pytest.param("", 0, id="empty-string"),
        pytest.param("1e400", 0, id="overflowing-string"),
        pytest.param(float("nan"), 0, id="nan"),
        pytest.param(float("inf"), 0, id="infinity"),
        pytest.param(True, 0, id="bool"),
        pytest.param([12], 0, id="list"),
        pytest.param({"n": 12}, 0, id="object"),
        pytest.param("9" * 5000, 0, id="too-many-digits"),
    ],
)
def test_sloppy_token_counts_become_non_negative_ints(value: object, expected: int) -> None:
    body = {"usage": {"prompt_tokens": value, "completion_tokens": 1}}
    assert usage_from_response(json_body=body, text_body=None) == Usage(expected, 1, found=True)


@pytest.mark.parametrize(
    ("json_body", "text_body"),
    [
        pytest.param(None, None, id="nothing"),
        pytest.param([], None, id="json-list"),
        pytest.param("usage", None, id="json-string"),
        pytest.param(42, None, id="json-number"),
        pytest.param({}, None, id="empty-object"),
        pytest.param({"usage": None}, None, id="usage-null"),
        pytest.param({"usage": []}, None, id="usage-a-list"),
        pytest.param({"usage": {}}, None, id="usage-empty"),
        pytest.param({"usage": {"total_tokens": 5}}, None, id="usage-only-total"),
        pytest.param({"model": 7, "message": [], "response": "x"}, None, id="wrong-types"),
        pytest.param({"type": "message_delta", "usage": {}}, None, id="anthropic-empty-usage"),
        pytest.param(None, "not json at all", id="text-garbage"),
        pytest.param(None, "[" * 100_000, id="text-deeply-nested"),
        pytest.param(None, "{" * 100_000, id="text-deeply-nested-object"),
        pytest.param(None, "\x00\ufffd\n\r\n", id="text-control-characters"),
    ],
)
def test_garbage_input_gives_empty_usage(json_body: object, text_body: str | None) -> None:
    assert usage_from_response(json_body=json_body, text_body=text_body) == Usage()


_FUZZ_KEYS = ["usage", "model", "message", "response", "type", "choices", "cached_tokens"] + [
    f"{name}_tokens{suffix}"
    for name in ("prompt", "completion", "input", "output", "cache_read_input", "cache_creation_input")
    for suffix in ("", "_details")
]
_FUZZ_SCALARS: list[object] = [
    None,
    True,
    -3,
    0,
    7,
    2.5,
    "12",
    "x",
    "message",
    "message_start",
    "message_delta",
]


def _random_value(rng: random.Random, depth: int) -> object:
    roll = rng.random()
    if depth > 4 or roll < 0.4:
        return rng.choice(_FUZZ_SCALARS)
    if roll < 0.55:
        return [_random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {rng.choice(_FUZZ_KEYS): _random_value(rng, depth + 1) for _ in range(rng.randint(0, 5))}


def test_random_nested_bodies_and_streams_never_raise() -> None:
    rng = random.Random(20261126)
    for _ in range(2000):
        chunks = [_random_value(rng, 0) for _ in range(rng.randint(1, 4))]
        for usage in (
            usage_from_response(json_body=chunks[0], text_body=None),
            usage_from_response(json_body=None, text_body=json_lines(*chunks)),
            usage_from_response(json_body=None, text_body=sse(*chunks)),
        ):
            counts = [usage.prompt_tokens, usage.completion_tokens, usage.cache_read_tokens]
            assert all(isinstance(count, int) and count >= 0 for count in [*counts, usage.cache_write_tokens])
            assert usage.model is None or isinstance(usage.model, str)
