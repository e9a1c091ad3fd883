"""The request bodies the test suite and the benchmarks send."""

from __future__ import annotations

import time
from typing import Any

__all__ = ["log_body", "timing"]


def timing(start_ms: int, end_ms: int, ttft_ms: float | None = None) -> dict[str, Any]:
    """The `timing` of an async-log body."""
    return {
        "startTime": {"seconds": start_ms // 1000, "milliseconds": start_ms % 1000},
        "endTime": {"seconds": end_ms // 1000, "milliseconds": end_ms % 1000},
        "timeToFirstToken": ttft_ms,
    }


def log_body(
    *,
    model: str = "gpt-4o-mini",
    start_ms: int | None = None,
    latency_ms: int = 100,
    prompt_tokens: int = 10,
    completion_tokens: int = 5,
    status: int = 200,
    meta: dict[str, str] | None = None,
    content: str = "hello",
) -> dict[str, Any]:
    """An async-log body in the shape HeliconeManualLogger sends, with OpenAI-style usage."""
    start = start_ms if start_ms is not None else int(time.time() * 1000)
    return {
        "providerRequest": {
            "url": "custom-model-nopath",
            "json": {"model": model, "messages": [{"role": "user", "content": content}]},
            "meta": meta or {},
        },
        "providerResponse": {
            "headers": {},
            "status": status,
            "json": {
                "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}}],
                "usage": {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                },
            },
        },
        "timing": timing(start, start + latency_ms),
    }
