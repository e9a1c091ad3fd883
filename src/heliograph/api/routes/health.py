"""`GET /healthz`: 200 while the database answers, 503 when it does not."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from heliograph.api.deps import PipelineDep, StoreDep

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(store: StoreDep, pipeline: PipelineDep) -> JSONResponse:
    """Database reachability and the ingest queue's depth."""
    try:
        await store.ping()
    except Exception as exc:  # any failure to reach the database is the answer, not a crash
        return JSONResponse(
            {"data": None, "error": f"database unreachable: {type(exc).__name__}"},
            status_code=503,
            headers={"Retry-After": "1"},
        )
    return JSONResponse({"data": {"status": "ok", "queued": pipeline.queued}, "error": None})
