"""The ingestion paths' short route: answered by exact path before FastAPI and any middleware is entered.

Logging is the server's hot path. Behind FastAPI's own layers (its error and telemetry middleware) and
the app's (session paths, feedback CORS, the body size limit, then one endpoint middleware after
another) each logged call walked some ten ASGI frames and two wrapped `send`s before its endpoint, and
back. Here one dictionary lookup on the path picks the endpoint; everything else goes to FastAPI as
before. What the layers did for these paths is done here, once, in the same order and with the same
answers: a declared Content-Length over the limit is 413 first, then any method but POST is 405, then
the endpoint runs with the body bounded as it streams in (413), its domain errors answer the JSON
envelope, and an unexpected exception answers a plain 500 and is raised again for the server to log,
as Starlette's ServerErrorMiddleware does.

An endpoint returns its answer instead of sending it, so that only this module sends on this path.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI
from starlette.responses import PlainTextResponse
from starlette.types import Receive, Scope, Send

from heliograph.api.errors import error_response, method_not_allowed
from heliograph.api.limits import declared_too_large, refuse_too_large
from heliograph.errors import HeliographError

__all__ = ["Answer", "IngestEndpoint", "IngestingApp"]


@dataclass(frozen=True, slots=True)
class Answer:
    """A 200 answer: its headers (beside none other) and its body."""

    headers: list[tuple[bytes, bytes]]
    body: bytes


# (the app's state, the scope, receive bounded to the body limit, the limit) -> the answer, or None when
# the client went away before sending its body (nothing stored, nothing to answer).
IngestEndpoint = Callable[[Any, Scope, Receive, int], Awaitable[Answer | None]]


class IngestingApp(FastAPI):
    """FastAPI, with the ingestion endpoints of `serve_ingest_paths` answered ahead of its stack."""

    _ingest_endpoints: Mapping[str, IngestEndpoint] = {}
    _max_body_bytes = 0

    def serve_ingest_paths(self, endpoints: Mapping[str, IngestEndpoint], *, max_body_bytes: int) -> None:
        self._ingest_endpoints = dict(endpoints)
        self._max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self._ingest_endpoints.get(scope["path"]) if scope["type"] == "http" else None
        if endpoint is None:
            await super().__call__(scope, receive, send)
            return
        scope["app"] = self  # as Starlette sets it, for anything that reads the app from the scope
        await self._answer(endpoint, scope, receive, send)

    async def _answer(self, endpoint: IngestEndpoint, scope: Scope, receive: Receive, send: Send) -> None:
        max_bytes = self._max_body_bytes
        if declared_too_large(scope, max_bytes):
            await refuse_too_large(send, max_bytes)
            return
        if scope["method"] != "POST":
            await method_not_allowed(["POST"])(scope, receive, send)
            return
        try:
            answer = await endpoint(self.state, scope, receive, max_bytes)
        except HeliographError as exc:
            await error_response(exc)(scope, receive, send)
            return
        except Exception:
            # Nothing was sent yet (the endpoint only returns its answer), so the client gets a 500.
            await PlainTextResponse("Internal Server Error", status_code=500)(scope, receive, send)
            raise
        if answer is None:
            return
        await send({"type": "http.response.start", "status": 200, "headers": answer.headers})
        await send({"type": "http.response.body", "body": answer.body})
