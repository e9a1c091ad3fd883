"""Gateway routes: `/openai/v1/*`, `/anthropic/v1/*` and `/gateway/*`, authenticated by `Helicone-Auth`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from heliograph.api.deps import StoreDep, org_for_bearer
from heliograph.api.errors import ERROR_RESPONSES
from heliograph.gateway.proxy import Gateway

router = APIRouter(tags=["gateway"], responses=ERROR_RESPONSES)
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]


async def _gateway(request: Request) -> Gateway:
    gateway: Gateway = request.app.state.gateway
    return gateway


async def _gateway_org(request: Request, store: StoreDep) -> str:
    # The caller's Authorization header belongs to the upstream; Heliograph's key travels apart.
    return await org_for_bearer(store, request.headers.get("helicone-auth"), header_name="Helicone-Auth")


GatewayDep = Annotated[Gateway, Depends(_gateway)]
GatewayOrg = Annotated[str, Depends(_gateway_org)]


@router.api_route(
    "/openai/v1/{path:path}", methods=METHODS, summary="Proxy to the OpenAI-compatible upstream"
)
async def openai(path: str, request: Request, org_id: GatewayOrg, gateway: GatewayDep) -> Response:
    """Forward to `<openai base>/<path>` and log the call."""
    return await gateway.forward(request, gateway.upstreams.openai(path, request.url.query), org_id=org_id)


@router.api_route("/anthropic/v1/{path:path}", methods=METHODS, summary="Proxy to Anthropic")
async def anthropic(path: str, request: Request, org_id: GatewayOrg, gateway: GatewayDep) -> Response:
    """Forward to `<anthropic base>/v1/<path>` and log the call."""
    return await gateway.forward(request, gateway.upstreams.anthropic(path, request.url.query), org_id=org_id)


@router.api_route(
    "/gateway/{path:path}", methods=METHODS, summary="Proxy to the Helicone-Target-Url upstream"
)
async def target(path: str, request: Request, org_id: GatewayOrg, gateway: GatewayDep) -> Response:
    """Forward to `<Helicone-Target-Url>/<path>` (any OpenAI-compatible provider) and log the call."""
    route = gateway.upstreams.target(request.headers.get("helicone-target-url"), path, request.url.query)
    return await gateway.forward(request, route, org_id=org_id)
