"""`/v1/evals/*`: Helicone's evals over request scores (each score name is an eval)."""

from __future__ import annotations

from fastapi import APIRouter

from heliograph.api.deps import CurrentOrg, StoreDep
from heliograph.api.errors import ERROR_RESPONSES
from heliograph.api.insight_schemas import (
    DatedAveragePublic,
    DatedCountPublic,
    DistributionBinPublic,
    EvalCreate,
    EvalPublic,
    EvalQueryCreate,
    ScoreDistributionPublic,
)
from heliograph.api.request_schemas import iso_time
from heliograph.api.routes.requests import request_uuid
from heliograph.api.routing import AuthenticatedRoute
from heliograph.api.schemas import Envelope, RequestIdPath
from heliograph.domain.filters import parse_filter
from heliograph.domain.insights import DAY_MS, distributions, in_window, score_summaries, shift_of
from heliograph.domain.requests import page
from heliograph.domain.scores import check_scores
from heliograph.domain.store import ScoreCount
from heliograph.errors import NotFound

router = APIRouter(
    prefix="/v1/evals", tags=["evals"], responses=ERROR_RESPONSES, route_class=AuthenticatedRoute
)


async def _counts(body: EvalQueryCreate, org_id: str, store: StoreDep, *, by_day: bool) -> list[ScoreCount]:
    window = in_window(parse_filter(body.filter), start=body.timeFilter.start, end=body.timeFilter.end)
    shift_ms = shift_of(body.timeZoneDifference)
    return await store.score_counts(
        org_id=org_id, filter=window, bucket_ms=DAY_MS if by_day else None, shift_ms=shift_ms
    )


@router.post("/query", response_model=Envelope[list[EvalPublic]])
async def query_evals(
    body: EvalQueryCreate, org_id: CurrentOrg, store: StoreDep
) -> Envelope[list[EvalPublic]]:
    """Each score over the matching requests in the window: average, bounds, count, and per day."""
    limit, offset = page(limit=body.limit, offset=body.offset)
    summaries = score_summaries(await _counts(body, org_id, store, by_day=True))[offset : offset + limit]
    return Envelope(
        data=[
            EvalPublic(
                name=s.name,
                averageScore=s.average,
                minScore=s.minimum,
                maxScore=s.maximum,
                count=s.count,
                overTime=[DatedCountPublic(date=iso_time(day), count=n) for day, n, _ in s.over_time],
                averageOverTime=[
                    DatedAveragePublic(date=iso_time(day), value=v) for day, _, v in s.over_time
                ],
            )
            for s in summaries
        ]
    )


@router.get("/scores", response_model=Envelope[list[str]])
async def eval_score_names(org_id: CurrentOrg, store: StoreDep) -> Envelope[list[str]]:
    """The names of every score the organization's requests carry, sorted."""
    counts = await store.score_counts(org_id=org_id, filter=None, bucket_ms=None)
    return Envelope(data=sorted({c.name for c in counts}))


@router.post(
    "/score-distributions/query",
    response_model=Envelope[list[ScoreDistributionPublic]],
)
async def score_distributions(
    body: EvalQueryCreate, org_id: CurrentOrg, store: StoreDep
) -> Envelope[list[ScoreDistributionPublic]]:
    """Each score's values over the matching requests in the window, in up to ten equal bins."""
    limit, offset = page(limit=body.limit, offset=body.offset)
    found = distributions(await _counts(body, org_id, store, by_day=False))[offset : offset + limit]
    return Envelope(
        data=[
            ScoreDistributionPublic(
                name=name,
                distribution=[DistributionBinPublic(lower=lo, upper=hi, value=n) for lo, hi, n in bins],
            )
            for name, bins in found
        ]
    )


@router.post("/{requestId}", response_model=Envelope[None], status_code=201)
async def add_eval(
    requestId: RequestIdPath,
    body: EvalCreate,
    org_id: CurrentOrg,
    store: StoreDep,
) -> Envelope[None]:
    """Score a request: the eval `name` becomes a score of that name."""
    values = check_scores({body.name: body.score})
    if not await store.set_request_scores(org_id=org_id, request_id=request_uuid(requestId), values=values):
        raise NotFound("Request not found")
    return Envelope()
