"""`/v1/monitors*` with an API key: feedback monitors, their webhook deliveries and test deliveries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from heliograph.api.deps import CurrentOrg, StoreDep, WebhookPolicyDep
from heliograph.api.errors import ERROR_RESPONSES
from heliograph.api.monitor_schemas import DeliveryPublic, MonitorCreate, MonitorPublic
from heliograph.api.routing import AuthenticatedRoute
from heliograph.api.schemas import Envelope
from heliograph.domain.monitor_actions import (
    MAX_DELIVERIES,
    checked_spec,
    find_monitor,
    queue_test_delivery,
    stored_filter,
)
from heliograph.errors import NotFound

__all__ = ["router"]

router = APIRouter(tags=["monitors"], responses=ERROR_RESPONSES, route_class=AuthenticatedRoute)

MonitorIdPath = Annotated[str, Path(min_length=1, max_length=64)]


def _dashboard_base(request: Request) -> str:
    return request.app.state.public_origin or str(request.base_url).rstrip("/")


@router.post("/v1/monitors", status_code=201, response_model=Envelope[MonitorPublic])
async def create_monitor(
    body: MonitorCreate, org_id: CurrentOrg, store: StoreDep, policy: WebhookPolicyDep
) -> Envelope[MonitorPublic]:
    """Create a monitor; it is evaluated from the next turn of the evaluator on."""
    spec = checked_spec(body.spec(stored_filter(body.filter)), policy)
    return Envelope(data=MonitorPublic.of(await store.create_monitor(org_id=org_id, spec=spec)))


@router.get("/v1/monitors", response_model=Envelope[list[MonitorPublic]])
async def list_monitors(org_id: CurrentOrg, store: StoreDep) -> Envelope[list[MonitorPublic]]:
    """The organization's monitors, oldest first, with their last state and value."""
    return Envelope(data=[MonitorPublic.of(m) for m in await store.list_monitors(org_id=org_id)])


@router.get("/v1/monitors/{monitor_id}", response_model=Envelope[MonitorPublic])
async def get_monitor(
    monitor_id: MonitorIdPath, org_id: CurrentOrg, store: StoreDep
) -> Envelope[MonitorPublic]:
    return Envelope(data=MonitorPublic.of(await find_monitor(store, org_id=org_id, monitor_id=monitor_id)))


@router.put("/v1/monitors/{monitor_id}", response_model=Envelope[MonitorPublic])
async def update_monitor(
    monitor_id: MonitorIdPath,
    body: MonitorCreate,
    org_id: CurrentOrg,
    store: StoreDep,
    policy: WebhookPolicyDep,
) -> Envelope[MonitorPublic]:
    """Replace a monitor's spec; its state stays until the next evaluation."""
    spec = checked_spec(body.spec(stored_filter(body.filter)), policy)
    updated = await store.update_monitor(org_id=org_id, monitor_id=monitor_id, spec=spec)
    if updated is None:
        raise NotFound(f"No monitor {monitor_id[:64]!r} in this organization")
    return Envelope(data=MonitorPublic.of(updated))


@router.delete("/v1/monitors/{monitor_id}", response_model=Envelope[None])
async def delete_monitor(monitor_id: MonitorIdPath, org_id: CurrentOrg, store: StoreDep) -> Envelope[None]:
    """Delete a monitor with its deliveries (pending ones are never sent)."""
    if not await store.delete_monitor(org_id=org_id, monitor_id=monitor_id):
        raise NotFound(f"No monitor {monitor_id[:64]!r} in this organization")
    return Envelope()


@router.post("/v1/monitors/{monitor_id}/test", status_code=202, response_model=Envelope[DeliveryPublic])
async def test_monitor(
    monitor_id: MonitorIdPath, request: Request, org_id: CurrentOrg, store: StoreDep
) -> Envelope[DeliveryPublic]:
    """Queue a `test` delivery with the monitor's last value; the sender makes it within a second."""
    monitor = await find_monitor(store, org_id=org_id, monitor_id=monitor_id)
    delivery = await queue_test_delivery(store, monitor, dashboard_base=_dashboard_base(request))
    return Envelope(data=DeliveryPublic.of(delivery))


@router.get("/v1/monitors/{monitor_id}/deliveries", response_model=Envelope[list[DeliveryPublic]])
async def list_deliveries(
    monitor_id: MonitorIdPath,
    org_id: CurrentOrg,
    store: StoreDep,
    limit: Annotated[int, Query(ge=1, le=MAX_DELIVERIES)] = 100,
) -> Envelope[list[DeliveryPublic]]:
    """The monitor's deliveries, newest first, with their status code, attempts and times."""
    await find_monitor(store, org_id=org_id, monitor_id=monitor_id)
    found = await store.list_deliveries(org_id=org_id, monitor_id=monitor_id, limit=limit)
    return Envelope(data=[DeliveryPublic.of(d) for d in found])
