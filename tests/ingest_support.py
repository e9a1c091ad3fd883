"""Helpers the async-log ingestion tests share: posting a log, reading the stored row back, and bodies.

Used by tests/api/test_ingest*.py (`from ingest_support import ...`); constants are the server's defaults
and a fixed start time, so expected values can be computed by hand.
"""

from __future__ import annotations

import asyncio
import copy
import json
import uuid
from typing import Any

import httpx
import sqlalchemy as sa

from heliograph.storage.sql.schema import requests as requests_table
from heliograph.storage.sql.store import SqlStore
from support import Tenant, everything_of, skip_on_chdb, timing

__all__ = [
    "MAX_BODY_BYTES",
    "REMOVE",
    "START_ISO",
    "START_MS",
    "assert_nothing_stored",
    "assert_ok",
    "body_with",
    "log",
    "only",
    "post",
    "set_path",
    "snapshot",
    "sse",
    "stored_row",
    "stored_row_count",
]

MAX_BODY_BYTES = 10 * 1024 * 1024  # the server's default limit
START_MS = 1_700_000_000_000  # 2023-11-14T22:13:20.000Z
START_ISO = "2023-11-14T22:13:20.000Z"
REMOVE = object()  # for set_path: remove the dotted path instead of setting it


def assert_ok(response: httpx.Response) -> str:
    """A successful async log: 200 `ok` and a canonical UUID in `helicone-id`; returns that id."""
    assert response.status_code == 200, response.text
    assert response.text == "ok"
    request_id = response.headers["helicone-id"]
    assert str(uuid.UUID(request_id)) == request_id
    return request_id


def post(
    tenant: Tenant,
    body: Any,
    *,
    path: str = "/oai/v1/log",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """POST `body` (JSON-encoded unless already bytes) to a log endpoint and return the response."""
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return tenant.client.post(
        path, content=content, headers={"Content-Type": "application/json", **(headers or {})}
    )


def log(
    tenant: Tenant, body: Any, *, path: str = "/oai/v1/log", headers: dict[str, str] | None = None
) -> str:
    """Log one call that must succeed; the id joins `tenant.logged` so everything_of covers it."""
    request_id = assert_ok(post(tenant, body, path=path, headers=headers))
    tenant.logged.append(request_id)
    return request_id


def stored_row(tenant: Tenant, request_id: str) -> dict[str, Any]:
    """The stored row of `request_id`, read back with GET /v1/request/{id} (must exist)."""
    response = tenant.client.get(f"/v1/request/{request_id}")
    assert response.status_code == 200, response.text
    row: dict[str, Any] = response.json()["data"]
    assert row["request_id"] == request_id
    assert row["request_properties"] == row["properties"]
    return row


def only(row: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    """The fields of `row` that `expected` names, so the two compare as whole dicts."""
    return {key: row.get(key) for key in expected}


def stored_row_count(tenant: Tenant) -> int:
    """Rows in the requests table for the tenant's organization, whatever their ids."""
    skip_on_chdb(tenant.server.database_url)
    org_id = tenant.org_id

    async def count() -> int:
        store = SqlStore.from_url(tenant.server.database_url)
        try:
            async with store.engines.reader.connect() as conn:
                stmt = (
                    sa.select(sa.func.count())
                    .select_from(requests_table)
                    .where(requests_table.c.org_id == org_id)
                )
                return int((await conn.execute(stmt)).scalar_one())
        finally:
            await store.close()

    return asyncio.run(count())


def snapshot(tenant: Tenant) -> tuple[dict[str, Any], int]:
    """What the API shows of the tenant (everything_of) and its organization's stored row count (on chdb,
    which only the server may open, the count of requests the API finds)."""
    if tenant.server.database_url.startswith("chdb:"):
        counted = tenant.client.post("/v1/request/count/query", json={"filter": "all"})
        assert counted.status_code == 200, counted.text
        return everything_of(tenant), int(counted.json()["data"])
    return everything_of(tenant), stored_row_count(tenant)


def assert_nothing_stored(tenant: Tenant, before: tuple[dict[str, Any], int], request_id: str) -> None:
    """Nothing changed since the `before` snapshot and `request_id` is not stored (404)."""
    assert snapshot(tenant) == before
    missing = tenant.client.get(f"/v1/request/{request_id}")
    assert missing.status_code == 404, missing.text


def body_with(request_json: Any, response_json: Any, *, text_body: str | None = None) -> dict[str, Any]:
    """An async-log body with exactly the given request and response, started at START_MS."""
    response: dict[str, Any] = {"headers": {}, "status": 200, "json": response_json}
    if text_body is not None:
        response["textBody"] = text_body
    return {
        "providerRequest": {"url": "custom-model-nopath", "json": request_json, "meta": {}},
        "providerResponse": response,
        "timing": timing(START_MS, START_MS + 100),
    }


def sse(*events: dict[str, Any], done: bool = False, named: bool = False) -> str:
    """A server-sent-events stream as the provider sends it (`event:` lines when `named`)."""
    lines = []
    for event in events:
        if named:
            lines.append(f"event: {event['type']}")
        lines.extend([f"data: {json.dumps(event)}", ""])
    if done:
        lines.extend(["data: [DONE]", ""])
    return "\n".join(lines) + "\n"


def set_path(body: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """A deep copy of `body` with one dotted path set, or removed when `value` is REMOVE."""
    changed = copy.deepcopy(body)
    *parents, last = dotted.split(".")
    node = changed
    for part in parents:
        node = node[part]
    if value is REMOVE:
        del node[last]
    else:
        node[last] = value
    return changed
