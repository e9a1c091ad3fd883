"""`/v1/feedback*` with an API key: records of many raters, their configs, and signed links for end users."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request

from heliograph.api import session_paths  # noqa: F401  (registers the session_id path convertor)
from heliograph.api.deps import CurrentOrg, StoreDep
from heliograph.api.errors import ERROR_RESPONSES
from heliograph.api.feedback_schemas import (
    FeedbackConfigPublic,
    FeedbackConfigUpdate,
    FeedbackLinkCreate,
    FeedbackLinkPublic,
    FeedbackPublic,
    FeedbackQueryCreate,
    FeedbackRecordCreate,
)
from heliograph.api.request_schemas import iso_time
from heliograph.api.routing import AuthenticatedRoute
from heliograph.api.schemas import Envelope, SessionIdPath
from heliograph.domain import feedback
from heliograph.domain.feedback_links import FeedbackLinkSigner
from heliograph.domain.feedback_values import FeedbackConfig, FeedbackEntry, FeedbackQuery

__all__ = ["LinkSignerDep", "router"]

router = APIRouter(tags=["feedback"], responses=ERROR_RESPONSES, route_class=AuthenticatedRoute)

ConfigNamePath = Annotated[str, Path(min_length=1, max_length=64)]


async def _signer(request: Request) -> FeedbackLinkSigner:
    signer: FeedbackLinkSigner = request.app.state.feedback_links
    return signer


LinkSignerDep = Annotated[FeedbackLinkSigner, Depends(_signer)]


@router.post("/v1/feedback", status_code=201, response_model=Envelope[FeedbackPublic])
async def record_feedback(
    body: FeedbackRecordCreate, org_id: CurrentOrg, store: StoreDep
) -> Envelope[FeedbackPublic]:
    """Create a record, or update the one with the same (session, request, name, rater)."""
    entry = FeedbackEntry(
        session_id=body.session_id,
        request_id=body.request_id,
        name=body.name,
        value=body.value,
        comment=body.comment,
        rater=body.rater,
        source=body.source,
    )
    return Envelope(data=FeedbackPublic.of(await feedback.record_feedback(store, org_id=org_id, entry=entry)))


@router.post("/v1/feedback/query", response_model=Envelope[list[FeedbackPublic]])
async def query_feedback(
    body: FeedbackQueryCreate, org_id: CurrentOrg, store: StoreDep
) -> Envelope[list[FeedbackPublic]]:
    """A page of records, newest update first, filtered by session, name, rater, source, value and time."""
    window = body.timeFilter
    query = FeedbackQuery(
        session_id=body.session_id,
        name=body.name,
        rater=body.rater,
        source=body.source,
        value=body.value,
        min_value=body.min_value,
        max_value=body.max_value,
        start_ms=None if window is None else int(window.startTimeUnixMs),
        end_ms=None if window is None else int(window.endTimeUnixMs),
        limit=body.limit,
        offset=body.offset,
    )
    found = await feedback.query_feedback(store, org_id=org_id, query=query)
    return Envelope(data=[FeedbackPublic.of(r) for r in found])


@router.delete("/v1/feedback/{feedback_id}", response_model=Envelope[None])
async def delete_feedback(
    feedback_id: Annotated[str, Path(max_length=64)], org_id: CurrentOrg, store: StoreDep
) -> Envelope[None]:
    """Delete one record (404 when the organization has none of that id)."""
    await feedback.remove_feedback(store, org_id=org_id, feedback_id=feedback_id)
    return Envelope()


@router.get("/v1/feedback/config", response_model=Envelope[list[FeedbackConfigPublic]])
async def list_feedback_configs(org_id: CurrentOrg, store: StoreDep) -> Envelope[list[FeedbackConfigPublic]]:
    """Every feedback config of the organization, by name."""
    configs = await feedback.list_configs(store, org_id=org_id)
    return Envelope(data=[FeedbackConfigPublic.of(c) for c in configs])


@router.put("/v1/feedback/config/{name}", response_model=Envelope[FeedbackConfigPublic])
async def put_feedback_config(
    name: ConfigNamePath, body: FeedbackConfigUpdate, org_id: CurrentOrg, store: StoreDep
) -> Envelope[FeedbackConfigPublic]:
    """Create or replace what values feedback `name` takes (records already stored are kept)."""
    config = FeedbackConfig(
        name=name,
        kind=body.type,
        min=None if body.min is None else float(body.min),
        max=None if body.max is None else float(body.max),
        labels=tuple(body.labels or ()),
        description=body.description,
    )
    stored = await feedback.set_config(store, org_id=org_id, config=config)
    return Envelope(data=FeedbackConfigPublic.of(stored))


@router.get("/v1/session/{session_id:session_id}/feedback", response_model=Envelope[list[FeedbackPublic]])
async def session_feedback(
    session_id: SessionIdPath, org_id: CurrentOrg, store: StoreDep
) -> Envelope[list[FeedbackPublic]]:
    """Every record on a session, newest update first."""
    found = await feedback.session_feedback(store, org_id=org_id, session_id=session_id)
    return Envelope(data=[FeedbackPublic.of(r) for r in found])


@router.post("/v1/session/{session_id:session_id}/feedback-link", response_model=Envelope[FeedbackLinkPublic])
async def create_feedback_link(
    session_id: SessionIdPath,
    body: FeedbackLinkCreate,
    org_id: CurrentOrg,
    store: StoreDep,
    signer: LinkSignerDep,
    request: Request,
) -> Envelope[FeedbackLinkPublic]:
    """A signed token that lets an end user's browser send one record on this session, with no key."""
    token, scope = await feedback.create_link(
        store,
        signer,
        org_id=org_id,
        session_id=session_id,
        request_id=body.request_id,
        name=body.name,
        rater=body.rater,
        lifetime_s=body.expires_in_s,
    )
    url = f"{str(request.base_url).rstrip('/')}/v1/feedback/public/{token}"
    return Envelope(data=FeedbackLinkPublic(token=token, url=url, expires_at=iso_time(scope.expires_at_ms)))
