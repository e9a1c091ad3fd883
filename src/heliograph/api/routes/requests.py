"""`/v1/request/*`: query, count and read requests; set a property; rate and score a request."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from heliograph.api.deps import CurrentOrg, StoreDep
from heliograph.api.errors import ERROR_RESPONSES
from heliograph.api.routing import AuthenticatedRoute
from heliograph.api.schemas import (
    Envelope,
    FeedbackCreate,
    PropertyUpdate,
    RequestIdPath,
    RequestPublic,
    RequestQueryCreate,
    ScoresCreate,
)
from heliograph.domain.filters import parse_filter
from heliograph.domain.headers import check_property, property_key
from heliograph.domain.requests import RequestQuery, parse_sort
from heliograph.domain.scores import REQUEST_FEEDBACK_SCORE, check_scores
from heliograph.errors import InvalidInput, NotFound

router = APIRouter(
    prefix="/v1/request", tags=["requests"], responses=ERROR_RESPONSES, route_class=AuthenticatedRoute
)


def _request_id(raw: str) -> str:
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise InvalidInput("Invalid requestId: must be a valid UUID") from None


async def _query(body: RequestQueryCreate, org_id: str, store: StoreDep) -> Envelope[list[RequestPublic]]:
    query = RequestQuery(
        filter=parse_filter(body.filter),
        sort=parse_sort(dict(body.sort) if body.sort else None),
        is_scored=body.isScored,
        limit=body.limit,
        offset=body.offset,
    )
    return Envelope(
        data=[RequestPublic.of(s) for s in await store.query_requests(org_id=org_id, query=query)]
    )


@router.post("/query", response_model=Envelope[list[RequestPublic]], status_code=201)
async def query_requests(
    body: RequestQueryCreate, org_id: CurrentOrg, store: StoreDep
) -> Envelope[list[RequestPublic]]:
    """Requests matching a filter, newest first unless `sort` says otherwise."""
    return await _query(body, org_id, store)


@router.post("/query-clickhouse", response_model=Envelope[list[RequestPublic]], status_code=201)
async def query_requests_clickhouse(
    body: RequestQueryCreate, org_id: CurrentOrg, store: StoreDep
) -> Envelope[list[RequestPublic]]:
    """The same as `/v1/request/query` (Helicone's name for its working query path)."""
    return await _query(body, org_id, store)


@router.post("/count/query", response_model=Envelope[int])
async def count_requests(body: RequestQueryCreate, org_id: CurrentOrg, store: StoreDep) -> Envelope[int]:
    """How many requests match a filter."""
    count = await store.count_requests(
        org_id=org_id, filter=parse_filter(body.filter), is_scored=body.isScored
    )
    return Envelope(data=count)


@router.get("/{request_id}", response_model=Envelope[RequestPublic])
async def get_request(
    request_id: RequestIdPath, org_id: CurrentOrg, store: StoreDep
) -> Envelope[RequestPublic]:
    """One request with its properties, scores and bodies."""
    stored = await store.get_request(org_id=org_id, request_id=_request_id(request_id))
    if stored is None:
        raise NotFound("Request not found")
    return Envelope(data=RequestPublic.of(stored))


@router.delete("/{request_id}", response_model=Envelope[None])
async def delete_request(request_id: RequestIdPath, org_id: CurrentOrg, store: StoreDep) -> Envelope[None]:
    """Delete a request with its properties and scores; its session's totals no longer count it, and a
    session left with no request is deleted too (a Heliograph addition)."""
    if not await store.delete_request(org_id=org_id, request_id=_request_id(request_id)):
        raise NotFound("Request not found")
    return Envelope()


@router.put("/{request_id}/property", response_model=Envelope[None], status_code=201)
async def set_property(
    request_id: RequestIdPath, body: PropertyUpdate, org_id: CurrentOrg, store: StoreDep
) -> Envelope[None]:
    """Add or overwrite one property; its key is stored as ingestion stores header names (lower-case)."""
    key, value = check_property(property_key(body.key), body.value)
    if not await store.set_request_property(
        org_id=org_id, request_id=_request_id(request_id), key=key, value=value
    ):
        raise NotFound("Request not found")
    return Envelope()


@router.post("/{request_id}/feedback", response_model=Envelope[None], status_code=201)
async def rate_request(
    request_id: RequestIdPath, body: FeedbackCreate, org_id: CurrentOrg, store: StoreDep
) -> Envelope[None]:
    """Thumbs up or down on one request: score `helicone-score-feedback` = 1 or 0."""
    await _score(store, org_id, request_id, {REQUEST_FEEDBACK_SCORE: int(body.rating)})
    return Envelope()


@router.post("/{request_id}/score", response_model=Envelope[None], status_code=201)
async def score_request(
    request_id: RequestIdPath, body: ScoresCreate, org_id: CurrentOrg, store: StoreDep
) -> Envelope[None]:
    """Add or overwrite named integer scores (booleans count as 1 and 0; floats are refused)."""
    await _score(store, org_id, request_id, check_scores(body.scores))
    return Envelope()


async def _score(store: StoreDep, org_id: str, request_id: str, values: dict[str, int]) -> None:
    if not await store.set_request_scores(org_id=org_id, request_id=_request_id(request_id), values=values):
        raise NotFound("Request not found")
