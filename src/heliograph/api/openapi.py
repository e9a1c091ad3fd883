"""The OpenAPI document: FastAPI's, plus the endpoints served ahead of the router (async log,
gateway) and the async-log body.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from heliograph.api.routes.gateway import OPENAPI_PATHS as GATEWAY_PATHS
from heliograph.api.routes.ingest import OPENAPI_PATHS as INGEST_PATHS
from heliograph.api.schemas import AsyncLogCreate

__all__ = ["install_openapi"]

_REF = "#/components/schemas/{model}"


def install_openapi(app: FastAPI) -> None:
    """Serve an OpenAPI document that also describes the endpoints served ahead of the router."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
            schema["paths"] = {**INGEST_PATHS, **schema["paths"], **GATEWAY_PATHS}
            body = AsyncLogCreate.model_json_schema(ref_template=_REF, by_alias=True)
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(body.pop("$defs", {}))
            components["AsyncLogCreate"] = body
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
