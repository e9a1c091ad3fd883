"""A request's bodies read as a conversation: the captured clients' real requests, and each shape of
OpenAI chat completions, OpenAI responses and Anthropic messages, whole and streamed."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from dashboard.dashboard_support import session_page, stored_request
from heliograph.dashboard.conversation import Conversation, Message, conversation_of

CAPTURES = Path(__file__).parents[1] / "fixtures" / "captured"  # copied from the project's shared fixtures
PNG = "iVBORw0KGgo" * 100  # 1,100 base64 characters: 825 bytes


def _capture(file: str, index: int) -> dict[str, Any]:
    capture: dict[str, Any] = json.loads((CAPTURES / file).read_text())["captures"][index]
    return capture


def _read(request: object, response: object = "") -> Conversation:
    """The conversation of a request and response given as JSON values (or a stream's text)."""
    conversation = conversation_of(
        json.dumps(request), response if isinstance(response, str) else json.dumps(response)
    )
    assert conversation is not None
    return conversation


def _said(messages: list[Message]) -> list[tuple[str, list[tuple[str, str, str]]]]:
    return [(m.role, [(p.kind, p.name, p.text) for p in m.parts]) for m in messages]


class TestCapturedClients:
    def test_the_manual_loggers_chat_and_its_answer(self) -> None:
        body = _capture("manual_logger.json", 0)["body_json"]
        chat = _read(body["providerRequest"]["json"], body["providerResponse"]["json"])
        assert _said(chat.messages) == [
            ("system", [("text", "", "You are terse.")]),
            ("user", [("text", "", "Say hello")]),
        ]
        assert _said(chat.response) == [("assistant", [("text", "", "Hello from the catcher!")])]

    def test_the_manual_loggers_streamed_answer_is_put_back_together(self) -> None:
        body = _capture("manual_logger.json", 2)["body_json"]
        chat = _read(body["providerRequest"]["json"], body["providerResponse"]["textBody"])
        assert _said(chat.response) == [("assistant", [("text", "", "Hello")])]

    def test_the_legacy_wrappers_chat(self) -> None:
        body = _capture("legacy_helicone.json", 1)["body_json"]
        chat = _read(body["providerRequest"]["json"], body["providerResponse"]["json"])
        assert _said(chat.messages) == [("user", [("text", "", "Say hello")])]
        assert chat.response[0].parts[0].text == "Hello from the catcher!"

    def test_the_openai_sdks_request(self) -> None:
        chat = _read(_capture("openai.json", 0)["body_json"])
        assert _said(chat.messages) == [("user", [("text", "", "Say hello")])]
        assert chat.response == []

    def test_a_custom_tool_log_is_no_chat_but_a_custom_prompt_is_a_user_turn(self) -> None:
        body = _capture("manual_logger.json", 1)["body_json"]
        chat = _read(body["providerRequest"]["json"], body["providerResponse"]["json"])
        assert _said(chat.messages) == [("user", [("text", "", "hi")])]
        assert chat.response == []  # {"result": "ok"} is no answer we can read
        assert conversation_of(json.dumps({"name": "search", "kind": "TOOL", "input": "q"}), "{}") is None
        assert conversation_of("not json", "") is None


class TestOpenAIChat:
    def test_tool_calls_tool_results_and_images(self) -> None:
        request = {
            "model": "gpt-4o",
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": "What is in this picture?"},
                        {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}"}},
                        {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
                    ],
                },
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "look", "arguments": '{"x":1}'},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "a cat"},
            ],
        }
        response = {"choices": [{"message": {"role": "assistant", "content": "A cat.", "refusal": None}}]}
        chat = _read(request, response)
        assert _said(chat.messages) == [
            (
                "user",
                [
                    ("text", "", "What is in this picture?"),
                    ("placeholder", "", "image (image/png, 0.8 kB)"),
                    ("placeholder", "", "image: https://example.com/cat.jpg"),
                ],
            ),
            ("assistant", [("tool_call", "look", '{\n  "x": 1\n}')]),
            ("tool", [("tool_result", "call_1", "a cat")]),
        ]
        assert _said(chat.response) == [("assistant", [("text", "", "A cat.")])]

    def test_a_streamed_answer_with_a_tool_call_as_server_sent_events(self) -> None:
        chunks = [
            {"choices": [{"delta": {"role": "assistant", "content": "Let me "}}]},
            {"choices": [{"delta": {"content": "look."}}]},
            {
                "choices": [
                    {"delta": {"tool_calls": [{"index": 0, "function": {"name": "look", "arguments": ""}}]}}
                ]
            },
            {"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": '{"x": '}}]}}]},
            {"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": "2}"}}]}}]},
            {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4}},
        ]
        stream = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
        chat = _read({"messages": [{"role": "user", "content": "hi"}]}, stream)
        assert _said(chat.response) == [
            ("assistant", [("text", "", "Let me look."), ("tool_call", "look", '{\n  "x": 2\n}')])
        ]

    def test_an_error_answer_is_shown_as_an_error(self) -> None:
        chat = _read(
            {"messages": [{"role": "user", "content": "hi"}]}, {"error": {"message": "Rate limited"}}
        )
        assert _said(chat.response) == [("error", [("text", "", "Rate limited")])]


class TestOpenAIResponses:
    def test_instructions_input_items_and_output(self) -> None:
        request = {
            "model": "gpt-4.1",
            "instructions": "Be brief.",
            "input": [
                {"role": "user", "content": [{"type": "input_text", "text": "Weather?"}]},
                {"type": "function_call", "call_id": "c1", "name": "weather", "arguments": '{"city":"Oslo"}'},
                {"type": "function_call_output", "call_id": "c1", "output": "4 °C"},
            ],
        }
        response = {
            "object": "response",
            "output": [
                {"type": "reasoning", "summary": []},
                {
                    "type": "message",
                    "role": "assistant",
                    "content": [{"type": "output_text", "text": "Cold."}],
                },
            ],
        }
        chat = _read(request, response)
        assert _said(chat.messages) == [
            ("system", [("text", "", "Be brief.")]),
            ("user", [("text", "", "Weather?")]),
            ("assistant", [("tool_call", "weather", '{\n  "city": "Oslo"\n}')]),
            ("tool", [("tool_result", "c1", "4 °C")]),
        ]
        assert _said(chat.response) == [
            ("assistant", [("placeholder", "", "reasoning")]),
            ("assistant", [("text", "", "Cold.")]),
        ]

    def test_a_string_input_and_a_streamed_answer(self) -> None:
        completed = {
            "output": [
                {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hi!"}]}
            ]
        }
        events: list[tuple[str, dict[str, Any]]] = [
            ("response.output_text.delta", {"delta": "Hi"}),
            ("response.completed", {"response": completed}),
        ]
        stream = "".join(f"event: {k}\ndata: {json.dumps({'type': k, **v})}\n\n" for k, v in events)
        chat = _read({"model": "gpt-4.1", "input": "Hello"}, stream)
        assert _said(chat.messages) == [("user", [("text", "", "Hello")])]
        assert _said(chat.response) == [("assistant", [("text", "", "Hi!")])]


class TestAnthropicMessages:
    def test_system_blocks_tool_use_tool_results_and_images(self) -> None:
        request = {
            "model": "claude-sonnet-4-5",
            "system": [{"type": "text", "text": "You are a guide."}],
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "image",
                            "source": {"type": "base64", "media_type": "image/jpeg", "data": PNG},
                        },
                        {"type": "text", "text": "Where is this?"},
                    ],
                },
                {
                    "role": "assistant",
                    "content": [
                        {"type": "tool_use", "id": "tu_1", "name": "locate", "input": {"q": "tower"}}
                    ],
                },
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": "tu_1",
                            "content": [{"type": "text", "text": "Paris"}],
                        }
                    ],
                },
            ],
        }
        response = {"type": "message", "role": "assistant", "content": [{"type": "text", "text": "Paris."}]}
        chat = _read(request, response)
        assert _said(chat.messages) == [
            ("system", [("text", "", "You are a guide.")]),
            ("user", [("placeholder", "", "image (image/jpeg, 0.8 kB)"), ("text", "", "Where is this?")]),
            ("assistant", [("tool_call", "locate", '{\n  "q": "tower"\n}')]),
            ("user", [("tool_result", "tu_1", "Paris")]),
        ]
        assert _said(chat.response) == [("assistant", [("text", "", "Paris.")])]

    def test_a_streamed_answer_with_a_tool_call(self) -> None:
        events: list[dict[str, Any]] = [
            {"type": "message_start", "message": {"role": "assistant", "usage": {"input_tokens": 5}}},
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "Checking"}},
            {
                "type": "content_block_start",
                "index": 1,
                "content_block": {"type": "tool_use", "name": "locate"},
            },
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": '{"q"'},
            },
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": ': "x"}'},
            },
            {"type": "message_stop"},
        ]
        stream = "".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n" for e in events)
        chat = _read({"model": "claude", "messages": [{"role": "user", "content": "hi"}]}, stream)
        assert _said(chat.response) == [
            ("assistant", [("text", "", "Checking"), ("tool_call", "locate", '{\n  "q": "x"\n}')])
        ]


def test_deeply_nested_arguments_do_not_fail_the_page() -> None:
    deep = "[" * 900 + "]" * 900
    chunk = {
        "choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"name": "f", "arguments": deep}}]}}]
    }
    chat = _read({"messages": [{"role": "user", "content": "hi"}]}, f"data: {json.dumps(chunk)}\n\n")
    (call,) = chat.response[0].parts
    assert (call.kind, call.name) == ("tool_call", "f")
    assert call.text in (deep, "(nested too deeply to show here; see the raw body)")
    asked = json.dumps({"messages": [{"role": "user", "content": "hi"}]})
    page = session_page(
        [stored_request(1, 0, 5, request_body=asked, response_body=f"data: {json.dumps(chunk)}")]
    )
    assert "Calls tool <code>f</code>" in page


class TestOnThePage:
    def test_each_request_shows_its_conversation_with_the_raw_bodies_a_click_away(self) -> None:
        body = _capture("manual_logger.json", 0)["body_json"]
        request = stored_request(
            1,
            0,
            50,
            request_body=json.dumps(body["providerRequest"]["json"]),
            response_body=json.dumps(body["providerResponse"]["json"]),
        )
        html = session_page([request])
        conversation = html.split('<section class="conversation"')[1].split("</section>")[0]
        assert [m.strip() for m in re.findall(r'<div class="chat-role">([^<]*)</div>', conversation)] == [
            "system",
            "user",
            "assistant",
        ]
        assert '<div class="chat-text">Hello from the catcher!</div>' in conversation
        assert '<details class="body"><summary>Raw request body</summary>' in html
        assert '<details class="body"><summary>Raw response body</summary>' in html

    def test_a_long_history_is_folded_before_the_last_user_turn(self) -> None:
        turns = [{"role": r, "content": f"turn {i}"} for i, r in enumerate(["user", "assistant"] * 3)]
        messages = [{"role": "system", "content": "Be kind."}, *turns, {"role": "user", "content": "last"}]
        chat = _read({"messages": messages})
        assert [m.role for m in chat.earlier] == ["system", *["user", "assistant"] * 3]
        assert _said(chat.latest) == [("user", [("text", "", "last")])]
        html = session_page([stored_request(1, 0, 5, request_body=json.dumps({"messages": messages}))])
        assert "<summary>7 earlier messages</summary>" in html
        short = _read({"messages": messages[-3:]})
        assert short.earlier == [] and len(short.latest) == 3

    def test_everything_in_a_message_is_escaped(self) -> None:
        hostile = "<script>alert('x')</script>"
        request_body = {
            "system": hostile,
            "messages": [
                {"role": f"user{hostile}", "content": hostile},
                {
                    "role": "assistant",
                    "content": [{"type": "tool_use", "name": hostile, "input": {hostile: hostile}}],
                },
                {"role": "user", "content": [{"type": "image_url", "image_url": {"url": hostile}}]},
            ],
        }
        response_body = {"type": "message", "content": [{"type": hostile}, {"type": "text", "text": hostile}]}
        chat = _read(request_body, response_body)
        assert chat.messages[1].tone == "other"  # an unknown role never becomes a class name
        html = session_page(
            [
                stored_request(
                    1, 0, 5, request_body=json.dumps(request_body), response_body=json.dumps(response_body)
                )
            ]
        )
        assert "<script>alert" not in html
        assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
        assert 'class="chat-message tone-other"' in html
