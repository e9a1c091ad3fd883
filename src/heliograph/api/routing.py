"""The route class of the JSON API: authenticate, then read the body within the limit, then parse it.

FastAPI reads and parses a body before it resolves any dependency, so without this class a caller
with no key could make the server read and parse 10 MB bodies (authentication came last), a body cut
off at the size limit became FastAPI's 400 "error parsing the body" instead of 413, and a large body
was parsed on the event loop.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute

from heliograph.api.deps import org_for_bearer

__all__ = ["OFF_LOOP_JSON_BYTES", "AuthenticatedRoute", "HeliconeAuthRoute", "JsonRequest"]

# Bodies larger than this are parsed in a worker thread (json.loads takes some 5 ms per MB).
OFF_LOOP_JSON_BYTES = 64 * 1024


class JsonRequest(Request):
    """A request whose large JSON body is parsed in a worker thread, as the standard library parses it."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            self._json = (
                await asyncio.to_thread(json.loads, body)
                if len(body) > OFF_LOOP_JSON_BYTES
                else json.loads(body)
            )
        return self._json


class AuthenticatedRoute(APIRoute):
    """Every route of the JSON API: the key is checked (401) before a byte of the body is read, and the
    body is read whole (413 over the limit, see api.limits) before FastAPI parses it.

    The caller's organization is left in `request.state.org_id` for the `CurrentOrg` dependency.
    """

    auth_header = "Authorization"

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def authenticate_first(request: Request) -> Response:
            request = JsonRequest(request.scope, request.receive)
            store = request.app.state.store
            request.state.org_id = await org_for_bearer(
                store, request.headers.get(self.auth_header), header_name=self.auth_header
            )
            await request.body()  # PayloadTooLarge (413) from the size limit propagates as itself
            return await handler(request)

        return authenticate_first


class HeliconeAuthRoute(AuthenticatedRoute):
    """A route called beside the gateway, whose key travels in `Helicone-Auth` (the Authorization
    header there belongs to the upstream provider)."""

    auth_header = "Helicone-Auth"
