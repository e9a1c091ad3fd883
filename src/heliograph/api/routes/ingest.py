"""Async logging endpoints (`/custom/v1/log`, `/oai/v1/log`, `/anthropic/v1/log`), answered after commit."""

from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from heliograph.api.deps import CurrentOrg, PipelineDep, PricesDep
from heliograph.api.errors import ERROR_RESPONSES
from heliograph.api.openapi import ASYNC_LOG_BODY
from heliograph.ingest.asynclog import PROVIDERS, parse_async_log

router = APIRouter(tags=["ingestion"])

_DESCRIPTION = (
    "Log one model call as Helicone's logging clients send it. Answers `ok` with header "
    "`helicone-id` only after the record is committed."
)


def _log_endpoint(prefix: str, provider: str) -> None:
    @router.post(
        f"/{prefix}/v1/log",
        response_class=PlainTextResponse,
        summary=f"Log a {provider} call",
        description=_DESCRIPTION,
        operation_id=f"log_{prefix}",
        responses={
            200: {
                "content": {"text/plain": {"schema": {"type": "string"}, "example": "ok"}},
                "headers": {
                    "helicone-id": {"description": "The stored request's id", "schema": {"type": "string"}}
                },
            },
            **{status: ERROR_RESPONSES[status] for status in (400, 401, 413, 503)},
        },
        openapi_extra={"requestBody": ASYNC_LOG_BODY},
    )
    async def log_call(
        request: Request, org_id: CurrentOrg, pipeline: PipelineDep, prices: PricesDep
    ) -> PlainTextResponse:
        record = parse_async_log(
            await request.body(),
            provider=provider,
            headers=request.headers.items(),
            org_id=org_id,
            received_at_ms=time.time_ns() // 1_000_000,
            prices=prices,
        )
        await pipeline.submit(record)
        return PlainTextResponse("ok", headers={"helicone-id": record.request_id})


for _prefix, _provider in PROVIDERS.items():
    _log_endpoint(_prefix, _provider)
