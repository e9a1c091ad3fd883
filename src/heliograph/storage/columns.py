"""The stored columns of a request record, as every backend's request table names them."""

from __future__ import annotations

from typing import Any

from heliograph.domain.records import SESSION_PATH_KEY, RequestRecord

__all__ = ["request_columns"]


def request_columns(r: RequestRecord) -> dict[str, Any]:
    """The record's values by column name (each backend adds its own columns to these)."""
    return {
        "org_id": r.org_id,
        "request_id": r.request_id,
        "created_at_ms": r.created_at_ms,
        "response_created_at_ms": r.response_created_at_ms,
        "latency_ms": r.latency_ms,
        "time_to_first_token_ms": r.time_to_first_token_ms,
        "status": r.status,
        "provider": r.provider,
        "model": r.model,
        "request_model": r.request_model,
        "user_id": r.user_id,
        "prompt_tokens": r.prompt_tokens,
        "completion_tokens": r.completion_tokens,
        "total_tokens": r.total_tokens,
        "cache_read_tokens": r.cache_read_tokens,
        "cache_write_tokens": r.cache_write_tokens,
        "cost_nano_usd": r.cost_nano_usd,
        "cost_known": r.cost_known,
        "target_url": r.target_url,
        "session_id": r.session_id,
        "session_path": r.properties.get(SESSION_PATH_KEY),
        "request_body": r.request_body,
        "response_body": r.response_body,
    }
