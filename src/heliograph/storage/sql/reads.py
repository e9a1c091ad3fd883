"""Loading rows into the storage layer's result types, with properties, scores and users attached."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from heliograph.domain.records import RequestRecord
from heliograph.domain.store import SessionSummary, StoredRequest
from heliograph.storage.sql.schema import properties, scores, session_users

__all__ = ["load_requests", "load_sessions"]


async def load_sessions(conn: AsyncConnection, org_id: str, stmt: sa.Select[Any]) -> list[SessionSummary]:
    """Run a SELECT of `sessions` rows and attach each session's user ids."""
    rows = (await conn.execute(stmt)).all()
    users: dict[str, list[str]] = defaultdict(list)
    if rows:
        user_rows = await conn.execute(
            sa.select(session_users.c.session_id, session_users.c.user_id)
            .where(
                session_users.c.org_id == org_id, session_users.c.session_id.in_([r.session_id for r in rows])
            )
            .order_by(session_users.c.user_id)
        )
        for user_row in user_rows:
            users[user_row.session_id].append(user_row.user_id)
    return [
        SessionSummary(
            session_id=r.session_id,
            name=r.name,
            first_request_id=r.first_request_id,
            created_at_ms=r.first_created_at_ms,
            latest_request_created_at_ms=r.last_created_at_ms,
            request_count=r.request_count,
            prompt_tokens=r.prompt_tokens,
            completion_tokens=r.completion_tokens,
            total_tokens=r.total_tokens,
            cost_nano_usd=r.cost_nano_usd,
            latency_sum_ms=r.latency_sum_ms,
            feedback=None if r.feedback is None else bool(r.feedback),
            user_ids=users[r.session_id],
        )
        for r in rows
    ]


async def load_requests(conn: AsyncConnection, org_id: str, stmt: sa.Select[Any]) -> list[StoredRequest]:
    """Run a SELECT of `requests` rows (in its own order) and attach properties and scores."""
    rows = (await conn.execute(stmt)).all()
    if not rows:
        return []
    ids = [r.request_id for r in rows]
    props: dict[str, dict[str, str]] = defaultdict(dict)
    for p in await conn.execute(
        sa.select(properties.c.request_id, properties.c.key, properties.c.value).where(
            properties.c.org_id == org_id, properties.c.request_id.in_(ids)
        )
    ):
        props[p.request_id][p.key] = p.value
    score_map: dict[str, dict[str, int]] = defaultdict(dict)
    for s in await conn.execute(
        sa.select(scores.c.request_id, scores.c.key, scores.c.value).where(
            scores.c.org_id == org_id, scores.c.request_id.in_(ids)
        )
    ):
        score_map[s.request_id][s.key] = s.value
    return [
        StoredRequest(record=_record(r, props[r.request_id]), scores=score_map[r.request_id]) for r in rows
    ]


def _record(row: Any, props: dict[str, str]) -> RequestRecord:
    return RequestRecord(
        org_id=row.org_id,
        request_id=row.request_id,
        created_at_ms=row.created_at_ms,
        response_created_at_ms=row.response_created_at_ms,
        latency_ms=row.latency_ms,
        time_to_first_token_ms=row.time_to_first_token_ms,
        status=row.status,
        provider=row.provider,
        model=row.model,
        request_model=row.request_model,
        user_id=row.user_id,
        prompt_tokens=row.prompt_tokens,
        completion_tokens=row.completion_tokens,
        cache_read_tokens=row.cache_read_tokens,
        cache_write_tokens=row.cache_write_tokens,
        cost_nano_usd=row.cost_nano_usd,
        cost_known=row.cost_known,
        target_url=row.target_url,
        request_body=row.request_body,
        response_body=row.response_body,
        properties=props,
    )
