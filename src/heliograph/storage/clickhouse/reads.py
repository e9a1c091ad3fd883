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
    "drop_stale_rollups",
    "live",
    "live_requests",
    "recompute_sessions",
    "rollup_computed_ms",
    "saturated_sum",
    "session_rollup",
    "wide_sum",
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


def live_requests(params: Params, org_id: str, *, columns: str = "*", keys: str = "true") -> str:
    """A subquery of the organization's requests, each once; `keys` may narrow it by what every version
    of a row shares (its key columns and its time), which the indexes then use."""
    return f"(SELECT {columns} FROM {live('requests')} WHERE org_id = {params.text(org_id)} AND {keys})"


# The rollup's columns, in the order `SessionSummary` is built from.
ROLLUP_COLUMNS = (
    "session_id, name, first_request_id, first_created_at_ms, last_created_at_ms, request_count, "
    "prompt_tokens, completion_tokens, total_tokens, cost_nano_usd, latency_sum_ms, feedback, user_ids"
)
# What a session's requests carry, kept on its rollup for filters and the breakdown.
_CARRIED = "property_pairs, models, providers"
_INT64_MAX = 2**63 - 1


def wide_sum(expression: str) -> str:
    """A sum over sessions that cannot overflow: 128 bits wide (each session's sum holds at Int64)."""
    return f"sum(toInt128({expression}))"


def saturated_sum(expression: str) -> str:
    """A sum that stops at the largest Int64 instead of wrapping around, as ClickHouse's sum would."""
    return f"toInt64(least(sum(toInt128({expression})), {_INT64_MAX}))"


def session_rollup(params: Params, org_id: str) -> str:
    """A subquery with one row per session of the organization (the stored rollup, newest version)."""
    return (
        f"(SELECT {ROLLUP_COLUMNS}, {_CARRIED} FROM {live('sessions')} WHERE org_id = {params.text(org_id)})"
    )


# A rollup's version: the requests it counted, then the milliseconds since 2025 at which it was
# computed (2**43 ms is 278 years). A rollup that saw more requests always wins, whatever the clocks of
# the servers say; of two that saw as many (a new rating, a later property), the later one.
_COUNTED_SHIFT = 2**43
_VERSION_EPOCH_MS = 1_735_689_600_000


def rollup_computed_ms(version: str) -> str:
    """SQL: when the rollup of `version` was computed (epoch ms), as rollup_version put it in."""
    return f"(toInt64({version} % {_COUNTED_SHIFT}) + {_VERSION_EPOCH_MS})"


def recompute_sessions(keys: str, now_ms: str) -> str:
    """INSERT … SELECT of a new rollup version for each (org id, session id) in the array `keys`:
    aggregates over all of its requests (each counted once), its first request (earliest, ties by
    smallest id), its newest non-empty name, its current feedback (NULL when not rated) and the
    (key, value) pairs of its requests' properties, their models and providers.

    The version counts every request id the session ever had, deleted ones included (their deletion
    rows stay), so it never goes down. Every writer inserts its requests before it recomputes their
    sessions, so of two servers writing one session at once, the one that reads second sees both
    inserts; its rollup counts more requests, so its version is higher and it is the one read."""
    return f"""INSERT INTO sessions ({ROLLUP_COLUMNS}, {_CARRIED}, org_id, version, deleted)
SELECT
    r.session_id,
    argMaxIf(r.session_name, (r.created_at_ms, r.request_id), r.session_name != ''),
    argMin(r.request_id, (r.created_at_ms, r.request_id)),
    min(r.created_at_ms),
    max(r.created_at_ms),
    toInt64(count()),
    {saturated_sum("r.prompt_tokens")},
    {saturated_sum("r.completion_tokens")},
    {saturated_sum("r.total_tokens")},
    {saturated_sum("r.cost_nano_usd")},
    {saturated_sum("r.latency_ms")},
    any(f.rating),
    arraySort(groupUniqArrayIf(assumeNotNull(r.user_id), ifNull(r.user_id, '') != '')),
    groupUniqArrayArray(arrayZip(mapKeys(r.properties), mapValues(r.properties))),
    groupUniqArray(r.model),
    groupUniqArray(toString(r.provider)),
    r.org_id,
    toUInt64(any(v.seen)) * {_COUNTED_SHIFT} + toUInt64({now_ms} - {_VERSION_EPOCH_MS}),
    0
FROM {live("requests", "r")}
LEFT JOIN (
    SELECT org_id, session_id, uniqExact(request_id) AS seen FROM requests
    WHERE (org_id, session_id) IN {keys} AND request_id != '' GROUP BY org_id, session_id
) AS v ON v.org_id = r.org_id AND v.session_id = r.session_id
LEFT JOIN (
    SELECT org_id, session_id, toNullable(rating) AS rating FROM {live("session_feedback")}
    WHERE (org_id, session_id) IN {keys}
) AS f ON f.org_id = r.org_id AND f.session_id = r.session_id
WHERE (r.org_id, r.session_id) IN {keys}
GROUP BY r.org_id, r.session_id"""


def drop_stale_rollups(keys: str) -> str:
    """INSERT … SELECT of deletion rows for the rollups of the sessions in `keys` that are no longer
    current: one superseded by a newer version under another key (a late request started the session
    earlier, or its first request was deleted), and every one of a session left without requests."""
    return f"""INSERT INTO sessions (org_id, first_created_at_ms, session_id, version, deleted)
SELECT org_id, first_created_at_ms, session_id, newest, 1 FROM (
    SELECT org_id, first_created_at_ms, session_id, version,
        max(version) OVER (PARTITION BY org_id, session_id) AS newest
    FROM {live("sessions")}
    -- Every rollup these sessions ever had starts at one of their requests: a range of the key.
    WHERE first_created_at_ms >= (
        SELECT min(created_at_ms) FROM requests WHERE (org_id, session_id) IN {keys}
    ) AND (org_id, session_id) IN {keys}
)
WHERE version < newest OR (org_id, session_id) NOT IN (
    SELECT org_id, session_id FROM {live("requests")} WHERE (org_id, session_id) IN {keys}
)"""
