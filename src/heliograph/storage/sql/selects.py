"""The WHERE and ORDER BY clauses of session and request queries, defined once for every reader.

Listing, counting, naming and measuring sessions all select from the `sessions` rollup with the
same conditions; request queries select from `requests`.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from heliograph.domain.filters import FilterNode
from heliograph.domain.requests import RequestSort
from heliograph.domain.sessions import SessionQuery
from heliograph.storage.sql.filters import escape_like, request_filter, session_condition
from heliograph.storage.sql.schema import properties, requests, scores, session_duration_ms, sessions

__all__ = ["request_conditions", "request_order", "session_conditions", "session_order"]

Condition = sa.ColumnElement[bool]

_REQUEST_SORT_COLUMNS: dict[str, sa.ColumnElement[Any]] = {
    "created_at": requests.c.created_at_ms,
    "latency": requests.c.latency_ms,
    "cost": requests.c.cost_nano_usd,
    "total_tokens": requests.c.total_tokens,
    "prompt_tokens": requests.c.prompt_tokens,
    "completion_tokens": requests.c.completion_tokens,
    "user_id": requests.c.user_id,
    "time_to_first_token": requests.c.time_to_first_token_ms,
    "request_model": requests.c.request_model,
    "request_body": requests.c.request_body,
    "response_body": requests.c.response_body,
}


def session_conditions(org_id: str, query: SessionQuery) -> list[Condition]:
    """Everything a SessionQuery asks of the rollup, org scope first."""
    conditions: list[Condition] = [sessions.c.org_id == org_id]
    if query.search:
        pattern = f"%{escape_like(query.search)}%"
        conditions.append(
            sa.or_(
                sessions.c.session_id.ilike(pattern, escape="\\"), sessions.c.name.ilike(pattern, escape="\\")
            )
        )
    if query.name_equals:
        conditions.append(sessions.c.name == query.name_equals)
    if query.name_contains:
        conditions.append(sessions.c.name.ilike(f"%{escape_like(query.name_contains)}%", escape="\\"))
    window = _in_window(query.start_ms, query.end_ms)
    if window is not None:
        conditions.append(window)
    condition = session_condition(query.filter)
    if condition is not None:
        conditions.append(condition)
    return conditions


_SESSION_SORT_COLUMNS: dict[str, sa.ColumnElement[Any]] = {
    "created_at": sessions.c.first_created_at_ms,
    "latest_request_created_at": sessions.c.last_created_at_ms,
    "duration": session_duration_ms,
    "total_requests": sessions.c.request_count,
    "total_cost": sessions.c.cost_nano_usd,
    "total_tokens": sessions.c.total_tokens,
}


def session_order(query: SessionQuery) -> list[sa.ColumnElement[Any]]:
    """ORDER BY for a session list; ties fall back to newest first, then session id."""
    column = _SESSION_SORT_COLUMNS[query.sort_key]
    primary = column.desc() if query.sort_descending else column.asc()
    if query.sort_key == "created_at":  # no repeated term: SQLite would sort what the index orders
        return [primary, sessions.c.session_id.desc()]
    return [primary, sessions.c.first_created_at_ms.desc(), sessions.c.session_id.desc()]


def request_conditions(org_id: str, node: FilterNode, *, is_scored: bool | None = None) -> list[Condition]:
    """The conditions of a request query, org scope first."""
    conditions: list[Condition] = [requests.c.org_id == org_id]
    condition = request_filter(node)
    if condition is not None:
        conditions.append(condition)
    if is_scored is not None:
        has_score = sa.exists().where(
            scores.c.org_id == requests.c.org_id, scores.c.request_id == requests.c.request_id
        )
        conditions.append(has_score if is_scored else ~has_score)
    return conditions


def request_order(sort: RequestSort) -> list[sa.ColumnElement[Any]]:
    """ORDER BY for a sort; missing values go last either way, ties fall back to newest first, then id."""
    fallback: list[sa.ColumnElement[Any]] = [requests.c.created_at_ms.desc(), requests.c.request_id.desc()]
    if sort.key == "none":
        return fallback
    if sort.key == "random":
        return [sa.func.random()]
    if sort.key == "properties":
        column: sa.ColumnElement[Any] = (
            sa.select(properties.c.value)
            .where(
                properties.c.org_id == requests.c.org_id,
                properties.c.request_id == requests.c.request_id,
                properties.c.key == sort.property,
            )
            .scalar_subquery()
        )
    else:
        column = _REQUEST_SORT_COLUMNS[sort.key]
    ordered = column.asc() if sort.direction == "asc" else column.desc()
    # NULLS LAST only where a NULL can be: PostgreSQL orders by an index only in its own NULLS order.
    primary = ordered if getattr(column, "nullable", True) is False else ordered.nulls_last()
    return [primary, *fallback]


def _in_window(start_ms: int | None, end_ms: int | None) -> Condition | None:
    """Sessions with at least one request in [start, end): rollup bounds first, then an index probe."""
    if start_ms is None and end_ms is None:
        return None
    lo = start_ms if start_ms is not None else -(2**62)
    hi = end_ms if end_ms is not None else 2**62
    s = sessions.c
    # Correlate with the outer sessions only: a query that also joins requests (the feedback
    # breakdown) would otherwise correlate this probe's own FROM away.
    has_request_inside = (
        sa.exists()
        .where(
            requests.c.org_id == s.org_id,
            requests.c.session_id == s.session_id,
            requests.c.created_at_ms >= lo,
            requests.c.created_at_ms < hi,
        )
        .correlate_except(requests)
    )
    first_inside, last_inside = s.first_created_at_ms >= lo, s.last_created_at_ms < hi
    return sa.and_(
        s.first_created_at_ms < hi,
        s.last_created_at_ms >= lo,
        sa.or_(first_inside, last_inside, has_request_inside),
    )
