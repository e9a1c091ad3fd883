"""One session: facts, feedback buttons, path tree, timeline and requests; the feedback form posts here."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from heliograph.api import session_paths  # noqa: F401  (registers the session_id path convertor)
from heliograph.api.deps import StoreDep
from heliograph.dashboard.auth import SameOrigin, Viewer, ViewerDep
from heliograph.dashboard.formatting import quote_id
from heliograph.dashboard.rendering import PageNotFound, render
from heliograph.dashboard.routes.session_feedback import records_context
from heliograph.dashboard.session_view import (
    MAX_REQUEST_CARDS,
    MAX_TIMELINE_ROWS,
    MAX_TREE_LINKS,
    session_view,
)
from heliograph.domain import feedback
from heliograph.domain.headers import validate_session_id
from heliograph.domain.store import SessionSummary, Store
from heliograph.errors import InvalidInput, NotFound

router = APIRouter()

RATINGS: dict[str, bool | None] = {"up": True, "down": False, "clear": None}
PAGE_LIMITS = {"cards": MAX_REQUEST_CARDS, "timeline": MAX_TIMELINE_ROWS, "tree_links": MAX_TREE_LINKS}


def session_path(session_id: str) -> str:
    return f"/dashboard/sessions/{quote_id(session_id)}"


async def _summary_or_404(store: Store, viewer: Viewer, session_id: str) -> SessionSummary:
    """The session if the viewer's organization has it; another organization's is simply not found."""
    try:
        validate_session_id(session_id)
    except InvalidInput:
        raise PageNotFound("session") from None
    summary = await store.get_session(org_id=viewer.org_id, session_id=session_id)
    if summary is None:
        raise PageNotFound("session")
    return summary


@router.get("/dashboard/sessions/{session_id:session_id}")
async def session_page(
    session_id: str, viewer: ViewerDep, store: StoreDep, feedback_error: str | None = None
) -> Response:
    summary = await _summary_or_404(store, viewer, session_id)
    stored = await store.session_requests(org_id=viewer.org_id, session_id=session_id)
    context = {
        "viewer": viewer,
        "section": "sessions",
        "session": session_view(summary, stored),
        "feedback_url": session_path(session_id) + "/feedback",
        "limits": PAGE_LIMITS,
        **await records_context(store, viewer, session_id, feedback_error),
    }
    return render("session.html", context)


@router.post("/dashboard/sessions/{session_id:session_id}/feedback", dependencies=[SameOrigin])
async def rate_session(
    session_id: str,
    request: Request,
    viewer: ViewerDep,
    store: StoreDep,
    rating: Annotated[Literal["up", "down", "clear"], Form()],
) -> Response:
    """Thumbs up, down or clear through the API's own feedback logic; htmx gets the widget back,
    a plain form post is sent back to the session page."""
    try:
        await feedback.rate_session(
            store, org_id=viewer.org_id, session_id=session_id, rating=RATINGS[rating]
        )
    except (NotFound, InvalidInput):
        raise PageNotFound("session") from None
    if request.headers.get("HX-Request") != "true":
        return RedirectResponse(session_path(session_id), status_code=303)
    context = {
        "session_id": session_id,
        "feedback": RATINGS[rating],
        "feedback_url": session_path(session_id) + "/feedback",
        "just_saved": True,
    }
    return render("_feedback.html", context)
