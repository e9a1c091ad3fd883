"""What the gateway tests share: headers, bodies, polling for the background log, the fake's inbox, /metrics.

Imported as `gateway.gateway_support` (the `tests` folder is on the path; this folder has no package file).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from heliograph.testing import fake_upstream
from support import Server, Tenant, new_tenant, query_body, start_server, stop_server

__all__ = [
    "CLAUDE_COST_USD",
    "CLAUDE_MODEL",
    "GPT_COST_USD",
    "GPT_MODEL",
    "LOG_WAIT_S",
    "TEXT",
    "UPSTREAM_KEY",
    "chat_body",
    "extra_server",
    "gateway_headers",
    "marker",
    "messages_body",
    "metrics",
    "module_tenant",
    "sent_with",
    "wait_for_metrics",
    "wait_for_request",
    "wait_for_session",
]

UPSTREAM_KEY = "sk-upstream-0123456789abcdef"  # the caller's key for the provider, never Heliograph's
TEXT = "".join(fake_upstream.WORDS)
GPT_MODEL = "gpt-4o-mini"
CLAUDE_MODEL = "claude-3-5-haiku-latest"
# prices.json, USD per 1M tokens: gpt-4o-mini 0.15 / 0.6, claude-3-5-haiku 0.8 / 4.0;
# x 1000 gives nano-USD per token.
GPT_COST_USD = (fake_upstream.PROMPT_TOKENS * 150 + fake_upstream.COMPLETION_TOKENS * 600) / 1e9
CLAUDE_COST_USD = (fake_upstream.PROMPT_TOKENS * 800 + fake_upstream.COMPLETION_TOKENS * 4000) / 1e9
LOG_WAIT_S = 5.0  # the log record is written in the background, after the answer
_POLL_S = 0.05


def module_tenant(name: str) -> Any:
    """A fixture `name`: one fresh organization per test module and database (tests tell their calls
    apart by unique session ids, request ids and markers, so they need not pay for a new cast each)."""

    @pytest.fixture(scope="module", name=name)
    def tenant(server: Server) -> Iterator[Tenant]:
        created = new_tenant(server, f"{name}-{uuid.uuid4().hex[:8]}")
        yield created
        created.client.close()

    return tenant


def marker() -> str:
    """A unique text to put in a request body, to find that request among what the fake upstream received."""
    return f"marker-{uuid.uuid4()}"


def gateway_headers(key: str, **extra: str) -> dict[str, str]:
    """Heliograph's key in Helicone-Auth, the provider's key in Authorization, plus any Helicone-* extras."""
    return {"Helicone-Auth": f"Bearer {key}", "Authorization": f"Bearer {UPSTREAM_KEY}", **extra}


def chat_body(text: str, *, model: str = GPT_MODEL, stream: bool = False, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": text}], **extra}
    if stream:
        body["stream"] = True
    return body


def messages_body(text: str, *, model: str = CLAUDE_MODEL, stream: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "max_tokens": 32, "messages": [{"role": "user", "content": text}]}
    if stream:
        body["stream"] = True
    return body


def sent_with(text: str) -> list[dict[str, Any]]:
    """Every request the fake upstream received whose body contains `text`, oldest first."""
    return [entry for entry in list(fake_upstream.SENT) if text in json.dumps(entry["body"])]


def wait_for_request(client: httpx.Client, request_id: str) -> dict[str, Any]:
    """`GET /v1/request/{id}` once the background log has written it (bounded wait)."""
    deadline = time.monotonic() + LOG_WAIT_S
    while True:
        response = client.get(f"/v1/request/{request_id}")
        if response.status_code == 200:
            data: dict[str, Any] = response.json()["data"]
            return data
        assert response.status_code == 404, response.text
        if time.monotonic() > deadline:
            raise AssertionError(f"request {request_id} was not logged within {LOG_WAIT_S} s")
        time.sleep(_POLL_S)


def wait_for_session(client: httpx.Client, session_id: str, requests: int) -> dict[str, Any]:
    """The `/v1/session/query` row of `session_id` once it counts `requests` requests (bounded wait)."""
    deadline = time.monotonic() + LOG_WAIT_S
    while True:
        rows = client.post("/v1/session/query", json=query_body(search=session_id)).json()["data"]
        found = [row for row in rows if row["session_id"] == session_id]
        if found and found[0]["total_requests"] >= requests:
            row: dict[str, Any] = found[0]
            return row
        if time.monotonic() > deadline:
            raise AssertionError(f"session {session_id} did not reach {requests} requests: {found}")
        time.sleep(_POLL_S)


def metrics(base_url: str) -> dict[str, float]:
    """The samples of `GET /metrics`, by name."""
    response = httpx.get(f"{base_url}/metrics", timeout=10)
    assert response.status_code == 200, response.text
    samples: dict[str, float] = {}
    for line in response.text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


def wait_for_metrics(
    base_url: str, done: Callable[[dict[str, float]], bool], wait_s: float
) -> dict[str, float]:
    """/metrics once `done` holds for it, or the last sample after `wait_s` seconds."""
    deadline = time.monotonic() + wait_s
    while True:
        samples = metrics(base_url)
        if done(samples) or time.monotonic() > deadline:
            return samples
        time.sleep(_POLL_S)


@contextmanager
def extra_server(database_url: str, log_path: Path, env: dict[str, str]) -> Iterator[Server]:
    """Another `heliograph serve` with other settings (from `env`), stopped whatever happens."""
    running = start_server(database_url, log_path, env=env)
    try:
        yield running
    finally:
        stop_server(running)
