"""The WHERE and ORDER BY clauses of ClickHouse session and request queries, defined once for every reader.

Session queries read the stored rollup (reads.session_rollup), request queries the de-duplicated
requests (reads.live_requests); both are already scoped to the organization.
"""

from __future__ import annotations

from heliograph.domain.filters import FilterNode
from heliograph.domain.requests import RequestSort
from heliograph.domain.sessions import SessionQuery
from heliograph.storage.clickhouse.filters import request_condition_sql, session_condition_sql
from heliograph.storage.clickhouse.reads import Params, live_requests

__all__ = ["SESSION_SORT", "request_order", "request_where", "session_where"]

SESSION_SORT = {
    "created_at": "first_created_at_ms",
    "latest_request_created_at": "last_created_at_ms",
    "duration": "(last_created_at_ms - first_created_at_ms)",
    "total_requests": "request_count",
    "total_cost": "cost_nano_usd",
    "total_tokens": "total_tokens",
}
REQUEST_SORT = {
    "created_at": "created_at_ms",
    "latency": "latency_ms",
    "cost": "cost_nano_usd",
    "total_tokens": "total_tokens",
    "prompt_tokens": "prompt_tokens",
    "completion_tokens": "completion_tokens",
    "user_id": "user_id",
    "time_to_first_token": "time_to_first_token_ms",
}


def session_where(params: Params, org_id: str, query: SessionQuery) -> str:
    """Everything a SessionQuery asks of the rollup (already scoped to the organization)."""
    conditions = ["true"]
    if query.search:
        search = params.text(query.search)
        conditions.append(
            f"(positionCaseInsensitiveUTF8(session_id, {search}) > 0 "
            f"OR positionCaseInsensitiveUTF8(name, {search}) > 0)"
        )
    if query.name_equals:
        conditions.append(f"name = {params.text(query.name_equals)}")
    if query.name_contains:
        conditions.append(f"positionCaseInsensitiveUTF8(name, {params.text(query.name_contains)}) > 0")
    if query.start_ms is not None or query.end_ms is not None:
        lo = params.number(query.start_ms if query.start_ms is not None else -(2**62))
        hi = params.number(query.end_ms if query.end_ms is not None else 2**62)
        # Only a session that starts before the window and ends after it needs its requests read
        # (few do): the set of those comes first, so the requests are read by key, if at all. Old
        # rollup versions only add candidates, which the requests then rule out: no FINAL needed.
        spanning = (
            f"SELECT session_id FROM sessions WHERE org_id = {params.text(org_id)} "
            f"AND first_created_at_ms < {lo} AND last_created_at_ms >= {hi}"
        )
        inside = (
            f"SELECT session_id FROM {live_requests(params, org_id)} WHERE session_id IN ({spanning}) "
            f"AND created_at_ms >= {lo} AND created_at_ms < {hi}"
        )
        conditions.append(
            f"first_created_at_ms < {hi} AND last_created_at_ms >= {lo} AND "
            f"(first_created_at_ms >= {lo} OR last_created_at_ms < {hi} OR session_id IN ({inside}))"
        )
    condition = session_condition_sql(params, org_id, query.filter)
    if condition is not None:
        conditions.append(condition)
    return " AND ".join(conditions)


def request_where(params: Params, org_id: str, node: FilterNode, is_scored: bool | None) -> str:
    conditions = ["true"]
    condition = request_condition_sql(params, org_id, node)
    if condition is not None:
        conditions.append(condition)
    if is_scored is not None:
        conditions.append("notEmpty(scores)" if is_scored else "empty(scores)")
    return " AND ".join(conditions)


def request_order(params: Params, sort: RequestSort) -> str:
    """ORDER BY for a sort; missing values go last either way, ties fall back to newest first, then id."""
    if sort.key == "properties":
        key = params.text(str(sort.property))
        column = f"if(mapContains(properties, {key}), properties[{key}], NULL)"
    else:
        column = REQUEST_SORT[sort.key]
    return f"{column} {sort.direction.upper()} NULLS LAST, created_at_ms DESC, request_id DESC"
