"""Gateway endpoints: `/openai/v1/*`, `/anthropic/v1/*` and `/gateway/*`, authenticated by `Helicone-Auth`.

Whatever runs before the upstream is asked is added to every proxied call, so these are served by a
plain ASGI middleware ahead of FastAPI's router (as the async-log endpoints are): no routing table,
no dependency solving, no request or response objects. FastAPI's stack costs some 0.2-0.5 ms per
call here, the middleware 0.03 ms. `OPENAPI_PATHS` describes the endpoints for the OpenAPI document.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from starlette.types import ASGIApp, Receive, Scope, Send

from heliograph.api.asgi import decoded_headers, header, read_body
from heliograph.api.deps import org_for_bearer
from heliograph.api.errors import ERROR_RESPONSES, error_response, method_not_allowed
from heliograph.api.routes.gateway_feedback import FEEDBACK_PATHS
from heliograph.errors import HeliographError
from heliograph.gateway.proxy import Gateway
from heliograph.gateway.upstream import Route, Upstreams

__all__ = ["OPENAPI_PATHS", "GatewayEndpoints"]

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")

# Where each prefix goes: the upstream route for (headers, path after the prefix, query).
_Router = Callable[[Upstreams, list[tuple[str, str]], str, str], Route]


def _openai(upstreams: Upstreams, _headers: list[tuple[str, str]], path: str, query: str) -> Route:
    return upstreams.openai(path, query)


def _anthropic(upstreams: Upstreams, _headers: list[tuple[str, str]], path: str, query: str) -> Route:
    return upstreams.anthropic(path, query)


def _target(upstreams: Upstreams, headers: list[tuple[str, str]], path: str, query: str) -> Route:
    return upstreams.target(header(headers, "helicone-target-url"), path, query)


_ROUTERS: tuple[tuple[str, _Router], ...] = (
    ("/openai/v1/", _openai),
    ("/anthropic/v1/", _anthropic),
    ("/gateway/", _target),
)


class GatewayEndpoints:
    """ASGI middleware: proxies the gateway's paths itself and passes everything else on.

    It must sit inside the body size limit and the async-log endpoints, which own `/anthropic/v1/log`.
    The gateway and the store come from `app.state`.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"] if scope["type"] == "http" else ""
        if path in FEEDBACK_PATHS and scope["method"] == "POST":
            path = ""  # Helicone's feedback route: answered by the router, never forwarded
        if path:
            for prefix, router in _ROUTERS:
                if path.startswith(prefix):
                    try:
                        await self._proxy(scope, receive, send, prefix, router)
                    except HeliographError as exc:  # raised before anything was sent
                        await error_response(exc)(scope, receive, send)
                    return
        await self.app(scope, receive, send)

    async def _proxy(self, scope: Scope, receive: Receive, send: Send, prefix: str, router: _Router) -> None:
        if scope["method"] not in METHODS:
            await method_not_allowed(METHODS)(scope, receive, send)
            return
        state = scope["app"].state
        headers = decoded_headers(scope)
        # The caller's Authorization header belongs to the upstream; Heliograph's key travels apart.
        org_id = await org_for_bearer(
            state.store, header(headers, "helicone-auth"), header_name="Helicone-Auth"
        )
        gateway: Gateway = state.gateway
        route = router(
            gateway.upstreams, headers, _rest_of_path(scope, prefix), scope["query_string"].decode("latin-1")
        )
        body = await read_body(receive)
        if body is None:  # the caller went away before sending its body: nothing to forward or log
            return
        await gateway.forward(scope, receive, send, route=route, org_id=org_id, headers=headers, body=body)


def _rest_of_path(scope: Scope, prefix: str) -> str:
    """The path after `prefix`, still percent-encoded as the caller sent it (so it is forwarded as sent)."""
    raw: bytes | None = scope.get("raw_path")
    if raw is not None and raw.startswith(prefix.encode()):
        return raw[len(prefix) :].decode("latin-1")
    return quote(scope["path"][len(prefix) :])


_REFUSED_TARGET = {
    "403": {
        "description": "The target resolves to an internal address that HELIOGRAPH_GATEWAY_ALLOWED_HOSTS "
        "does not open",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorPublic"}}},
    }
}


def _operations(name: str, summary: str, description: str) -> dict[str, Any]:
    return {
        method.lower(): {
            "tags": ["gateway"],
            "summary": summary,
            "description": description,
            "operationId": f"{name}_proxy_{method.lower()}",
            "parameters": [
                {
                    "name": "path",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string", "title": "Path"},
                }
            ],
            "responses": {
                "200": {
                    "description": "Successful Response",
                    "content": {"application/json": {"schema": {}}},
                },
                **{str(status): answer for status, answer in ERROR_RESPONSES.items()},
                **(_REFUSED_TARGET if name == "target" else {}),
            },
        }
        for method in METHODS
    }


OPENAPI_PATHS: dict[str, dict[str, Any]] = {
    f"{prefix}{{path}}": _operations(name, summary, description)
    for prefix, name, summary, description in (
        (
            "/openai/v1/",
            "openai",
            "Proxy to the OpenAI-compatible upstream",
            "Forward to `<openai base>/<path>` and log the call.",
        ),
        (
            "/anthropic/v1/",
            "anthropic",
            "Proxy to Anthropic",
            "Forward to `<anthropic base>/v1/<path>` and log the call.",
        ),
        (
            "/gateway/",
            "target",
            "Proxy to the Helicone-Target-Url upstream",
            "Forward to `<Helicone-Target-Url>/<path>` (any OpenAI-compatible provider) and log the call.",
        ),
    )
}
