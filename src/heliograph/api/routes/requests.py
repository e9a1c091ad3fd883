"""`/v1/request/*`: query, count and read requests; set a property; rate and score a request."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Query

from heliograph.api.deps import CurrentOrg, StoreDep
from heliograph.api.errors import ERROR_RESPONSES
from heliograph.api.request_schemas import RequestPublic
from heliograph.api.routing import AuthenticatedRoute
from heliograph.api.schemas import (
    Envelope,
    FeedbackCreate,
    PropertyUpdate,
    RequestIdPath,
    RequestIdsQuery,
    RequestQueryCreate,
    ScoresCreate,
)
from heliograph.domain.filters import parse_filter
from heliograph.domain.headers import check_property, property_key
from heliograph.domain.requests import RequestQuery, page, parse_sort, stored_ids
from heliograph.domain.scores import REQUEST_FEEDBACK_SCORE, check_scores
from heliograph.domain.store import StoredRequest
from heliograph.errors import InvalidInput, NotFound

router = APIRouter(
    prefix="/v1/request", tags=["requests"], responses=ERROR_RESPONSES, route_class=AuthenticatedRoute
)


def request_uuid(raw: str) -> str:
    """A request id as stored (a UUID in its canonical form); 400 when it is not a UUID."""
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise InvalidInput("Invalid requestId: must be a valid UUID") from None


async def _query(body: RequestQueryCreate, org_id: str, store: StoreDep) -> Envelope[list[RequestPublic]]:
    limit, offset = page(limit=body.limit, offset=body.offset)
    if body.isCached or body.isPartOfExperiment:
        limit = 0  # nothing is cached and there are no experiments
    query = RequestQuery(
        filter=parse_filter(body.filter),
        sort=parse_sort(body.sort),
        is_scored=body.isScored,
        limit=limit,
        offset=offset,
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
    filter = parse_filter(body.filter)
    parse_sort(body.sort)  # a count has no order, but a bad sort is still a 400, as on the queries
    if body.isCached or body.isPartOfExperiment:
        return Envelope(data=0)  # nothing is cached and there are no experiments
    return Envelope(data=await store.count_requests(org_id=org_id, filter=filter, is_scored=body.isScored))


@router.post("/query-ids", response_model=Envelope[list[RequestPublic]], status_code=201)
async def query_requests_by_ids(
    body: RequestIdsQuery, org_id: CurrentOrg, store: StoreDep
) -> Envelope[list[RequestPublic]]:
    """The requests with these ids, newest first; ids not found (or not UUIDs) are left out."""
    ids = stored_ids(body.requestIds)
    query = RequestQuery(request_ids=ids, limit=len(ids))
    return Envelope(
        data=[RequestPublic.of(s) for s in await store.query_requests(org_id=org_id, query=query)]
    )


@router.get("/{request_id}", response_model=Envelope[RequestPublic])
async def get_request(
    request_id: RequestIdPath,
    org_id: CurrentOrg,
    store: StoreDep,
    includeBody: bool = Query(False, description="Accepted; rows always carry their bodies"),
) -> Envelope[RequestPublic]:
    """One request with its properties, scores and bodies."""
    return Envelope(data=RequestPublic.of(await _stored(store, org_id, request_id)))


@router.get("/{request_id}/inputs", response_model=Envelope[None])
async def get_request_inputs(
    request_id: RequestIdPath, org_id: CurrentOrg, store: StoreDep
) -> Envelope[None]:
    """A request's prompt inputs: always null, as Heliograph records no prompt templates."""
    await _stored(store, org_id, request_id)
    return Envelope()


async def _stored(store: StoreDep, org_id: str, request_id: str) -> StoredRequest:
    stored = await store.get_request(org_id=org_id, request_id=request_uuid(request_id))
    if stored is None:
        raise NotFound("Request not found")
    return stored


@router.delete("/{request_id}", response_model=Envelope[None])
async def delete_request(request_id: RequestIdPath, org_id: CurrentOrg, store: StoreDep) -> Envelope[None]:
    """Delete a request with its properties and scores; its session's totals no longer count it, and a
    session left with no request is deleted too (a Heliograph addition)."""
    if not await store.delete_request(org_id=org_id, request_id=request_uuid(request_id)):
        raise NotFound("Request not found")
    return Envelope()


@router.put("/{request_id}/property", response_model=Envelope[None], status_code=201)
async def set_property(
    request_id: RequestIdPath, body: PropertyUpdate, org_id: CurrentOrg, store: StoreDep
) -> Envelope[None]:
    """Add or overwrite one property; its key is stored as ingestion stores header names (lower-case)."""
    key, value = check_property(property_key(body.key), body.value)
    if not await store.set_request_property(
        org_id=org_id, request_id=request_uuid(request_id), key=key, value=value
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
    if not await store.set_request_scores(org_id=org_id, request_id=request_uuid(request_id), values=values):
        raise NotFound("Request not found")
