"""Feedback comparison: per value of a property (or model/provider), the sessions, the positive rate
with its 95% Wilson interval and whether it differs significantly from the best value; the same
store query and statistics as POST /v1/session/feedback/breakdown."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from heliograph.api.deps import StoreDep
from heliograph.dashboard.auth import Viewer, ViewerDep
from heliograph.dashboard.listing import (
    MAX_KEY_CHARS,
    RANGE_CHOICES,
    RANGES,
    SessionFilters,
    SessionListView,
)
from heliograph.dashboard.rendering import partial_target, render
from heliograph.dashboard.trend import trend_chart
from heliograph.domain import feedback
from heliograph.domain.breakdown import BUILTIN_DIMENSIONS, MAX_BREAKDOWN_VALUES, breakdown, check_dimension
from heliograph.domain.feedback_values import MAX_NAME_CHARS
from heliograph.domain.records import FEEDBACK_KEY, SESSION_ID_KEY, SESSION_NAME_KEY, SESSION_PATH_KEY, now_ms
from heliograph.domain.sessions import SessionQuery
from heliograph.domain.store import Store
from heliograph.errors import InvalidInput

router = APIRouter()

RESULTS = "compare-results"
SIGNIFICANCE = 0.05
SUGGESTION_SESSIONS = 5  # property keys are suggested from the newest few sessions
_NOT_SUGGESTED = {SESSION_ID_KEY, SESSION_NAME_KEY, SESSION_PATH_KEY, FEEDBACK_KEY}


@dataclass(frozen=True, slots=True)
class CompareView:
    dimension: str = ""
    time_range: str = "all"
    name: str = ""  # a feedback name: compare its records instead of the sessions' ratings

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> CompareView:
        time_range = params.get("range", "all")
        return cls(
            dimension=params.get("property", "").strip()[:MAX_KEY_CHARS],
            time_range=time_range if time_range in RANGES else "all",
            name=params.get("name", "").strip()[:MAX_NAME_CHARS],
        )

    def filters(self) -> SessionFilters:
        return SessionFilters(time_range=self.time_range)

    def sessions_url(self, value: str) -> str:
        """The session list narrowed to one value of the dimension."""
        filters = SessionFilters(time_range=self.time_range, prop_key=self.dimension, prop_value=value)
        return SessionListView(filters=filters).url()

    def url(self) -> str:
        params = {
            "property": self.dimension,
            "range": "" if self.time_range == "all" else self.time_range,
            "name": self.name,
        }
        query = {k: v for k, v in params.items() if v}
        return "/dashboard/feedback" + (f"?{urlencode(query)}" if query else "")


async def suggested_dimensions(store: Store, viewer: Viewer) -> list[str]:
    """model, provider, and the property keys of the newest sessions' requests."""
    keys: set[str] = set()
    newest = await store.query_sessions(org_id=viewer.org_id, query=SessionQuery(limit=SUGGESTION_SESSIONS))
    for summary in newest:
        for stored in await store.session_requests(org_id=viewer.org_id, session_id=summary.session_id):
            keys.update(stored.record.properties)
    return [*BUILTIN_DIMENSIONS, *sorted(keys - _NOT_SUGGESTED, key=str.lower)]


@router.get("/dashboard/feedback")
async def compare_page(request: Request, viewer: ViewerDep, store: StoreDep) -> Response:
    view = CompareView.from_params(request.query_params)
    target = partial_target(request)
    context = {
        "viewer": viewer,
        "section": "feedback",
        "view": view,
        "range_choices": RANGE_CHOICES,
        "rows": [],
        "error": None,
        "significance": SIGNIFICANCE,
        "suggestions": [] if target == RESULTS else await suggested_dimensions(store, viewer),
    }
    template = "_compare_results.html" if target == RESULTS else "compare.html"
    if not view.dimension:
        return render(template, context)
    try:
        dimension = check_dimension(view.dimension)
        query = view.filters().session_query(now=now_ms())
    except InvalidInput as exc:
        return render(template, {**context, "error": exc.message}, status_code=400)
    if view.name:
        try:
            context["rows"] = await feedback.breakdown_by_name(
                store, org_id=viewer.org_id, query=query, dimension=dimension, name=view.name
            )
        except InvalidInput as exc:
            return render(template, {**context, "error": exc.message}, status_code=400)
    else:
        counts = await store.feedback_by_value(
            org_id=viewer.org_id, query=query, dimension=dimension, limit=MAX_BREAKDOWN_VALUES
        )
        context["rows"] = breakdown(counts)
        context["trend_data"] = await trend_chart(
            store,
            org_id=viewer.org_id,
            query=query,
            dimension=dimension,
            values=[c.value for c in counts],
            time_range=RANGES[view.time_range],
            now=now_ms(),
        )
    headers = {"HX-Push-Url": view.url()} if target == RESULTS else None
    return render(template, context, headers=headers)
