"""Ways into the dashboard: `/` and `/dashboard` lead to the sessions, unknown dashboard paths get 404."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import RedirectResponse

from heliograph.dashboard.rendering import PageNotFound

router = APIRouter()

HOME = "/dashboard/sessions"


@router.get("/")
@router.get("/dashboard")
async def home() -> RedirectResponse:
    """The sessions list (which asks for a sign-in first when there is none)."""
    return RedirectResponse(HOME, status_code=303)


@router.get("/dashboard/{_rest:path}")
async def unknown_page(_rest: str) -> None:
    raise PageNotFound("page")
