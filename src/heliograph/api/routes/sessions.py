"""`/v1/session/*`: feedback (the seed endpoint), one session in full, and the session list."""

from __future__ import annotations

from fastapi import APIRouter

from heliograph.api.deps import CurrentOrg, StoreDep
from heliograph.api.schemas import (
    Envelope,
    FeedbackCreate,
    PathNodePublic,
    RequestPublic,
    SessionDetailPublic,
    SessionPublic,
    SessionQueryCreate,
)
from heliograph.domain import feedback
from heliograph.domain.filters import parse_filter
from heliograph.domain.headers import validate_session_id
from heliograph.domain.sessions import SessionQuery, build_path_tree, check_timezone
from heliograph.errors import InvalidInput, NotFound

router = APIRouter(prefix="/v1/session", tags=["sessions"])


@router.post("/query", response_model=Envelope[list[SessionPublic]])
async def query_sessions(
    body: SessionQueryCreate, org_id: CurrentOrg, store: StoreDep
) -> Envelope[list[SessionPublic]]:
    """Sessions newest first; request-level conditions select sessions, aggregates cover whole sessions."""
    timezone = check_timezone(body.timezoneDifference)
    if body.timeFilter.startTimeUnixMs > body.timeFilter.endTimeUnixMs:
        raise InvalidInput("Invalid timeFilter: startTimeUnixMs is after endTimeUnixMs")
    query = SessionQuery(
        search=body.search,
        start_ms=int(body.timeFilter.startTimeUnixMs),
        end_ms=int(body.timeFilter.endTimeUnixMs),
        filter=parse_filter(body.filter),
        name_equals=body.nameEquals,
        limit=body.limit,
        offset=body.offset,
    )
    found = await store.query_sessions(org_id=org_id, query=query)
    return Envelope(data=[SessionPublic.of(s, timezone_minutes=timezone) for s in found])


@router.post("/{session_id}/feedback", response_model=Envelope[None])
async def rate_session(
    session_id: str, body: FeedbackCreate, org_id: CurrentOrg, store: StoreDep
) -> Envelope[None]:
    """Thumbs up (true) or down (false) on a whole session, stored on its first request."""
    await feedback.rate_session(store, org_id=org_id, session_id=session_id, rating=body.rating)
    return Envelope()


@router.delete("/{session_id}/feedback", response_model=Envelope[None])
async def clear_session_feedback(session_id: str, org_id: CurrentOrg, store: StoreDep) -> Envelope[None]:
    """Remove a session's feedback (a Heliograph addition)."""
    await feedback.rate_session(store, org_id=org_id, session_id=session_id, rating=None)
    return Envelope()


@router.get("/{session_id}", response_model=Envelope[SessionDetailPublic])
async def get_session(session_id: str, org_id: CurrentOrg, store: StoreDep) -> Envelope[SessionDetailPublic]:
    """One session: aggregates, feedback, its requests in order and its path tree."""
    validate_session_id(session_id)
    summary = await store.get_session(org_id=org_id, session_id=session_id)
    if summary is None:
        raise NotFound("Session not found")
    stored = await store.session_requests(org_id=org_id, session_id=session_id)
    tree = build_path_tree(
        (s.record.request_id, s.record.properties.get("Helicone-Session-Path")) for s in stored
    )
    return Envelope(
        data=SessionDetailPublic(
            session=SessionPublic.of(summary),
            requests=[RequestPublic.of(s) for s in stored],
            tree=PathNodePublic.of(tree),
        )
    )
