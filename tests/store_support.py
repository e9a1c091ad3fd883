"""Helpers of the store-level tests: a store opened on a URL, fresh organizations, request records and a
monitor's spec."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from heliograph.domain.monitors import MonitorSpec
from heliograph.domain.records import (
    RequestRecord,
    new_record,
)
from heliograph.domain.store import Store
from heliograph.storage import open_store

T = TypeVar("T")
BASE_MS = 1_767_225_600_000  # 2026-01-01
# A monitor on the sessions whose requests carry variant B (`record(..., variant="B")`).
MONITOR_SPEC = MonitorSpec(
    name="B thumbs down",
    feedback_name="rating",
    metric="negative_rate",
    operator="gt",
    threshold=0.25,
    window_s=3600,
    min_rated=2,
    filter='{"request_response_rmt":{"properties":{"variant":{"equals":"B"}}}}',
    webhook_url="http://127.0.0.1:9/hook",
    webhook_secret="s3cret-s3cret",
)


def with_store(url: str, scenario: Callable[[Store], Awaitable[T]]) -> T:
    """Open and migrate the store at `url`, run `scenario` on it, and close it."""

    async def run() -> T:
        store = open_store(url)
        try:
            await store.migrate()
            return await scenario(store)
        finally:
            await store.close()

    return asyncio.run(run())


async def new_org(store: Store) -> str:
    return await store.ensure_org(name=f"org-{uuid.uuid4().hex[:10]}")


def record(
    org_id: str,
    *,
    session: str | None = None,
    at_ms: int = BASE_MS,
    request_id: str | None = None,
    name: str | None = None,
    path: str | None = None,
    model: str = "gpt-4o-mini",
    provider: str = "OPENAI",
    user: str | None = None,
    prompt_tokens: int = 10,
    completion_tokens: int = 5,
    cost: int = 1_000,
    latency_ms: int = 100,
    status: int = 200,
    **properties: str,
) -> RequestRecord:
    """A stored-ready request record; keyword properties become lower-case properties."""
    return new_record(
        org_id=org_id,
        created_at_ms=at_ms,
        request_id=request_id,
        session_id=session,
        session_name=name,
        session_path=path,
        latency_ms=latency_ms,
        status=status,
        provider=provider,
        model=model,
        user_id=user,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cost_nano_usd=cost,
        properties={key.replace("_", "-"): value for key, value in properties.items()},
    )


def summary_row(summary: Any) -> tuple[Any, ...]:
    """The fields of a SessionSummary a test compares."""
    return (
        summary.session_id,
        summary.name,
        summary.first_request_id,
        summary.created_at_ms,
        summary.latest_request_created_at_ms,
        summary.request_count,
        summary.prompt_tokens,
        summary.completion_tokens,
        summary.total_tokens,
        summary.cost_nano_usd,
        summary.latency_sum_ms,
        summary.feedback,
        summary.user_ids,
    )
