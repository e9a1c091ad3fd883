"""`/v1/property/*`: the property keys of an organization's requests (some hidden from the list), and
their values' totals."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from heliograph.api.deps import CurrentOrg, StoreDep
from heliograph.api.errors import ERROR_RESPONSES
from heliograph.api.insight_schemas import (
    PropertyHiddenPublic,
    PropertyKeyCreate,
    PropertyListCreate,
    PropertyOverTimeCreate,
    PropertyOverTimePublic,
    PropertyPublic,
    PropertySearchCreate,
    PropertyWindowCreate,
    ValueCostPublic,
    ValueCountPublic,
)
from heliograph.api.request_schemas import iso_time
from heliograph.api.routing import AuthenticatedRoute
from heliograph.api.schemas import Envelope
from heliograph.domain.filters import parse_filter
from heliograph.domain.insights import bucket_of, by_increment, in_window, shift_of, top_values
from heliograph.domain.records import NANO_USD_PER_USD
from heliograph.domain.store import PropertyTotal

router = APIRouter(
    prefix="/v1/property", tags=["properties"], responses=ERROR_RESPONSES, route_class=AuthenticatedRoute
)

PropertyKeyPath = Annotated[str, Path(min_length=1, max_length=256, description="A property key")]
TOP_VALUES = 10  # as many as Helicone's top-costs and top-requests answer
SEARCH_VALUES = 100


@router.post("/query", response_model=Envelope[list[PropertyPublic]])
async def list_properties(
    _body: PropertyListCreate, org_id: CurrentOrg, store: StoreDep
) -> Envelope[list[PropertyPublic]]:
    """Every property key the organization's requests carry and it has not hidden, sorted."""
    hidden = set(await store.hidden_property_keys(org_id=org_id))
    keys = [key for key in await store.property_keys(org_id=org_id) if key not in hidden]
    return Envelope(data=[PropertyPublic(property=key) for key in keys])


@router.post("/hidden/query", response_model=Envelope[list[PropertyPublic]])
async def list_hidden_properties(org_id: CurrentOrg, store: StoreDep) -> Envelope[list[PropertyPublic]]:
    """The property keys the organization hid, sorted."""
    keys = await store.hidden_property_keys(org_id=org_id)
    return Envelope(data=[PropertyPublic(property=key) for key in keys])


@router.post("/hide", response_model=Envelope[PropertyHiddenPublic])
async def hide_property(
    body: PropertyKeyCreate, org_id: CurrentOrg, store: StoreDep
) -> Envelope[PropertyHiddenPublic]:
    """Leave a key out of the property list (its values stay, and filters still see them)."""
    await store.set_property_hidden(org_id=org_id, key=body.key, hidden=True)
    return Envelope(data=PropertyHiddenPublic(ok=True))


@router.post("/restore", response_model=Envelope[PropertyHiddenPublic])
async def restore_property(
    body: PropertyKeyCreate, org_id: CurrentOrg, store: StoreDep
) -> Envelope[PropertyHiddenPublic]:
    """List a hidden key again."""
    await store.set_property_hidden(org_id=org_id, key=body.key, hidden=False)
    return Envelope(data=PropertyHiddenPublic(ok=True))


@router.post("/{propertyKey}/search", response_model=Envelope[list[str]])
async def search_property_values(
    propertyKey: PropertyKeyPath,
    body: PropertySearchCreate,
    org_id: CurrentOrg,
    store: StoreDep,
) -> Envelope[list[str]]:
    """Values of a property containing `searchTerm` (any case), most used first."""
    totals = await store.property_totals(org_id=org_id, key=propertyKey, filter=None, bucket_ms=None)
    term = body.searchTerm.casefold()
    found = [t for t in totals if term in t.value.casefold()]
    return Envelope(data=[t.value for t in top_values(found, by="count", limit=SEARCH_VALUES)])


async def _window_totals(
    store: StoreDep, org_id: str, key: str, body: PropertyWindowCreate
) -> list[PropertyTotal]:
    window = in_window(None, start=body.timeFilter.start, end=body.timeFilter.end)
    return await store.property_totals(org_id=org_id, key=key, filter=window, bucket_ms=None)


@router.post(
    "/{propertyKey}/top-costs/query",
    response_model=Envelope[list[ValueCostPublic]],
)
async def top_costs(
    propertyKey: PropertyKeyPath,
    body: PropertyWindowCreate,
    org_id: CurrentOrg,
    store: StoreDep,
) -> Envelope[list[ValueCostPublic]]:
    """The ten values of a property whose requests in the window cost the most."""
    totals = top_values(await _window_totals(store, org_id, propertyKey, body), by="cost", limit=TOP_VALUES)
    return Envelope(
        data=[ValueCostPublic(value=t.value, cost=t.cost_nano_usd / NANO_USD_PER_USD) for t in totals]
    )


@router.post(
    "/{propertyKey}/top-requests/query",
    response_model=Envelope[list[ValueCountPublic]],
)
async def top_requests(
    propertyKey: PropertyKeyPath,
    body: PropertyWindowCreate,
    org_id: CurrentOrg,
    store: StoreDep,
) -> Envelope[list[ValueCountPublic]]:
    """The ten values of a property carried by the most requests in the window."""
    totals = top_values(await _window_totals(store, org_id, propertyKey, body), by="count", limit=TOP_VALUES)
    return Envelope(data=[ValueCountPublic(value=t.value, count=t.request_count) for t in totals])


@router.post(
    "/properties/over-time",
    response_model=Envelope[list[PropertyOverTimePublic]],
)
async def properties_over_time(
    body: PropertyOverTimeCreate, org_id: CurrentOrg, store: StoreDep
) -> Envelope[list[PropertyOverTimePublic]]:
    """Cost and requests per value of a property, per minute, hour, day, week, month or year."""
    shift_ms = shift_of(body.timeZoneDifference)
    window = in_window(parse_filter(body.userFilter), start=body.timeFilter.start, end=body.timeFilter.end)
    totals = await store.property_totals(
        org_id=org_id,
        key=body.propertyKey,
        filter=window,
        bucket_ms=bucket_of(body.dbIncrement),
        shift_ms=shift_ms,
    )
    return Envelope(
        data=[
            PropertyOverTimePublic(
                property=t.value,
                total_cost=t.cost_nano_usd / NANO_USD_PER_USD,
                request_count=t.request_count,
                created_at_trunc=iso_time(int(t.bucket_start_ms or 0)),
            )
            for t in by_increment(totals, increment=body.dbIncrement, shift_ms=shift_ms)
        ]
    )
