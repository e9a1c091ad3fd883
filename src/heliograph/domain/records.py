"""The normalised request record that ingestion produces and storage writes, and the units every layer
keeps it in: times in UTC epoch milliseconds (`now_ms`), money in integer nano-USD (`NANO_USD_PER_USD`)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

__all__ = [
    "FEEDBACK_KEY",
    "NANO_USD_PER_USD",
    "SESSION_ID_KEY",
    "SESSION_NAME_KEY",
    "SESSION_PATH_KEY",
    "RequestRecord",
    "new_record",
    "now_ms",
]

SESSION_ID_KEY = "Helicone-Session-Id"
SESSION_NAME_KEY = "Helicone-Session-Name"
SESSION_PATH_KEY = "Helicone-Session-Path"
FEEDBACK_KEY = "Helicone-Session-Feedback"
NANO_USD_PER_USD = 1_000_000_000


def now_ms() -> int:
    """The current time in UTC epoch milliseconds."""
    return time.time_ns() // 1_000_000


@dataclass(slots=True)
class RequestRecord:
    """One logged model call, validated and normalised, ready to be stored.

    Times are UTC epoch milliseconds; cost is integer nano-USD (USD x 1e9).
    """

    org_id: str
    request_id: str
    created_at_ms: int
    response_created_at_ms: int
    latency_ms: int
    time_to_first_token_ms: int | None
    status: int
    provider: str
    model: str
    request_model: str | None
    user_id: str | None
    prompt_tokens: int
    completion_tokens: int
    cache_read_tokens: int
    cache_write_tokens: int
    cost_nano_usd: int
    cost_known: bool
    target_url: str
    request_body: str
    response_body: str
    properties: dict[str, str] = field(default_factory=dict)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def session_id(self) -> str | None:
        return self.properties.get(SESSION_ID_KEY)

    @property
    def session_name(self) -> str:
        return self.properties.get(SESSION_NAME_KEY, "")


OPENAI_CHAT_URL = "https://api.openai.com/v1/chat/completions"


def new_record(
    *,
    org_id: str,
    created_at_ms: int,
    request_id: str | None = None,
    session_id: str | None = None,
    session_name: str | None = None,
    session_path: str | None = None,
    latency_ms: int = 100,
    time_to_first_token_ms: int | None = None,
    status: int = 200,
    provider: str = "OPENAI",
    model: str = "gpt-4o-mini",
    user_id: str | None = None,
    prompt_tokens: int = 10,
    completion_tokens: int = 5,
    cost_nano_usd: int = 1_000,
    target_url: str = OPENAI_CHAT_URL,
    request_body: str | None = None,
    response_body: str = "{}",
    properties: dict[str, str] | None = None,
) -> RequestRecord:
    """A ready-to-store record of a priced call, for the tests, the benchmarks and the dashboard's samples
    (ingestion builds its records from what it receives, in `ingest.calls.record_of`)."""
    props = dict(properties or {})
    for key, value in (
        (SESSION_ID_KEY, session_id),
        (SESSION_NAME_KEY, session_name),
        (SESSION_PATH_KEY, session_path),
    ):
        if value is not None:
            props[key] = value
    return RequestRecord(
        org_id=org_id,
        request_id=request_id or str(uuid.uuid4()),
        created_at_ms=created_at_ms,
        response_created_at_ms=created_at_ms + latency_ms,
        latency_ms=latency_ms,
        time_to_first_token_ms=time_to_first_token_ms,
        status=status,
        provider=provider,
        model=model,
        request_model=model,
        user_id=user_id,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cache_read_tokens=0,
        cache_write_tokens=0,
        cost_nano_usd=cost_nano_usd,
        cost_known=True,
        target_url=target_url,
        request_body=request_body if request_body is not None else f'{{"model": "{model}"}}',
        response_body=response_body,
        properties=props,
    )
