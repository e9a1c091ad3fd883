"""Session metrics: histograms of cost, duration and request count (the API's distributions, with its
pSize and interquartile controls) and sessions and feedback per day."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from heliograph.api.deps import StoreDep
from heliograph.dashboard.auth import ViewerDep
from heliograph.dashboard.charts import activity_chart, histogram_chart
from heliograph.dashboard.listing import FEEDBACK_CHOICES, RANGE_CHOICES, RANGES, SessionFilters
from heliograph.dashboard.rendering import partial_target, render
from heliograph.domain.metrics import PERCENTILES, percentile_fraction
from heliograph.domain.records import now_ms
from heliograph.errors import InvalidInput

router = APIRouter()

RESULTS = "metrics-results"
DEFAULT_P_SIZE = "p75"  # the API's default too
P_SIZE_CHOICES = {name: f"{fraction * 100:g}th percentile" for name, fraction in PERCENTILES.items()}


@dataclass(frozen=True, slots=True)
class MetricsView:
    filters: SessionFilters
    p_size: str = DEFAULT_P_SIZE
    interquartile: bool = False

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> MetricsView:
        p_size = params.get("p", DEFAULT_P_SIZE)
        return cls(
            filters=SessionFilters.from_params(params),
            p_size=p_size if p_size in PERCENTILES else DEFAULT_P_SIZE,
            interquartile=params.get("iqr") == "1",
        )

    def url(self) -> str:
        params = self.filters.params()
        if self.p_size != DEFAULT_P_SIZE:
            params["p"] = self.p_size
        if self.interquartile:
            params["iqr"] = "1"
        return "/dashboard/metrics" + (f"?{urlencode(params)}" if params else "")


@router.get("/dashboard/metrics")
async def metrics_page(request: Request, viewer: ViewerDep, store: StoreDep) -> Response:
    view = MetricsView.from_params(request.query_params)
    context = {
        "viewer": viewer,
        "section": "metrics",
        "view": view,
        "range_choices": RANGE_CHOICES,
        "feedback_choices": FEEDBACK_CHOICES,
        "p_size_choices": P_SIZE_CHOICES,
        "charts": {},
        "error": None,
    }
    template = "_metrics_results.html" if partial_target(request) == RESULTS else "metrics.html"
    now = now_ms()
    time_range = RANGES[view.filters.time_range]
    try:
        query = view.filters.session_query(now=now)
    except InvalidInput as exc:
        return render(template, {**context, "error": exc.message}, status_code=400)
    metrics = await store.session_metrics(
        org_id=viewer.org_id,
        query=query,
        fraction=percentile_fraction(view.p_size),
        interquartile=view.interquartile,
    )
    activity = await store.sessions_over_time(org_id=viewer.org_id, query=query, bucket_ms=time_range.step_ms)
    context["charts"] = {
        "cost": histogram_chart(metrics.cost_usd, title="Cost per session", unit="usd"),
        "duration": histogram_chart(metrics.duration_seconds, title="Duration per session", unit="seconds"),
        "requests": histogram_chart(metrics.request_count, title="Requests per session", unit="requests"),
        "activity": activity_chart(activity, time_range=time_range, now=now),
    }
    context["session_count"] = metrics.session_count
    headers = {"HX-Push-Url": view.url()} if template == "_metrics_results.html" else None
    return render(template, context, headers=headers)
