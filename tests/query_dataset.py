"""A small, fully known data set for the query API tests, logged through the real ingestion endpoints.

Every expected value in test_queries.py is computed by hand from the table below (costs from the
shipped price table: gpt-4o-mini $0.15/$0.60, gpt-4o $2.50/$10, claude-3-5-sonnet $3/$15 per 1M tokens).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from support import Tenant, timing

T0 = 1_750_000_000_000  # 2025-06-15 15:06:40 UTC
HOUR = 3_600_000
WEIRD_KEY = "x'; DROP TABLE requests; --"
WEIRD_VALUE = "1' OR '1'='1"


def rid(n: int) -> str:
    """The fixed request id of row rN (ids are per organization, so every run can reuse them)."""
    return f"00000000-0000-4000-8000-{n:012d}"


@dataclass(frozen=True)
class Row:
    n: int
    session: str | None
    path: str | None
    name: str | None
    user: str | None
    model: str
    provider_path: str
    prompt: int
    completion: int
    latency: int
    status: int
    properties: dict[str, str]
    offset_ms: int
    ttft: int | None = None
    content: str = "hello"
    answer: str = "hi"


ROWS = [
    Row(
        1,
        "s1",
        "/",
        "Support",
        "ann",
        "gpt-4o-mini",
        "/oai/v1/log",
        1000,
        200,
        500,
        200,
        {"env": "prod", "prompt-version": "A"},
        0,
        answer="Happy to help",
    ),
    Row(
        2,
        "s1",
        "/tool",
        "Support",
        "ann",
        "gpt-4o",
        "/oai/v1/log",
        2000,
        500,
        1500,
        200,
        {"env": "prod", "prompt-version": "A"},
        60_000,
    ),
    Row(
        3,
        "s2",
        "/",
        "Support",
        "bob",
        "gpt-4o-mini",
        "/oai/v1/log",
        500,
        100,
        300,
        500,
        {"env": "staging", "prompt-version": "B"},
        HOUR,
        content="refund please",
    ),
    Row(
        4,
        "s3",
        "/plan",
        "Agent",
        "u1",
        "claude-3-5-sonnet-20241022",
        "/anthropic/v1/log",
        3000,
        1000,
        4000,
        200,
        {"env": "prod", "prompt-version": "B"},
        2 * HOUR,
        ttft=800,
    ),
    Row(
        5,
        "s3",
        "/plan/act",
        "Agent",
        "u2",
        "gpt-4o-mini",
        "/oai/v1/log",
        100,
        50,
        200,
        200,
        {"env": "prod", "prompt-version": "B", "quote": 'it\'s 100% "real"'},
        2 * HOUR + 30_000,
    ),
    Row(
        6,
        "s3",
        "/plan/act",
        "Agent",
        "u2",
        "gpt-4o-mini",
        "/oai/v1/log",
        100,
        50,
        200,
        429,
        {"env": "prod"},
        2 * HOUR + 90_000,
    ),
    Row(
        7,
        "s4",
        "/",
        None,
        None,
        "my-model",
        "/custom/v1/log",
        10,
        10,
        50,
        200,
        {"env": "dev", "ключ": "значение"},
        3 * HOUR,
        ttft=20,
    ),
    Row(8, None, None, None, "ann", "gpt-4o-mini", "/oai/v1/log", 1, 1, 10, 200, {}, 4 * HOUR),
]
TARGET_URLS = {
    "/oai/v1/log": "https://api.openai.com/v1/chat/completions",
    "/anthropic/v1/log": "https://api.anthropic.com/v1/messages",
    "/custom/v1/log": "custom-model-nopath",
}


@dataclass
class Dataset:
    tenant: Tenant
    sessions: dict[str, str]  # s1..s4 -> the session id in this organization

    def sid(self, name: str) -> str:
        return self.sessions[name]


def _body(row: Row) -> dict[str, Any]:
    if row.provider_path == "/anthropic/v1/log":
        usage: dict[str, Any] = {"input_tokens": row.prompt, "output_tokens": row.completion}
        response: dict[str, Any] = {"type": "message", "model": row.model, "content": [{"text": row.answer}]}
    else:
        usage = {"prompt_tokens": row.prompt, "completion_tokens": row.completion}
        response = {
            "model": row.model,
            "choices": [{"message": {"role": "assistant", "content": row.answer}}],
        }
    start = T0 + row.offset_ms
    return {
        "providerRequest": {
            "url": TARGET_URLS[row.provider_path],
            "json": {"model": row.model, "messages": [{"role": "user", "content": row.content}]},
            "meta": {},
        },
        "providerResponse": {"status": row.status, "headers": {}, "json": response | {"usage": usage}},
        "timing": timing(start, start + row.latency, row.ttft),
    }


def _headers(row: Row, sessions: dict[str, str]) -> dict[str, str]:
    headers = {"Helicone-Request-Id": rid(row.n)}
    if row.session:
        headers["Helicone-Session-Id"] = sessions[row.session]
        headers["Helicone-Session-Path"] = row.path or "/"
    if row.name:
        headers["Helicone-Session-Name"] = row.name
    if row.user:
        headers["Helicone-User-Id"] = row.user
    return headers


def load(tenant: Tenant) -> Dataset:
    """Log every row, then add feedback, tags, scores and the hostile property."""
    tag = uuid.uuid4().hex[:6]
    sessions = {name: f"{name}-{tag}" for name in ("s1", "s2", "s3", "s4")}
    for row in ROWS:
        # Non-ASCII property values travel in meta: HTTP header values are Latin-1.
        body = _body(row)
        body["providerRequest"]["meta"] = {f"Helicone-Property-{k}": v for k, v in row.properties.items()}
        response = tenant.client.post(row.provider_path, json=body, headers=_headers(row, sessions))
        assert response.status_code == 200, response.text
    client = tenant.client
    assert client.post(f"/v1/session/{sessions['s1']}/feedback", json={"rating": True}).status_code == 200
    assert client.post(f"/v1/session/{sessions['s2']}/feedback", json={"rating": False}).status_code == 200
    assert client.post(f"/v1/session/{sessions['s2']}/tag", json={"tag": "escalated"}).status_code == 200
    assert client.post(f"/v1/session/{sessions['s3']}/tag", json={"tag": "vip"}).status_code == 200
    assert client.post(f"/v1/request/{rid(1)}/score", json={"scores": {"accuracy": 9}}).status_code == 201
    assert client.post(f"/v1/request/{rid(4)}/score", json={"scores": {"accuracy": 5}}).status_code == 201
    assert client.post(f"/v1/request/{rid(3)}/feedback", json={"rating": False}).status_code == 201
    assert client.post(f"/v1/request/{rid(5)}/feedback", json={"rating": True}).status_code == 201
    weird = {"key": WEIRD_KEY, "value": WEIRD_VALUE}
    assert client.put(f"/v1/request/{rid(8)}/property", json=weird).status_code == 201
    return Dataset(tenant=tenant, sessions=sessions)
