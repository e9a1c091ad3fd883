"""Read token usage, the model and the response id out of OpenAI and Anthropic bodies, streamed or not."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["Usage", "usage_from_response"]

_Kind = Literal["chat", "responses", "anthropic"]
_ANTHROPIC_TYPES = ("message", "message_start", "message_delta")  # a tuple: "type" may be unhashable
_ANTHROPIC_CACHE_KEYS = ("cache_creation_input_tokens", "cache_read_input_tokens")
_ANTHROPIC_KEYS = ("input_tokens", "output_tokens", *_ANTHROPIC_CACHE_KEYS)


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one LLM call; prompt_tokens includes the cache reads and writes."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    model: str | None = None
    found: bool = False
    reasoning_tokens: int | None = None  # None when the body does not report them
    response_id: str | None = None

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


def usage_from_response(*, json_body: object, text_body: str | None) -> Usage:
    """Token usage from a non-streamed JSON body or a streamed body (JSON lines / SSE).

    A non-blank ``text_body`` is taken as the streamed body and wins over ``json_body``.
    Never raises: anything unreadable is skipped.
    """
    reader = _Reader()
    if isinstance(text_body, str) and text_body.strip():
        whole = _loads_object(text_body)
        if whole is not None:
            reader.absorb(whole)
        else:
            for line in text_body.splitlines():
                chunk = _loads_object(_sse_payload(line))
                if chunk is not None:
                    reader.absorb(chunk)
    elif isinstance(json_body, dict):
        reader.absorb(json_body)
    return reader.result()


@dataclass(slots=True)
class _Reader:
    """Accumulates usage blocks and the model name over the chunks of one response."""

    kind: _Kind | None = None
    counts: dict[str, int] = field(default_factory=dict)
    model: str | None = None
    response_id: str | None = None

    def absorb(self, obj: dict[str, Any]) -> None:
        message = _dict(obj.get("message"))
        response = _dict(obj.get("response"))
        if self.model is None:
            self.model = _model(obj) or _model(message) or _model(response)
        if self.response_id is None:
            self.response_id = _text_of(obj, "id") or _text_of(message, "id") or _text_of(response, "id")
        anthropic_hint = obj.get("type") in _ANTHROPIC_TYPES
        self._block(obj.get("usage"), anthropic_hint)
        self._block(message.get("usage"), anthropic_hint or message.get("type") == "message")
        self._block(response.get("usage"), anthropic_hint=False)

    def _block(self, usage: object, anthropic_hint: bool) -> None:
        if not isinstance(usage, dict):
            return
        if "prompt_tokens" in usage or "completion_tokens" in usage:
            details = _dict(usage.get("prompt_tokens_details"))
            reasoning = _dict(usage.get("completion_tokens_details")).get("reasoning_tokens")
            self._set("chat", usage.get("prompt_tokens"), usage.get("completion_tokens"), details, reasoning)
        elif any(key in usage for key in _ANTHROPIC_CACHE_KEYS) or (
            anthropic_hint and any(key in usage for key in _ANTHROPIC_KEYS)
        ):
            present = {key: _count(usage[key]) for key in _ANTHROPIC_KEYS if usage.get(key) is not None}
            if self.kind == "anthropic":
                # message_delta carries cumulative counts that replace those of message_start.
                self.counts.update(present)
            else:
                self.kind, self.counts = "anthropic", present
        elif "input_tokens" in usage or "output_tokens" in usage:
            details = _dict(usage.get("input_tokens_details"))
            reasoning = _dict(usage.get("output_tokens_details")).get("reasoning_tokens")
            self._set("responses", usage.get("input_tokens"), usage.get("output_tokens"), details, reasoning)

    def _set(
        self, kind: _Kind, prompt: object, completion: object, details: dict[str, Any], reasoning: object
    ) -> None:
        self.kind = kind
        self.counts = {
            "prompt": _count(prompt),
            "completion": _count(completion),
            "cached": _count(details.get("cached_tokens")),
        }
        if reasoning is not None:
            self.counts["reasoning"] = _count(reasoning)

    def result(self) -> Usage:
        counts = self.counts
        if self.kind == "anthropic":
            cache_write = counts.get("cache_creation_input_tokens", 0)
            cache_read = counts.get("cache_read_input_tokens", 0)
            return Usage(
                prompt_tokens=counts.get("input_tokens", 0) + cache_write + cache_read,
                completion_tokens=counts.get("output_tokens", 0),
                cache_read_tokens=cache_read,
                cache_write_tokens=cache_write,
                model=self.model,
                response_id=self.response_id,
                found=True,
            )
        if self.kind is not None:
            return Usage(
                prompt_tokens=counts["prompt"],
                completion_tokens=counts["completion"],
                cache_read_tokens=counts["cached"],
                reasoning_tokens=counts.get("reasoning"),
                model=self.model,
                response_id=self.response_id,
                found=True,
            )
        return Usage(model=self.model, response_id=self.response_id)


def _sse_payload(line: str) -> str:
    """The JSON text of one stream line: SSE ``data:`` prefix removed, other SSE fields blanked."""
    text = line.strip()
    if text.startswith("data:"):
        return text[len("data:") :].strip()
    return text if text.startswith("{") else ""


def _loads_object(text: str) -> dict[str, Any] | None:
    if not text.lstrip().startswith("{"):
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _model(obj: dict[str, Any]) -> str | None:
    return _text_of(obj, "model")


def _text_of(obj: dict[str, Any], key: str) -> str | None:
    value = obj.get(key)
    return value.strip() if isinstance(value, str) and value.strip() else None


def _count(value: object) -> int:
    """A token count from a sloppy JSON value: non-negative int, or 0 when unreadable."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return max(value, 0)
    if isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.isdigit():
            try:
                return int(text)
            except ValueError:  # more digits than int() accepts
                return 0
        try:
            value = float(text)
        except ValueError:
            return 0
    if isinstance(value, float) and math.isfinite(value):
        return max(int(value), 0)
    return 0
