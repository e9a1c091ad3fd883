"""Maps domain errors and schema failures to the spec's status codes inside the one envelope."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException
from starlette.routing import BaseRoute, Route

from heliograph.errors import HeliographError, InvalidBody, Unavailable, error_body

__all__ = ["ERROR_RESPONSES", "error_response", "install_error_handlers", "method_not_allowed"]

log = logging.getLogger(__name__)
RETRY_AFTER_SECONDS = "1"
_PARAMETER = re.compile(r"\{[^}]*\}")

# What every JSON endpoint may answer besides success, for the OpenAPI document.
# The content is spelled out (not `model`) so that routes answering text on success, like the async
# log, still document their errors as JSON.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorPublic"}}},
    }
    for status, description in (
        (400, "A value is malformed; the message names it"),
        (401, "Missing, unknown or revoked API key"),
        (404, "Not found in the caller's organization"),
        (413, "Body over the size limit"),
        (415, "The body's Content-Type or Content-Encoding is not one the endpoint takes"),
        (422, "The body does not match the schema"),
        (503, "The database is unavailable; retry"),
    )
}


def _envelope(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(error_body(message), status_code=status, headers=headers, media_type="application/json")


def error_response(exc: HeliographError) -> Response:
    """The envelope for a domain error, with `Retry-After` when retrying can help."""
    headers = {"Retry-After": RETRY_AFTER_SECONDS} if isinstance(exc, Unavailable) else None
    return _envelope(exc.status_code, exc.message, headers)


def method_not_allowed(allowed: Iterable[str]) -> Response:
    """The 405 envelope, with every method the path serves in `Allow`."""
    return _envelope(405, "Method Not Allowed", {"Allow": ", ".join(allowed)})


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers; every failure answers `{"data": null, "error": "<message>"}`."""

    @app.exception_handler(HeliographError)
    async def _domain_error(_request: Request, exc: HeliographError) -> Response:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _schema_error(_request: Request, exc: RequestValidationError) -> Response:
        problems = []
        for error in exc.errors()[:5]:
            where = ".".join(str(part) for part in error["loc"] if part != "body") or "body"
            problems.append(f"{where}: {error['msg']}")
        return error_response(InvalidBody("Validation failed: " + "; ".join(problems)))

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed_methods(request)
        return _envelope(exc.status_code, str(exc.detail), headers)


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (RFC 9110 wants all of them in a 405's `Allow`).

    Starlette's own 405 names only the first route that matched the path, though several routes may
    share it (POST and DELETE of a session's feedback).
    """
    path = request.scope["path"]
    matched = [r for r in _flat_routes(request.app.routes) if r.methods and r.path_regex.match(path)]
    # The most specific paths win, as in OpenAPI: /v1/session/query is not a session id, and neither is
    # x/feedback in /v1/session/x/feedback (a session id may hold a slash).
    fixed = {id(route): len(_PARAMETER.sub("", route.path_format)) for route in matched}
    most = max(fixed.values(), default=0)
    methods = {method for route in matched if fixed[id(route)] == most for method in route.methods or ()}
    return ", ".join(sorted(methods))


def _flat_routes(routes: Iterable[BaseRoute]) -> Iterator[Route]:
    """The routes, with those of included routers (which newer FastAPI keeps whole, as `original_router`)."""
    for route in routes:
        if isinstance(route, Route):
            yield route
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from _flat_routes(included.routes)
