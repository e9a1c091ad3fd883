"""A request's bodies read as a conversation: who said what, which tools were called with what, and
what they returned, for the session page.

Reads the request shapes of OpenAI chat completions (`messages`, also legacy `prompt`), OpenAI
responses (`instructions`, `input`) and Anthropic messages (`system`, `messages` of content blocks),
and their answers, whole or streamed (JSON lines or server-sent events). Images, audio and files
become placeholders that say what they were; nothing is fetched and nothing is trusted (the
templates escape every string). A body of any other shape gives no conversation, and the page shows
its raw JSON only.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

__all__ = ["Conversation", "Message", "Part", "conversation_of"]

MAX_MESSAGES = 200  # per request; the raw JSON has the rest
MAX_TEXT_CHARS = 20_000  # per part
FOLD_AFTER = 3  # a longer history before the last user turn is folded away
ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function", "error"})

PartKind = Literal["text", "tool_call", "tool_result", "placeholder"]


@dataclass(frozen=True, slots=True)
class Part:
    """Text, a tool call (`name`, its arguments as `text`), a tool result (`name` is the call's id)
    or a placeholder for what is not text (an image, audio, a file)."""

    kind: PartKind
    text: str
    name: str = ""


@dataclass(slots=True)
class Message:
    role: str
    parts: list[Part] = field(default_factory=list)

    @property
    def tone(self) -> str:
        """The role as a CSS class name: a known role, else "other"."""
        return self.role if self.role in ROLES else "other"


@dataclass(frozen=True, slots=True)
class Conversation:
    messages: list[Message]  # what the request sent
    response: list[Message]  # what came back
    hidden: int = 0  # request messages past MAX_MESSAGES

    @property
    def earlier(self) -> list[Message]:
        """The history before the last user turn, which the page folds away when it is long (an agent
        sends the whole conversation again with each call)."""
        return self.messages[: self._latest_start()]

    @property
    def latest(self) -> list[Message]:
        """From the last user turn on: what this call added."""
        return self.messages[self._latest_start() :]

    def _latest_start(self) -> int:
        users = [i for i, m in enumerate(self.messages) if m.role == "user"]
        start = users[-1] if users else len(self.messages) - 1
        return start if start > FOLD_AFTER else 0


def conversation_of(request_body: str, response_body: str) -> Conversation | None:
    """The conversation in a request's stored bodies, or None when the request body is no chat."""
    request = _object(request_body)
    if request is None:
        return None
    messages = [m for m in _request_messages(request) if m.parts]
    if not messages:
        return None
    response = [m for m in _response_messages(response_body) if m.parts]
    return Conversation(
        messages=messages[:MAX_MESSAGES], response=response, hidden=max(len(messages) - MAX_MESSAGES, 0)
    )


# -- requests ---------------------------------------------------------------------------------------


def _request_messages(body: dict[str, Any]) -> Iterator[Message]:
    system = body.get("system")  # Anthropic: a string or text blocks
    if system:
        yield Message("system", list(_parts(system)))
    if isinstance(body.get("instructions"), str):  # OpenAI responses
        yield Message("system", [_text(body["instructions"])])
    if isinstance(body.get("messages"), list):  # OpenAI chat completions, Anthropic messages
        for item in body["messages"]:
            if isinstance(item, dict):
                yield _chat_message(item)
    elif "input" in body and "model" in body:  # OpenAI responses (a custom span's `input` is no chat)
        yield from _response_items(body["input"], default_role="user")
    elif isinstance(body.get("prompt"), str):  # legacy completions
        yield Message("user", [_text(body["prompt"])])


def _chat_message(item: dict[str, Any]) -> Message:
    role = str(item.get("role") or "unknown")
    parts = list(_parts(item.get("content")))
    if isinstance(item.get("refusal"), str):
        parts.append(_text(item["refusal"]))
    for call in _list(item.get("tool_calls")):
        function = _dict(_dict(call).get("function"))
        parts.append(_tool_call(function.get("name"), function.get("arguments")))
    if isinstance(item.get("function_call"), dict):  # the older functions API
        parts.append(_tool_call(item["function_call"].get("name"), item["function_call"].get("arguments")))
    if role in ("tool", "function"):  # OpenAI: the content is the result of a call
        call_id = str(item.get("tool_call_id") or item.get("name") or "")
        parts = [Part("tool_result", p.text, call_id) if p.kind == "text" else p for p in parts]
    return Message(role, parts)


def _parts(content: object) -> Iterator[Part]:
    """The parts of a message's content: a string, or a list of OpenAI or Anthropic content blocks."""
    if isinstance(content, str):
        yield _text(content)
        return
    for block in _list(content):
        if isinstance(block, str):
            yield _text(block)
        elif isinstance(block, dict):
            yield from _block(block)


def _block(block: dict[str, Any]) -> Iterator[Part]:
    kind = block.get("type")
    if kind in ("text", "input_text", "output_text") and isinstance(block.get("text"), str):
        yield _text(block["text"])
    elif kind == "refusal" and isinstance(block.get("refusal"), str):
        yield _text(block["refusal"])
    elif kind == "tool_use":  # Anthropic
        yield _tool_call(block.get("name"), block.get("input"))
    elif kind == "tool_result":  # Anthropic
        text = "\n".join(p.text for p in _parts(block.get("content")))
        error = " (error)" if block.get("is_error") else ""
        yield Part("tool_result", text + error, str(block.get("tool_use_id") or ""))
    elif kind == "thinking" and isinstance(block.get("thinking"), str):
        yield Part("placeholder", "thinking: " + _cut(block["thinking"]))
    elif kind in ("image_url", "image", "input_image"):
        yield Part("placeholder", _image(block))
    elif isinstance(kind, str):
        yield Part("placeholder", kind.replace("_", " "))


def _image(block: dict[str, Any]) -> str:
    """`image (image/png, 12 kB)` or `image: https://…`, from any of the three vocabularies."""
    url = block.get("image_url")
    url = _dict(url).get("url", "") if isinstance(url, dict) else url
    source = _dict(block.get("source"))
    if source.get("type") == "url":
        url = source.get("url")
    if isinstance(url, str) and url.startswith("data:"):
        media_type, _, data = url[5:].partition(";base64,")
        return f"image ({media_type or 'inline'}, {_size(data)})"
    if isinstance(url, str) and url:
        return f"image: {_cut(url, 300)}"
    if isinstance(source.get("data"), str):
        return f"image ({source.get('media_type') or 'base64'}, {_size(source['data'])})"
    return "image" + (f" (file {block['file_id']})" if isinstance(block.get("file_id"), str) else "")


def _size(base64_data: str) -> str:
    return f"{len(base64_data) * 3 // 4 / 1000:,.1f} kB"


# -- OpenAI responses items (request input and response output) --------------------------------------


def _response_items(items: object, *, default_role: str) -> Iterator[Message]:
    if isinstance(items, str):
        yield Message(default_role, [_text(items)])
        return
    for item in _list(items):
        if not isinstance(item, dict):
            continue
        kind = item.get("type", "message")
        if kind == "message" or "role" in item:
            yield Message(str(item.get("role") or default_role), list(_parts(item.get("content"))))
        elif kind == "function_call":
            yield Message("assistant", [_tool_call(item.get("name"), item.get("arguments"))])
        elif kind == "function_call_output":
            yield Message(
                "tool", [Part("tool_result", _cut(_as_text(item.get("output"))), str(item.get("call_id")))]
            )
        elif kind == "reasoning":
            summary = " ".join(p.text for p in _parts(item.get("summary")))
            yield Message(
                "assistant", [Part("placeholder", "reasoning" + (f": {summary}" if summary else ""))]
            )
        elif isinstance(kind, str):
            yield Message("assistant", [Part("placeholder", kind.replace("_", " "))])


# -- responses ------------------------------------------------------------------------------------


def _response_messages(body: str) -> list[Message]:
    whole = _object(body)
    if whole is not None:
        return list(_answer(whole))
    chunks = [c for c in (_object(_event_data(line)) for line in body.splitlines()) if c is not None]
    return _streamed(chunks)


def _answer(body: dict[str, Any]) -> Iterator[Message]:
    """A whole (not streamed) answer: chat completion, responses object, Anthropic message, or error."""
    if isinstance(body.get("choices"), list):
        for choice in body["choices"]:
            message = _dict(_dict(choice).get("message"))
            if message:
                yield _chat_message({"role": "assistant", **message})
            elif isinstance(_dict(choice).get("text"), str):  # legacy completions
                yield Message("assistant", [_text(choice["text"])])
    elif isinstance(body.get("output"), list):
        yield from _response_items(body["output"], default_role="assistant")
    elif body.get("type") == "message" and "content" in body:
        yield Message(str(body.get("role") or "assistant"), list(_parts(body["content"])))
    elif isinstance(body.get("error"), dict | str):
        error = body["error"]
        text = _dict(error).get("message") if isinstance(error, dict) else error
        yield Message("error", [_text(_as_text(text or error))])


def _streamed(chunks: list[dict[str, Any]]) -> list[Message]:
    """Put a streamed answer back together from its chunks (OpenAI chat, Anthropic or responses events)."""
    for chunk in chunks:  # the responses API sends the whole answer at the end
        if chunk.get("type") == "response.completed" and isinstance(chunk.get("response"), dict):
            return list(_answer(chunk["response"]))
    text: list[str] = []
    calls: dict[int, dict[str, str]] = {}
    for chunk in chunks:
        for choice in _list(chunk.get("choices")):  # OpenAI chat completion chunks
            delta = _dict(_dict(choice).get("delta"))
            text.append(_str(delta.get("content")))
            for call in _list(delta.get("tool_calls")):
                _grow(calls, _dict(call).get("index", 0), _dict(_dict(call).get("function")))
        kind = chunk.get("type")
        if kind == "content_block_start":  # Anthropic
            block = _dict(chunk.get("content_block"))
            if block.get("type") == "tool_use":
                _grow(calls, chunk.get("index", 0), {"name": block.get("name")})
        elif kind == "content_block_delta":
            delta = _dict(chunk.get("delta"))
            text.append(_str(delta.get("text")))
            if delta.get("type") == "input_json_delta":
                _grow(calls, chunk.get("index", 0), {"arguments": delta.get("partial_json")})
        elif kind == "response.output_text.delta":  # responses events without the final one
            text.append(_str(chunk.get("delta")))
    parts = [_text("".join(text))] if any(text) else []
    parts += [_tool_call(call.get("name"), call.get("arguments")) for _, call in sorted(calls.items())]
    return [Message("assistant", parts)] if parts else []


def _grow(calls: dict[int, dict[str, str]], index: object, piece: dict[str, Any]) -> None:
    call = calls.setdefault(index if isinstance(index, int) else 0, {})
    for key in ("name", "arguments"):
        if isinstance(piece.get(key), str):
            call[key] = call.get(key, "") + piece[key]


# -- small readers ----------------------------------------------------------------------------------


def _tool_call(name: object, arguments: object) -> Part:
    """A call with its arguments pretty-printed when they are JSON (OpenAI sends them as a string)."""
    if isinstance(arguments, str):
        try:
            arguments = orjson.loads(arguments) if arguments.strip() else {}
        except orjson.JSONDecodeError:
            return Part("tool_call", _cut(str(arguments)), str(name or "?"))
    return Part("tool_call", _cut(_pretty(arguments)), str(name or "?"))


def _text(value: str) -> Part:
    return Part("text", _cut(value))


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(p, dict) for p in value):
        texts = [p.text for p in _parts(value)]
        if texts:
            return "\n".join(texts)
    return _pretty(value)


def _pretty(value: object) -> str:
    """Indented JSON; orjson refuses what nests too deep, where recursion would fail the page."""
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()
    except orjson.JSONEncodeError:
        return "(nested too deeply to show here; see the raw body)"


def _cut(text: str, limit: int = MAX_TEXT_CHARS) -> str:
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text) - limit:,} more characters)"


def _event_data(line: str) -> str:
    """The JSON of one stream line: an SSE `data:` line, or a JSON line as it is."""
    line = line.strip()
    return line[5:].strip() if line.startswith("data:") else line


def _object(text: str) -> dict[str, Any] | None:
    if not text.lstrip().startswith("{"):
        return None
    try:
        value = orjson.loads(text)  # the raw body is parsed for display anyway; orjson is the fast one
    except orjson.JSONDecodeError:
        return None
    return value if isinstance(value, dict) else None


def _str(value: object) -> str:
    return value if isinstance(value, str) else ""


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: object) -> Iterable[Any]:
    return value if isinstance(value, list) else ()
