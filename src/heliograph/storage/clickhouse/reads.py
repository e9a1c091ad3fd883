"""How every ClickHouse read sees de-duplicated rows, defined once, and the session rollup built on them.

A table may hold several versions of a row (a retry, a later property or score, a deletion) until a
merge collapses them, which may never happen. Each reader below reads its table FINAL, which keeps the
newest version of each key and drops deleted rows, so nothing is counted twice. Values reach the
server as typed query parameters (`Params`), never spliced into the text.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "ROLLUP_COLUMNS",
    "Params",
    "live",
    "live_requests",
    "session_rollup",
]


class Params:
    """Query parameters: `add` binds a value and returns its placeholder (`{p3:String}`)."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def add(self, value: Any, kind: str) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"{{{name}:{kind}}}"

    def text(self, value: str) -> str:
        return self.add(value, "String")

    def number(self, value: int | float) -> str:
        return self.add(value, "Int64" if isinstance(value, int) else "Float64")


def live(table: str, alias: str | None = None) -> str:
    """`table` (as `alias`) as its newest row versions, deleted rows left out."""
    return f"{table} AS {alias} FINAL" if alias else f"{table} FINAL"


def live_requests(params: Params, org_id: str, *, columns: str = "*") -> str:
    """A subquery of the organization's requests, each once."""
    return f"(SELECT {columns} FROM {live('requests')} WHERE org_id = {params.text(org_id)})"


# The rollup's columns, in the order `SessionSummary` is built from.
ROLLUP_COLUMNS = (
    "session_id, name, first_request_id, first_created_at_ms, last_created_at_ms, request_count, "
    "prompt_tokens, completion_tokens, total_tokens, cost_nano_usd, latency_sum_ms, feedback, user_ids"
)


def session_rollup(params: Params, org_id: str) -> str:
    """A subquery with one row per session of the organization: aggregates over all of its requests
    (each counted once), its first request (earliest, ties by smallest id), its newest non-empty name
    and its current feedback (NULL when not rated)."""
    org = params.text(org_id)
    return f"""(
    SELECT
        r.session_id AS session_id,
        argMaxIf(r.session_name, (r.created_at_ms, r.request_id), r.session_name != '') AS name,
        argMin(r.request_id, (r.created_at_ms, r.request_id)) AS first_request_id,
        min(r.created_at_ms) AS first_created_at_ms,
        max(r.created_at_ms) AS last_created_at_ms,
        toInt64(count()) AS request_count,
        sum(r.prompt_tokens) AS prompt_tokens,
        sum(r.completion_tokens) AS completion_tokens,
        sum(r.total_tokens) AS total_tokens,
        sum(r.cost_nano_usd) AS cost_nano_usd,
        sum(r.latency_ms) AS latency_sum_ms,
        any(f.rating) AS feedback,
        arraySort(groupUniqArrayIf(assumeNotNull(r.user_id), ifNull(r.user_id, '') != '')) AS user_ids
    FROM {live("requests", "r")}
    LEFT JOIN (
        SELECT session_id, toNullable(rating) AS rating FROM {live("session_feedback")} WHERE org_id = {org}
    ) AS f ON f.session_id = r.session_id
    WHERE r.org_id = {org} AND r.session_id != ''
    GROUP BY r.session_id
)"""
