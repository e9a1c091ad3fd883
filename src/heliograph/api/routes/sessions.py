"""`/v1/session/*`: feedback (the seed endpoint), tags, one session in full, lists, counts and metrics."""

from __future__ import annotations

import dataclasses

from fastapi import APIRouter

from heliograph.api import session_paths  # noqa: F401  (registers the session_id path convertor)
from heliograph.api.deps import CurrentOrg, StoreDep
from heliograph.api.errors import ERROR_RESPONSES
from heliograph.api.feedback_schemas import FeedbackRecordBreakdownPublic
from heliograph.api.request_schemas import RequestPublic
from heliograph.api.routing import AuthenticatedRoute
from heliograph.api.schemas import (
    AveragePublic,
    Envelope,
    FeedbackBreakdownCreate,
    FeedbackBreakdownPublic,
    FeedbackCreate,
    HistogramBinPublic,
    MetricAveragesPublic,
    PathNodePublic,
    SessionCountPublic,
    SessionDetailPublic,
    SessionIdPath,
    SessionMetricsPublic,
    SessionNamePublic,
    SessionNameQueryCreate,
    SessionPublic,
    SessionQueryCreate,
    SessionTagCreate,
    TimeFilter,
    session_time,
)
from heliograph.domain import feedback
from heliograph.domain.breakdown import MAX_BREAKDOWN_VALUES, breakdown, check_dimension
from heliograph.domain.filters import parse_filter
from heliograph.domain.headers import validate_session_id
from heliograph.domain.metrics import MetricDistribution, percentile_fraction
from heliograph.domain.records import NANO_USD_PER_USD, SESSION_PATH_KEY
from heliograph.domain.sessions import SessionQuery, build_path_tree, check_timezone
from heliograph.errors import InvalidInput, NotFound

router = APIRouter(
    prefix="/v1/session", tags=["sessions"], responses=ERROR_RESPONSES, route_class=AuthenticatedRoute
)

SESSION_NAMES_LIMIT = 50


def _window(time_filter: TimeFilter | None) -> tuple[int | None, int | None]:
    if time_filter is None:
        return None, None
    if time_filter.startTimeUnixMs > time_filter.endTimeUnixMs:
        raise InvalidInput("Invalid timeFilter: startTimeUnixMs is after endTimeUnixMs")
    return int(time_filter.startTimeUnixMs), int(time_filter.endTimeUnixMs)


def _session_query(body: SessionQueryCreate) -> SessionQuery:
    start_ms, end_ms = _window(body.timeFilter)
    return SessionQuery(
        search=body.search,
        filter=parse_filter(body.filter),
        name_equals=body.nameEquals,
        limit=body.limit,
        offset=body.offset,
        start_ms=start_ms,
        end_ms=end_ms,
    )


@router.post("/query", response_model=Envelope[list[SessionPublic]])
async def query_sessions(
    body: SessionQueryCreate, org_id: CurrentOrg, store: StoreDep
) -> Envelope[list[SessionPublic]]:
    """Sessions newest first; request-level conditions select sessions, aggregates cover whole sessions."""
    timezone = check_timezone(body.timezoneDifference)
    found = await store.query_sessions(org_id=org_id, query=_session_query(body))
    return Envelope(data=[SessionPublic.of(s, timezone_minutes=timezone) for s in found])


@router.post("/count", response_model=Envelope[SessionCountPublic])
async def count_sessions(
    body: SessionQueryCreate, org_id: CurrentOrg, store: StoreDep
) -> Envelope[SessionCountPublic]:
    """Totals over every session the query matches (`limit` and `offset` are ignored)."""
    check_timezone(body.timezoneDifference)
    totals = await store.count_sessions(org_id=org_id, query=_session_query(body))
    n = totals.session_count or 1  # averages of nothing are 0, not a division error
    return Envelope(
        data=SessionCountPublic(
            count=totals.session_count,
            total_cost=totals.cost_nano_usd / NANO_USD_PER_USD,
            avg_cost=totals.cost_nano_usd / NANO_USD_PER_USD / n,
            avg_latency=totals.latency_sum_ms / n,
            avg_requests=totals.request_count / n,
        )
    )


@router.post("/name/query", response_model=Envelope[list[SessionNamePublic]])
async def query_session_names(
    body: SessionNameQueryCreate, org_id: CurrentOrg, store: StoreDep
) -> Envelope[list[SessionNamePublic]]:
    """Session names containing `nameContains`, most recently used first (at most 50)."""
    timezone = check_timezone(body.timezoneDifference)
    start_ms, end_ms = _window(body.timeFilter)
    query = SessionQuery(
        name_contains=body.nameContains or None,
        filter=parse_filter(body.filter),
        start_ms=start_ms,
        end_ms=end_ms,
    )
    rows = await store.session_names(org_id=org_id, query=query, limit=SESSION_NAMES_LIMIT)
    return Envelope(
        data=[
            SessionNamePublic(
                name=row.name,
                created_at=session_time(row.first_used_ms, timezone),
                first_used=session_time(row.first_used_ms, timezone),
                last_used=session_time(row.last_used_ms, timezone),
                avg_latency=row.latency_sum_ms / row.request_count if row.request_count else 0.0,
                session_count=row.session_count,
            )
            for row in rows
        ]
    )


@router.post("/metrics/query", response_model=Envelope[SessionMetricsPublic])
async def session_metrics(
    body: SessionNameQueryCreate, org_id: CurrentOrg, store: StoreDep
) -> Envelope[SessionMetricsPublic]:
    """Distributions of request count, duration (s) and cost (USD) per session, trimmed at `pSize`."""
    check_timezone(body.timezoneDifference)
    start_ms, end_ms = _window(body.timeFilter)
    query = SessionQuery(
        name_equals=body.nameContains or None,
        filter=parse_filter(body.filter),
        start_ms=start_ms,
        end_ms=end_ms,
    )
    metrics = await store.session_metrics(
        org_id=org_id,
        query=query,
        fraction=percentile_fraction(body.pSize or "p75"),
        interquartile=bool(body.useInterquartile),
    )
    count, duration, cost = metrics.request_count, metrics.duration_seconds, metrics.cost_usd
    return Envelope(
        data=SessionMetricsPublic(
            session_count=_bins(count),
            session_duration=_bins(duration),
            session_cost=_bins(cost),
            average=MetricAveragesPublic(
                session_count=[AveragePublic(average=count.average)],
                session_duration=[AveragePublic(average=duration.average)],
                session_cost=[AveragePublic(average=cost.average)],
            ),
        )
    )


@router.post(
    "/feedback/breakdown",
    response_model=Envelope[list[FeedbackBreakdownPublic] | list[FeedbackRecordBreakdownPublic]],
)
async def feedback_breakdown(
    body: FeedbackBreakdownCreate, org_id: CurrentOrg, store: StoreDep
) -> Envelope[list[FeedbackBreakdownPublic] | list[FeedbackRecordBreakdownPublic]]:
    """Per value of a property (or model/provider): sessions, ratings, positive rate with its 95% Wilson
    interval, and the p-value of the difference to the best-rated value. With `name`, the records of that
    feedback name instead: booleans alike, numbers by mean (Welch's t-test), labels by counts (chi-square)."""
    start_ms, end_ms = _window(body.timeFilter)
    query = SessionQuery(filter=parse_filter(body.filter), start_ms=start_ms, end_ms=end_ms)
    if body.name is not None:
        rows = await feedback.breakdown_by_name(
            store, org_id=org_id, query=query, dimension=check_dimension(body.property), name=body.name
        )
        return Envelope(data=[FeedbackRecordBreakdownPublic(**dataclasses.asdict(row)) for row in rows])
    counts = await store.feedback_by_value(
        org_id=org_id, query=query, dimension=check_dimension(body.property), limit=MAX_BREAKDOWN_VALUES
    )
    return Envelope(data=[FeedbackBreakdownPublic(**dataclasses.asdict(row)) for row in breakdown(counts)])


def _bins(metric: MetricDistribution) -> list[HistogramBinPublic]:
    return [
        HistogramBinPublic(range_start=str(b.range_start), range_end=str(b.range_end), value=b.value)
        for b in metric.bins
    ]


@router.post("/{session_id:session_id}/feedback", response_model=Envelope[None])
async def rate_session(
    session_id: SessionIdPath, body: FeedbackCreate, org_id: CurrentOrg, store: StoreDep
) -> Envelope[None]:
    """Thumbs up (true) or down (false) on a whole session, stored on its first request."""
    await feedback.rate_session(store, org_id=org_id, session_id=session_id, rating=body.rating)
    return Envelope()


@router.delete("/{session_id:session_id}/feedback", response_model=Envelope[None])
async def clear_session_feedback(
    session_id: SessionIdPath, org_id: CurrentOrg, store: StoreDep
) -> Envelope[None]:
    """Remove a session's feedback (a Heliograph addition)."""
    await feedback.rate_session(store, org_id=org_id, session_id=session_id, rating=None)
    return Envelope()


@router.get("/{session_id:session_id}/tag", response_model=Envelope[str | None])
async def get_session_tag(
    session_id: SessionIdPath, org_id: CurrentOrg, store: StoreDep
) -> Envelope[str | None]:
    """The session's tag, or null."""
    validate_session_id(session_id)
    return Envelope(data=await store.get_session_tag(org_id=org_id, session_id=session_id))


@router.post("/{session_id:session_id}/tag", response_model=Envelope[None])
async def tag_session(
    session_id: SessionIdPath, body: SessionTagCreate, org_id: CurrentOrg, store: StoreDep
) -> Envelope[None]:
    """Set the session's tag (one per session; a new tag replaces the old)."""
    validate_session_id(session_id)
    if not await store.set_session_tag(org_id=org_id, session_id=session_id, tag=body.tag):
        raise NotFound("Session not found")
    return Envelope()


@router.delete("/{session_id:session_id}", response_model=Envelope[None])
async def delete_session(session_id: SessionIdPath, org_id: CurrentOrg, store: StoreDep) -> Envelope[None]:
    """Delete a session with all its requests, their properties and scores, its feedback, users and
    tag (a Heliograph addition)."""
    validate_session_id(session_id)
    if not await store.delete_session(org_id=org_id, session_id=session_id):
        raise NotFound("Session not found")
    return Envelope()


@router.get("/{session_id:session_id}", response_model=Envelope[SessionDetailPublic])
async def get_session(
    session_id: SessionIdPath, org_id: CurrentOrg, store: StoreDep
) -> Envelope[SessionDetailPublic]:
    """One session: aggregates, feedback, its requests in order and its path tree."""
    validate_session_id(session_id)
    summary = await store.get_session(org_id=org_id, session_id=session_id)
    if summary is None:
        raise NotFound("Session not found")
    stored = await store.session_requests(org_id=org_id, session_id=session_id)
    tree = build_path_tree((s.record.request_id, s.record.properties.get(SESSION_PATH_KEY)) for s in stored)
    return Envelope(
        data=SessionDetailPublic(
            session=SessionPublic.of(summary),
            requests=[RequestPublic.of(s) for s in stored],
            tree=PathNodePublic.of(tree),
        )
    )
