"""The sessions list: filters, order and page from the URL; htmx swaps the results or the totals."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from heliograph.api.deps import StoreDep
from heliograph.dashboard.auth import ViewerDep
from heliograph.dashboard.listing import (
    FEEDBACK_CHOICES,
    PAGE_SIZE,
    RANGE_CHOICES,
    SORT_LABELS,
    SessionListView,
)
from heliograph.dashboard.rendering import partial_target, render
from heliograph.domain.records import now_ms
from heliograph.errors import InvalidInput

router = APIRouter()

RESULTS, TOTALS = "sessions-results", "session-totals"


@router.get("/dashboard/sessions")
async def sessions_page(request: Request, viewer: ViewerDep, store: StoreDep) -> Response:
    """A page of sessions (one indexed query); the totals come in a second request, filled in by htmx."""
    view = SessionListView.from_params(request.query_params)
    target = partial_target(request)
    context = {
        "viewer": viewer,
        "section": "sessions",
        "view": view,
        "range_choices": RANGE_CHOICES,
        "feedback_choices": FEEDBACK_CHOICES,
        "sort_labels": SORT_LABELS,
        "page_size": PAGE_SIZE,
        "error": None,
        "rows": [],
        "records": {},
        "has_next": False,
        "oob": target == RESULTS,
    }
    try:
        query = view.session_query(now=now_ms())
    except InvalidInput as exc:
        context["error"] = exc.message
        template = "_sessions_results.html" if target == RESULTS else "sessions.html"
        return render(template, context, status_code=400)
    if target == TOTALS:
        totals = await store.count_sessions(org_id=viewer.org_id, query=query)
        return render("_session_totals.html", {**context, "totals": totals})
    rows = await store.query_sessions(org_id=viewer.org_id, query=query)
    shown = rows[:PAGE_SIZE]
    records = await store.feedback_totals(org_id=viewer.org_id, session_ids=[s.session_id for s in shown])
    context.update(rows=shown, has_next=len(rows) > PAGE_SIZE, records=records)
    if target == RESULTS:
        # The address bar gets the short form of the view, not every empty field of the form.
        return render("_sessions_results.html", context, headers={"HX-Push-Url": view.url()})
    return render("sessions.html", context)
