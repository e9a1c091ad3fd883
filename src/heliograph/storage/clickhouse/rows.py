"""Rows of the ClickHouse `requests` table to and from the domain's records, and rollup rows to summaries."""

from __future__ import annotations

from typing import Any

from heliograph.domain.records import FEEDBACK_KEY, RequestRecord
from heliograph.domain.store import SessionSummary, StoredRequest
from heliograph.storage.clickhouse.schema import REQUESTS
from heliograph.storage.columns import request_columns

__all__ = [
    "PENDING_REQUEST_ID",
    "REQUEST_COLUMNS",
    "pending_mark_row",
    "request_row",
    "session_summary",
    "stored_request",
]

REQUEST_COLUMNS = REQUESTS.column_names()
# A pending mark is a deleted row of this request id in the session's key range (so no read of live
# requests ever sees it), written in the same INSERT as the session's new requests: see rollups.py.
PENDING_REQUEST_ID = ""


def _empty(kind: str) -> Any:
    """The value a column of `kind` holds when it says nothing."""
    if kind.startswith("Nullable"):
        return None
    if kind.startswith("Map"):
        return {}
    if kind == "Bool":
        return False
    return "" if "String" in kind else 0


_EMPTY_ROW = {name: _empty(kind) for name, kind in REQUESTS.columns}


def pending_mark_row(org_id: str, session_id: str, created_at_ms: int, version: int) -> list[Any]:
    """The pending mark of a session about to get requests, the earliest created at `created_at_ms`."""
    values = {
        **_EMPTY_ROW,
        "org_id": org_id,
        "session_id": session_id,
        "request_id": PENDING_REQUEST_ID,
        "created_at_ms": created_at_ms,
        "version": version,
        "deleted": 1,
    }
    return [values[c] for c in REQUEST_COLUMNS]


def request_row(r: RequestRecord, *, version: int) -> list[Any]:
    values = {
        **request_columns(r),
        "session_id": r.session_id or "",
        "session_name": r.session_name,
        "properties": r.properties,
        "scores": {},
        "version": version,
        "deleted": 0,
    }
    return [values[c] for c in REQUEST_COLUMNS]


def stored_request(row: dict[str, Any], rating: int | None) -> StoredRequest:
    properties = dict(row["properties"])
    if rating is not None:
        properties[FEEDBACK_KEY] = "1" if rating else "0"
    record = RequestRecord(
        org_id=row["org_id"],
        request_id=row["request_id"],
        created_at_ms=row["created_at_ms"],
        response_created_at_ms=row["response_created_at_ms"],
        latency_ms=row["latency_ms"],
        time_to_first_token_ms=row["time_to_first_token_ms"],
        status=row["status"],
        provider=row["provider"],
        model=row["model"],
        request_model=row["request_model"],
        user_id=row["user_id"],
        prompt_tokens=row["prompt_tokens"],
        completion_tokens=row["completion_tokens"],
        cache_read_tokens=row["cache_read_tokens"],
        cache_write_tokens=row["cache_write_tokens"],
        cost_nano_usd=row["cost_nano_usd"],
        cost_known=bool(row["cost_known"]),
        target_url=row["target_url"],
        request_body=row["request_body"],
        response_body=row["response_body"],
        properties=properties,
    )
    return StoredRequest(record=record, scores={str(k): int(v) for k, v in row["scores"].items()})


def session_summary(row: tuple[Any, ...]) -> SessionSummary:
    (
        sid,
        name,
        first,
        first_ms,
        last_ms,
        count,
        prompt,
        completion,
        total,
        cost,
        latency,
        feedback,
        users,
    ) = row
    return SessionSummary(
        session_id=str(sid),
        name=str(name),
        first_request_id=str(first),
        created_at_ms=int(first_ms),
        latest_request_created_at_ms=int(last_ms),
        request_count=int(count),
        prompt_tokens=int(prompt),
        completion_tokens=int(completion),
        total_tokens=int(total),
        cost_nano_usd=int(cost),
        latency_sum_ms=int(latency),
        feedback=None if feedback is None else bool(feedback),
        user_ids=[str(u) for u in users],
    )
