"""A stand-in for OpenAI and Anthropic on loopback: chat completions and messages, streamed or not.

The model name picks a behaviour, so tests drive failures through the real SDKs:
`fail-<status>` answers that status, `slow` stays silent longer than any test timeout allows,
`cut` stops a stream half-way by dropping the connection, `*-gzip` compresses a non-streamed answer
when the caller accepts gzip. A stream pauses `PAUSE_S` between
chunks, so a test can tell that the first chunk arrived before the last was sent.
"""

from __future__ import annotations

import asyncio
import collections
import gzip
import json
import os
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

PAUSE_S = float(os.environ.get("FAKE_UPSTREAM_PAUSE_S", "0.2"))  # 0 for benchmarks
WORDS = ["Hello", " from", " the", " fake", " upstream"]
PROMPT_TOKENS, COMPLETION_TOKENS = 11, len(WORDS)
# What the upstream received (headers and body, newest last): the latest calls only, so that a benchmark's
# hundreds of thousands of calls neither grow the fake's memory nor slow its garbage collections.
SENT: collections.deque[dict[str, Any]] = collections.deque(maxlen=10_000)


def sse(data: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, separators=(',', ':'))}\n\n".encode()


class Cut(Exception):
    """Raised inside a stream to drop the connection half-way."""


async def _chat(request: Request) -> Response:
    body = await request.json()
    SENT.append(
        {"headers": dict(request.headers), "body": body, "path": request.url.path, "query": request.url.query}
    )
    model = body.get("model", "")
    if failure := await _failure(model):
        return failure
    usage = {"prompt_tokens": PROMPT_TOKENS, "completion_tokens": COMPLETION_TOKENS, "total_tokens": 16}
    if not body.get("stream"):
        message = {"role": "assistant", "content": "".join(WORDS)}
        return _maybe_gzip(
            request,
            model,
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": 1,
                "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": usage,
            },
        )
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

    async def chunks() -> AsyncIterator[bytes]:
        base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": 1, "model": model}
        for i, word in enumerate(WORDS):
            if model == "cut" and i == 2:
                raise Cut
            yield sse({**base, "choices": [{"index": 0, "delta": {"content": word}, "finish_reason": None}]})
            await asyncio.sleep(PAUSE_S)
        yield sse({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if include_usage:
            yield sse({**base, "choices": [], "usage": usage})
        yield b"data: [DONE]\n\n"

    return StreamingResponse(chunks(), media_type="text/event-stream")


async def _messages(request: Request) -> Response:
    body = await request.json()
    SENT.append(
        {"headers": dict(request.headers), "body": body, "path": request.url.path, "query": request.url.query}
    )
    model = body.get("model", "")
    if failure := await _failure(model):
        return failure
    usage = {"input_tokens": PROMPT_TOKENS, "output_tokens": COMPLETION_TOKENS}
    if not body.get("stream"):
        return JSONResponse(
            {
                "id": "msg_fake",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [{"type": "text", "text": "".join(WORDS)}],
                "stop_reason": "end_turn",
                "stop_sequence": None,
                "usage": usage,
            }
        )

    async def events() -> AsyncIterator[bytes]:
        message = {"id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": []}
        start_usage = {"input_tokens": PROMPT_TOKENS, "output_tokens": 1}
        yield sse({"type": "message_start", "message": {**message, "usage": start_usage}}, "message_start")
        block = {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}
        yield sse(block, "content_block_start")
        for word in WORDS:
            delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": word}}
            yield sse(delta, "content_block_delta")
            await asyncio.sleep(PAUSE_S)
        yield sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
        final = {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn"},
            "usage": {"output_tokens": COMPLETION_TOKENS},
        }
        yield sse(final, "message_delta")
        yield sse({"type": "message_stop"}, "message_stop")

    return StreamingResponse(events(), media_type="text/event-stream")


def _maybe_gzip(request: Request, model: str, payload: dict[str, Any]) -> Response:
    """Models named `*-gzip` compress their answer whenever the caller accepts gzip."""
    body = json.dumps(payload).encode()
    if model.endswith("-gzip") and "gzip" in request.headers.get("accept-encoding", ""):
        headers = {"content-encoding": "gzip"}
        return Response(gzip.compress(body), media_type="application/json", headers=headers)
    return Response(body, media_type="application/json")


async def _failure(model: str) -> Response | None:
    if model.startswith("fail-"):
        status = int(model.removeprefix("fail-"))
        return JSONResponse(
            {"error": {"message": f"fake failure {status}", "type": "server_error"}}, status_code=status
        )
    if model == "slow":
        await asyncio.sleep(30)
    return None


app = Starlette(
    routes=[
        Route("/v1/chat/completions", _chat, methods=["POST"]),
        Route("/v1/messages", _messages, methods=["POST"]),
    ]
)


@contextmanager
def serve_fake_upstream(port: int) -> Iterator[str]:
    """Run the fake upstream on loopback in a thread; yields its base URL (without /v1)."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
