"""Async logging endpoints (`/custom/v1/log`, `/oai/v1/log`, `/anthropic/v1/log`), answered after commit.

Helicone's custom trace endpoints (`/v1/trace/custom/log`, `/v1/trace/custom/v1/log` and
`/v1/trace/custom/log/typed`) take the same body with its provider in it, and answer the same way.

They are the hottest path of the server, so they are served by a plain ASGI middleware in front of
FastAPI's router rather than as FastAPI routes: routing, dependency solving and response classes cost
several times the work of the endpoint itself. What they do is described for the OpenAPI document by
`OPENAPI_PATHS`, and their errors use the same envelope as every other endpoint.
"""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from heliograph.api.asgi import decoded_headers, header, read_body
from heliograph.api.deps import org_for_bearer
from heliograph.api.errors import ERROR_RESPONSES, error_response, method_not_allowed
from heliograph.api.routing import OFF_LOOP_JSON_BYTES, check_json_content_type
from heliograph.domain.records import now_ms
from heliograph.errors import HeliographError
from heliograph.ingest.asynclog import PROVIDERS, parse_async_log

__all__ = ["CUSTOM_TRACE_PATHS", "OPENAPI_PATHS", "AsyncLogEndpoints"]

CUSTOM_TRACE_PATHS = ("/v1/trace/custom/log", "/v1/trace/custom/v1/log", "/v1/trace/custom/log/typed")
_CUSTOM_TRACE = ""  # as the provider of a path: the body names it
_PROVIDER_OF_PATH = {
    **{f"/{prefix}/v1/log": provider for prefix, provider in PROVIDERS.items()},
    **dict.fromkeys(CUSTOM_TRACE_PATHS, _CUSTOM_TRACE),
}
_OK_HEADERS = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", b"2")]


class AsyncLogEndpoints:
    """ASGI middleware: answers `/<provider>/v1/log` itself (405 but for POST) and passes everything else on.

    It must sit inside the body size limit and outside the gateway's middleware, so that
    `/anthropic/v1/log` is the async log's; the store, pipeline and prices come from `app.state`.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        provider = _PROVIDER_OF_PATH.get(scope["path"]) if scope["type"] == "http" else None
        if provider is None:  # not one of these endpoints
            await self.app(scope, receive, send)
            return
        if scope["method"] != "POST":
            await method_not_allowed(["POST"])(scope, receive, send)
            return
        try:
            await self._log(scope, receive, send, provider)
        except HeliographError as exc:
            await error_response(exc)(scope, receive, send)

    async def _log(self, scope: Scope, receive: Receive, send: Send, provider: str) -> None:
        state = scope["app"].state
        headers = decoded_headers(scope)
        org_id = await org_for_bearer(state.store, header(headers, "authorization"))
        check_json_content_type(header(headers, "content-type"))
        body = await read_body(receive)
        if body is None:  # the client went away before sending its body: nothing to store or answer
            return
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
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [*_OK_HEADERS, (b"helicone-id", record.request_id.encode())],
            }
        )
        await send({"type": "http.response.body", "body": b"ok"})


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
