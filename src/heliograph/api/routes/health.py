"""`GET /healthz`: 200 while the database answers reads and would take a write, 503 with the reason if not."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from heliograph.api.deps import PipelineDep, StoreDep
from heliograph.api.errors import ERROR_RESPONSES

router = APIRouter(tags=["health"])


@router.get("/healthz", responses={503: ERROR_RESPONSES[503]})
async def healthz(store: StoreDep, pipeline: PipelineDep) -> JSONResponse:
    """Database reachability (503 with the fault, e.g. unreachable or locked) and the ingest queue's depth."""
    await store.ping()  # Unavailable -> 503 with Retry-After and the reason, like every other endpoint
    return JSONResponse({"data": {"status": "ok", "queued": pipeline.queued}, "error": None})
