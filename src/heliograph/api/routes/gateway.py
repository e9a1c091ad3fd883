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


async def openai(path: str, request: Request, org_id: GatewayOrg, gateway: GatewayDep) -> Response:
    """Forward to `<openai base>/<path>` and log the call."""
    return await gateway.forward(request, gateway.upstreams.openai(path, request.url.query), org_id=org_id)


async def anthropic(path: str, request: Request, org_id: GatewayOrg, gateway: GatewayDep) -> Response:
    """Forward to `<anthropic base>/v1/<path>` and log the call."""
    return await gateway.forward(request, gateway.upstreams.anthropic(path, request.url.query), org_id=org_id)


async def target(path: str, request: Request, org_id: GatewayOrg, gateway: GatewayDep) -> Response:
    """Forward to `<Helicone-Target-Url>/<path>` (any OpenAI-compatible provider) and log the call."""
    route = gateway.upstreams.target(request.headers.get("helicone-target-url"), path, request.url.query)
    return await gateway.forward(request, route, org_id=org_id)


# One operation per method, so each has its own operation id in the OpenAPI document.
for _path, _endpoint, _summary in (
    ("/openai/v1/{path:path}", openai, "Proxy to the OpenAI-compatible upstream"),
    ("/anthropic/v1/{path:path}", anthropic, "Proxy to Anthropic"),
    ("/gateway/{path:path}", target, "Proxy to the Helicone-Target-Url upstream"),
):
    for _method in METHODS:
        router.add_api_route(
            _path,
            _endpoint,
            methods=[_method],
            operation_id=f"{_endpoint.__name__}_proxy_{_method.lower()}",
            summary=_summary,
        )
