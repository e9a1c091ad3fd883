"""The dashboard's pages, one module per page, and the API's `/docs`; `router` holds them all (kept out of
the OpenAPI document)."""

from __future__ import annotations

from fastapi import APIRouter

from heliograph.dashboard.routes import (
    api_docs,
    compare,
    entry,
    metrics,
    monitors,
    patterns,
    session,
    session_feedback,
    sessions,
    sign_in,
)

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
for _page in (sign_in, sessions, session_feedback, session, metrics, compare, monitors, patterns, api_docs):
    router.include_router(_page.router)
router.include_router(entry.router)  # last: its catch-all answers the dashboard's unknown paths
