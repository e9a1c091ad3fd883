"""The request and response bodies and the token usage of one span, in each convention's attributes.

An LLM span's bodies take the shape of an OpenAI chat call (`{"model", "messages"}` and
`{"model", "choices", "usage"}`) unless the span carries the call's own JSON (OpenInference's
`input.value` / `output.value`); a step's bodies are `{"name", "kind", "input"}` and `{"output"}`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import orjson

from heliograph.domain.usage import Usage

__all__ = ["Attributes", "as_text", "json_value", "llm_bodies", "step_bodies", "usage_of"]

Attributes = Mapping[str, object]
_MAX_MESSAGES = 1000
_INDEXED = re.compile(r"(\d{1,4})\.(.+)")
_INPUT_TOKENS = (
    "gen_ai.usage.input_tokens",
    "gen_ai.usage.prompt_tokens",
    "llm.token_count.prompt",
)
_OUTPUT_TOKENS = (
    "gen_ai.usage.output_tokens",
    "gen_ai.usage.completion_tokens",
    "llm.token_count.completion",
)
_CACHE_READ_TOKENS = (
    "llm.token_count.prompt_details.cache_read",
    "gen_ai.usage.cache_read.input_tokens",
    "gen_ai.usage.cache_read_input_tokens",
)
_CACHE_WRITE_TOKENS = (
    "llm.token_count.prompt_details.cache_write",
    "gen_ai.usage.cache_creation.input_tokens",
    "gen_ai.usage.cache_creation_input_tokens",
)
_LANGFUSE_MODEL = "langfuse.observation.model.name"
_REQUEST_MODEL = ("gen_ai.request.model", "llm.request.model_name", "llm.model_name", _LANGFUSE_MODEL)
_RESPONSE_MODEL = ("gen_ai.response.model", "llm.response.model_name", "llm.model_name", _LANGFUSE_MODEL)
# Langfuse's usage_details (a JSON object) in the GenAI attributes' words; the span's own win.
_LANGFUSE_USAGE = {
    "input": "gen_ai.usage.input_tokens",
    "output": "gen_ai.usage.output_tokens",
    "cache_read_input_tokens": "gen_ai.usage.cache_read_input_tokens",
    "input_cached_tokens": "gen_ai.usage.cache_read_input_tokens",
    "cache_creation_input_tokens": "gen_ai.usage.cache_creation_input_tokens",
}
_STEP_INPUTS = (
    "input.value",
    "langfuse.observation.input",
    "gen_ai.tool.call.arguments",
    "traceloop.entity.input",
)
_STEP_OUTPUTS = (
    "output.value",
    "langfuse.observation.output",
    "gen_ai.tool.call.result",
    "traceloop.entity.output",
)
_STEP_KIND_ATTRIBUTES = ("openinference.span.kind", "traceloop.span.kind", "langfuse.observation.type")


def as_text(value: object) -> str:
    """A string attribute as it is, anything else as its JSON text (true, 3, ["a"])."""
    return value if isinstance(value, str) else orjson.dumps(value).decode()


def json_value(text: str) -> object:
    """`text` parsed as JSON when it is a JSON object or array, else `text` itself."""
    if not text.lstrip().startswith(("{", "[")):
        return text
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return text


def usage_of(attributes: Attributes) -> Usage | None:
    """Token counts from the span, or None when it states none; prompt tokens include the cache's."""
    attributes = _with_langfuse_usage(attributes)
    counts = [_count(attributes, names) for names in (_INPUT_TOKENS, _OUTPUT_TOKENS)]
    cache_read, cache_write = _count(attributes, _CACHE_READ_TOKENS), _count(attributes, _CACHE_WRITE_TOKENS)
    if all(count is None for count in (*counts, cache_read, cache_write)):
        return None
    prompt, completion = (count or 0 for count in counts)
    cache_read, cache_write = cache_read or 0, cache_write or 0
    return Usage(
        prompt_tokens=max(prompt, cache_read + cache_write),
        completion_tokens=completion,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        model=_first_text(attributes, _RESPONSE_MODEL),
        found=True,
    )


def _with_langfuse_usage(attributes: Attributes) -> Attributes:
    details = attributes.get("langfuse.observation.usage_details")
    parsed = json_value(details) if isinstance(details, str) else None
    if not isinstance(parsed, dict):
        return attributes
    return {
        **{_LANGFUSE_USAGE[key]: value for key, value in parsed.items() if key in _LANGFUSE_USAGE},
        **attributes,
    }


def llm_bodies(attributes: Attributes) -> tuple[object, object]:
    """(request JSON, response JSON) of an LLM span."""
    request = _json_attribute(attributes, "input.value")
    response = _json_attribute(attributes, "output.value")
    return (
        request if isinstance(request, dict) else _chat_request(attributes),
        response if isinstance(response, dict) else _chat_response(attributes),
    )


def _chat_request(attributes: Attributes) -> dict[str, Any]:
    model = _first_text(attributes, _REQUEST_MODEL)
    messages = _input_messages(attributes)
    return {"model": model, "messages": messages} if model else {"messages": messages}


def _chat_response(attributes: Attributes) -> dict[str, Any]:
    choices = []
    for index, message in enumerate(_output_messages(attributes)):
        finish_reason = message.pop("finish_reason", None)
        choices.append({"index": index, "message": message, "finish_reason": finish_reason})
    response: dict[str, Any] = {"model": _first_text(attributes, _RESPONSE_MODEL), "choices": choices}
    usage = usage_of(attributes)
    if usage is not None:
        response["usage"] = {
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.total_tokens,
        }
    return response


def step_bodies(name: str, attributes: Attributes) -> tuple[object, object]:
    """(request JSON, response JSON) of a tool, retriever, agent or chain span."""
    kind = _first_text(attributes, _STEP_KIND_ATTRIBUTES) or _first_text(
        attributes, ("gen_ai.operation.name",)
    )
    step_input = next((attributes[key] for key in _STEP_INPUTS if key in attributes), None)
    step_output = next((attributes[key] for key in _STEP_OUTPUTS if key in attributes), None)
    return (
        {"name": name, "kind": kind, "input": _parsed(step_input)},
        {"output": _parsed(step_output)},
    )


def _input_messages(attributes: Attributes) -> list[Any]:
    for prefix in ("gen_ai.prompt.", "llm.input_messages."):
        messages = _indexed(attributes, prefix)
        if messages:
            return messages
    for name in ("gen_ai.input.messages", "langfuse.observation.input"):
        if name in attributes:
            return _messages(_parsed(attributes[name]), role="user")
    return []


def _output_messages(attributes: Attributes) -> list[dict[str, Any]]:
    for prefix in ("gen_ai.completion.", "llm.output_messages."):
        messages = _indexed(attributes, prefix)
        if messages:
            return messages
    for name in ("gen_ai.output.messages", "langfuse.observation.output"):
        if name in attributes:
            return _messages(_parsed(attributes[name]), role="assistant")
    return []


def _indexed(attributes: Attributes, prefix: str) -> list[dict[str, Any]]:
    """`<prefix><i>.[message.]<field>` attributes as a list of {field: value}, in index order."""
    found: dict[int, dict[str, Any]] = {}
    for name, value in attributes.items():
        match = _INDEXED.fullmatch(name[len(prefix) :]) if name.startswith(prefix) else None
        if match is None or int(match[1]) >= _MAX_MESSAGES:
            continue
        field = match[2].removeprefix("message.")
        if "." not in field:  # tool calls and content parts stay out of the chat message
            found.setdefault(int(match[1]), {})[field] = value
    return [found[index] for index in sorted(found)]


def _messages(value: object, *, role: str) -> list[dict[str, Any]]:
    """Messages from a JSON value: GenAI's `parts` become `content` when they are all text."""
    if isinstance(value, dict) and isinstance(value.get("messages"), list):
        value = value["messages"]
    if isinstance(value, dict) and "role" in value:  # one message
        value = [value]
    if not isinstance(value, list):
        return [{"role": role, "content": value}]
    messages = []
    for item in value[:_MAX_MESSAGES]:
        if not isinstance(item, dict):
            messages.append({"role": role, "content": item})
            continue
        message = dict(item)
        parts = message.pop("parts", None)
        if isinstance(parts, list) and all(isinstance(p, dict) and p.get("type") == "text" for p in parts):
            message["content"] = "".join(as_text(part.get("content", "")) for part in parts)
        elif parts is not None:
            message["parts"] = parts
        messages.append(message)
    return messages


def _parsed(value: object) -> object:
    return json_value(value) if isinstance(value, str) else value


def _json_attribute(attributes: Attributes, name: str) -> object:
    value = attributes.get(name)
    return json_value(value) if isinstance(value, str) else None


def _first_text(attributes: Attributes, names: tuple[str, ...]) -> str | None:
    for name in names:
        value = attributes.get(name)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return None


def _count(attributes: Attributes, names: tuple[str, ...]) -> int | None:
    """The first token count present, as a non-negative int (numbers as text count too)."""
    for name in names:
        value = attributes.get(name)
        if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
            value = int(value.strip()[:18])  # beyond that, no plausible count (record_of bounds them)
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, int) and not isinstance(value, bool):
            return max(value, 0)
    return None
