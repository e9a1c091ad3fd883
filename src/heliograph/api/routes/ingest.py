"""Async logging endpoints (`/custom/v1/log`, `/oai/v1/log`, `/anthropic/v1/log`), answered after commit.

Helicone's custom trace endpoints (`/v1/trace/custom/log`, `/v1/trace/custom/v1/log` and
`/v1/trace/custom/log/typed`) take the same body with its provider in it, and answer the same way.

They are the hottest path of the server, so they are answered ahead of FastAPI and its middleware
(api.ingest_paths) rather than as FastAPI routes: routing, dependency solving, response classes and
the middleware layers cost several times the work of the endpoint itself. What they do is described
for the OpenAPI document by `OPENAPI_PATHS`, and their errors use the same envelope as every other
endpoint.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from starlette.types import Receive, Scope

from heliograph.api.asgi import decoded_headers, header, read_body
from heliograph.api.deps import org_for_bearer
from heliograph.api.errors import ERROR_RESPONSES
from heliograph.api.ingest_paths import Answer, IngestEndpoint
from heliograph.api.routing import OFF_LOOP_JSON_BYTES, check_json_content_type
from heliograph.domain.records import now_ms
from heliograph.ingest.asynclog import PROVIDERS, parse_async_log

__all__ = ["ASYNC_LOG_ENDPOINTS", "CUSTOM_TRACE_PATHS", "OPENAPI_PATHS", "log_call"]

CUSTOM_TRACE_PATHS = ("/v1/trace/custom/log", "/v1/trace/custom/v1/log", "/v1/trace/custom/log/typed")
_CUSTOM_TRACE = ""  # as the provider of a path: the body names it
_PROVIDER_OF_PATH = {
    **{f"/{prefix}/v1/log": provider for prefix, provider in PROVIDERS.items()},
    **dict.fromkeys(CUSTOM_TRACE_PATHS, _CUSTOM_TRACE),
}
_OK_HEADERS = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"2")]


async def log_call(
    state: Any, scope: Scope, receive: Receive, max_bytes: int, *, provider: str
) -> Answer | None:
    """Authenticate, read, parse, price and queue one logged call; the answer once it is committed.

    `state` is the app's: its store (for the key), pipeline and price table.
    """
    headers = decoded_headers(scope)
    org_id = await org_for_bearer(state.store, header(headers, "authorization"))
    check_json_content_type(header(headers, "content-type"))
    body = await read_body(receive, max_bytes=max_bytes)
    if body is None:  # the client went away before sending its body: nothing to store or answer
        return None
    parse = functools.partial(
        parse_async_log,
        body,
        provider=provider,
        headers=headers,
        org_id=org_id,
        received_at_ms=now_ms(),
        prices=state.prices,
        custom_trace=provider == _CUSTOM_TRACE,
    )
    # A large body takes milliseconds to parse and normalise: in a worker thread, off the loop.
    record = await asyncio.to_thread(parse) if len(body) > OFF_LOOP_JSON_BYTES else parse()
    await state.pipeline.submit(record)
    return Answer([*_OK_HEADERS, (b"helicone-id", record.request_id.encode())], b"ok")


# Every async-log and custom-trace path, with the provider it implies.
ASYNC_LOG_ENDPOINTS: dict[str, IngestEndpoint] = {
    path: functools.partial(log_call, provider=provider) for path, provider in _PROVIDER_OF_PATH.items()
}


def _operation(*, operation_id: str, summary: str, description: str, schema: str) -> dict[str, Any]:
    return {
        "post": {
            "tags": ["ingestion"],
            "summary": summary,
            "description": description
            + " Answers `ok` with header `helicone-id` only after the record is committed.",
            "operationId": operation_id,
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
            },
            "responses": {
                "200": {
                    "description": "Committed",
                    "headers": {
                        "helicone-id": {
                            "description": "The stored request's id",
                            "schema": {"type": "string"},
                        }
                    },
                    "content": {"text/plain": {"schema": {"type": "string"}, "example": "ok"}},
                },
                **{str(status): ERROR_RESPONSES[status] for status in (400, 401, 413, 415, 422, 503)},
            },
        }
    }


OPENAPI_PATHS: dict[str, dict[str, Any]] = {
    **{
        f"/{prefix}/v1/log": _operation(
            operation_id=f"log_{prefix}",
            summary=f"Log a {provider} call",
            description="Log one model call as Helicone's logging clients send it.",
            schema="AsyncLogCreate",
        )
        for prefix, provider in PROVIDERS.items()
    },
    **{
        path: _operation(
            operation_id="log_" + path.strip("/").replace("/", "_"),
            summary="Log a custom trace",
            description=(
                "Helicone's custom trace: the async-log body with the call's `provider`, "
                "and times that may be strings."
            ),
            schema="CustomTraceCreate",
        )
        for path in CUSTOM_TRACE_PATHS
    },
}
