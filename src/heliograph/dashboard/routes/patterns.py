"""`/dashboard/patterns`: every component of the dashboard on one page, with made-up data, for review."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from heliograph.dashboard import samples
from heliograph.dashboard.auth import SameOrigin, ViewerDep
from heliograph.dashboard.listing import (
    FEEDBACK_CHOICES,
    PAGE_SIZE,
    RANGE_CHOICES,
    SORT_LABELS,
    SessionListView,
)
from heliograph.dashboard.rendering import render
from heliograph.dashboard.routes.compare import SIGNIFICANCE, CompareView
from heliograph.dashboard.routes.session import PAGE_LIMITS, RATINGS

router = APIRouter()

PATTERN_FEEDBACK_URL = "/dashboard/patterns/feedback"
PATTERN_WIDGETS = ("pattern-feedback-1", "pattern-feedback-2", "pattern-feedback-3")
PATTERN_RECORDS_URL = "/dashboard/patterns/feedback-records"


@router.get("/dashboard/patterns")
async def patterns_page(viewer: ViewerDep) -> Response:
    context = {
        "viewer": viewer,
        "section": "patterns",
        "view": SessionListView.from_params({"page": "2", "q": "trip"}),
        "range_choices": RANGE_CHOICES,
        "feedback_choices": FEEDBACK_CHOICES,
        "sort_labels": SORT_LABELS,
        "page_size": PAGE_SIZE,
        "rows": samples.sample_sessions(),
        "totals": samples.sample_totals(),
        "session": samples.sample_session(),
        "limits": PAGE_LIMITS,
        "charts": samples.sample_charts(),
        "comparison": samples.sample_comparison(),
        "compare_view": CompareView(dimension="prompt-version"),
        "significance": SIGNIFICANCE,
        "pattern_feedback_url": PATTERN_FEEDBACK_URL,
        "pattern_widgets": PATTERN_WIDGETS,
        "records": samples.sample_records(),
        "my_rater": "dashboard:sk-hg-abc",
        "records_url": PATTERN_RECORDS_URL,
        "feedback_error": None,
        "record_comparison": samples.sample_record_comparison(),
        "compare_records_view": CompareView(dimension="prompt-version", name="stars"),
    }
    return render("patterns.html", context)


@router.post("/dashboard/patterns/feedback", dependencies=[SameOrigin])
async def pattern_feedback(
    request: Request, _viewer: ViewerDep, rating: Annotated[Literal["up", "down", "clear"], Form()]
) -> Response:
    """The sample feedback widgets' target: answers as the real one does, but stores nothing."""
    widget_id = request.headers.get("HX-Target", "")
    if widget_id not in PATTERN_WIDGETS:
        return RedirectResponse("/dashboard/patterns", status_code=303)
    context = {
        "feedback": RATINGS[rating],
        "feedback_url": PATTERN_FEEDBACK_URL,
        "widget_id": widget_id,
        "just_saved": True,
    }
    return render("_feedback.html", context)


@router.post(PATTERN_RECORDS_URL, dependencies=[SameOrigin])
async def pattern_feedback_record(_viewer: ViewerDep) -> Response:
    """The sample "Your feedback" form's target: back to the page, storing nothing."""
    return RedirectResponse("/dashboard/patterns#feedback-records", status_code=303)
