"""The normalised request record that ingestion produces and storage writes, and the units every layer
keeps it in: times in UTC epoch milliseconds (`now_ms`), money in integer nano-USD (`NANO_USD_PER_USD`)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

__all__ = [
    "FEEDBACK_KEY",
    "NANO_USD_PER_USD",
    "SESSION_ID_KEY",
    "SESSION_NAME_KEY",
    "SESSION_PATH_KEY",
    "RequestRecord",
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
