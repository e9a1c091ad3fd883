"""The route classes of the JSON API: authenticate, then read the body within the limit, then parse it.

Every endpoint that takes JSON answers each mistake one way (docs/errors.md): a Content-Type that is not
JSON is 415, a body that is not JSON is 400 `Invalid JSON body`, a missing field is 422. A body sent
without a Content-Type is read as JSON.

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
from heliograph.errors import INVALID_JSON_BODY, InvalidInput, UnsupportedMediaType

__all__ = [
    "OFF_LOOP_JSON_BYTES",
    "AuthenticatedRoute",
    "JsonBodyRoute",
    "JsonRequest",
    "check_json_content_type",
]

# Bodies larger than this are parsed in a worker thread (json.loads takes some 5 ms per MB).
OFF_LOOP_JSON_BYTES = 64 * 1024


def check_json_content_type(content_type: str | None) -> None:
    """UnsupportedMediaType (415) unless the Content-Type is absent, `application/json` or `*/*+json`."""
    if content_type is None:
        return
    media_type = content_type.partition(";")[0].strip().lower()
    if media_type != "application/json" and not (
        media_type.startswith("application/") and media_type.endswith("+json")
    ):
        raise UnsupportedMediaType(
            f"Unsupported Content-Type {media_type[:80]!r}: send the body as application/json"
        )


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


class JsonBodyRoute(APIRoute):
    """A route whose JSON body is checked as the module says before FastAPI validates it."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        # The Content-Type is checked here (415), so FastAPI may read a body without one as JSON.
        super().__init__(path, endpoint, **{**kwargs, "strict_content_type": False})

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def parse_first(request: Request) -> Response:
            request = JsonRequest(request.scope, request.receive)
            await self.prepare(request)
            await request.body()  # PayloadTooLarge (413) from the size limit propagates as itself
            if self.body_field is not None:
                await _parse_json(request)
            return await handler(request)

        return parse_first

    async def prepare(self, request: Request) -> None:
        """What runs before a byte of the body is read (nothing here)."""


async def _parse_json(request: Request) -> None:
    check_json_content_type(request.headers.get("content-type"))
    try:
        await request.json()
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise InvalidInput(INVALID_JSON_BODY) from None


class AuthenticatedRoute(JsonBodyRoute):
    """Every route of the JSON API: the key is checked (401) before a byte of the body is read, and the
    body is read whole (413 over the limit, see api.limits) before FastAPI parses it.

    The caller's organization is left in `request.state.org_id` for the `CurrentOrg` dependency.
    """

    async def prepare(self, request: Request) -> None:
        store = request.app.state.store
        request.state.org_id = await org_for_bearer(store, request.headers.get("authorization"))
