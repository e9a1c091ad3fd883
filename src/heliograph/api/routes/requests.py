"""`/v1/request/*`: read one request, set a property, rate a request."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from heliograph.api.deps import CurrentOrg, StoreDep
from heliograph.api.schemas import Envelope, FeedbackCreate, PropertyUpdate, RequestPublic
from heliograph.domain.headers import check_property
from heliograph.errors import InvalidInput, NotFound

router = APIRouter(prefix="/v1/request", tags=["requests"])

REQUEST_FEEDBACK_SCORE = "helicone-score-feedback"


def _request_id(raw: str) -> str:
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise InvalidInput("Invalid requestId: must be a valid UUID") from None


@router.get("/{request_id}", response_model=Envelope[RequestPublic])
async def get_request(request_id: str, org_id: CurrentOrg, store: StoreDep) -> Envelope[RequestPublic]:
    """One request with its properties, scores and bodies."""
    stored = await store.get_request(org_id=org_id, request_id=_request_id(request_id))
    if stored is None:
        raise NotFound("Request not found")
    return Envelope(data=RequestPublic.of(stored))


@router.put("/{request_id}/property", response_model=Envelope[None], status_code=201)
async def set_property(
    request_id: str, body: PropertyUpdate, org_id: CurrentOrg, store: StoreDep
) -> Envelope[None]:
    """Add or overwrite one property (the key's case is kept)."""
    key, value = check_property(body.key, body.value)
    if not await store.set_request_property(
        org_id=org_id, request_id=_request_id(request_id), key=key, value=value
    ):
        raise NotFound("Request not found")
    return Envelope()


@router.post("/{request_id}/feedback", response_model=Envelope[None], status_code=201)
async def rate_request(
    request_id: str, body: FeedbackCreate, org_id: CurrentOrg, store: StoreDep
) -> Envelope[None]:
    """Thumbs up or down on one request: score `helicone-score-feedback` = 1 or 0."""
    found = await store.set_request_scores(
        org_id=org_id, request_id=_request_id(request_id), values={REQUEST_FEEDBACK_SCORE: int(body.rating)}
    )
    if not found:
        raise NotFound("Request not found")
    return Envelope()
