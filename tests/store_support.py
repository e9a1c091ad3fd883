"""Helpers of the store-level tests: a store opened on a URL, fresh organizations and request records."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from heliograph.domain.records import SESSION_ID_KEY, SESSION_NAME_KEY, SESSION_PATH_KEY, RequestRecord
from heliograph.domain.store import Store
from heliograph.storage import open_store

T = TypeVar("T")
BASE_MS = 1_767_225_600_000  # 2026-01-01


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
    props: dict[str, str] = {key.replace("_", "-"): value for key, value in properties.items()}
    for key, value in ((SESSION_ID_KEY, session), (SESSION_NAME_KEY, name), (SESSION_PATH_KEY, path)):
        if value is not None:
            props[key] = value
    return RequestRecord(
        org_id=org_id,
        request_id=request_id or str(uuid.uuid4()),
        created_at_ms=at_ms,
        response_created_at_ms=at_ms + latency_ms,
        latency_ms=latency_ms,
        time_to_first_token_ms=None,
        status=status,
        provider=provider,
        model=model,
        request_model=model,
        user_id=user,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        cache_read_tokens=0,
        cache_write_tokens=0,
        cost_nano_usd=cost,
        cost_known=True,
        target_url="https://api.openai.com/v1/chat/completions",
        request_body=f'{{"model": "{model}"}}',
        response_body="{}",
        properties=props,
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
