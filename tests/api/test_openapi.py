"""The OpenAPI document describes every endpoint with its real schemas, and docs/openapi.json is current."""

from __future__ import annotations

import json
import re
from pathlib import Path

from fastapi.routing import APIRoute

from heliograph.api.routes.gateway import OPENAPI_PATHS as GATEWAY_PATHS
from heliograph.api.routes.ingest import OPENAPI_PATHS as INGEST_PATHS
from heliograph.api.routes.otlp import OPENAPI_PATHS as OTLP_PATHS
from heliograph.app import ROUTERS, create_app
from heliograph.config import Settings
from support import Server

COMMITTED = Path(__file__).parents[2] / "docs" / "openapi.json"


def test_every_route_is_documented_with_a_summary_and_error_answers(server: Server) -> None:
    document = server.request("GET", "/openapi.json").json()
    routes = {
        (re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path), method.lower())  # {path:path} is {path} in OpenAPI
        for router in ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods or ()
    } | {
        (path, method)
        for paths in (INGEST_PATHS, OTLP_PATHS, GATEWAY_PATHS)
        for path, item in paths.items()
        for method in item
    }
    documented = {(path, method) for path, item in document["paths"].items() for method in item}
    assert routes == documented
    for path, method in routes - {("/healthz", "get"), ("/metrics", "get")}:  # the two that need no key
        operation = document["paths"][path][method]
        assert operation.get("summary"), (path, method)
        assert {"400", "401"} <= set(operation["responses"]), (path, method)
        if "requestBody" in operation:
            assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"]


def test_the_async_log_body_and_the_error_envelope_are_real_schemas(server: Server) -> None:
    document = server.request("GET", "/openapi.json").json()
    schemas = document["components"]["schemas"]
    body = document["paths"]["/oai/v1/log"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/AsyncLogCreate"}
    assert set(schemas["AsyncLogCreate"]["required"]) == {"providerRequest", "providerResponse"}
    assert "json" in schemas["ProviderRequest"]["properties"]
    assert "HTTPValidationError" not in schemas  # our 422 answers are envelopes too
    assert set(schemas["Envelope_NoneType_"]["properties"]) == {"data", "error"}


def test_the_docs_page_renders(server: Server) -> None:
    response = server.request("GET", "/docs")
    assert response.status_code == 200
    assert "/openapi.json" in response.text


def test_the_committed_openapi_document_is_current() -> None:
    current = create_app(Settings()).openapi()
    assert json.loads(COMMITTED.read_text()) == current, "run `make openapi` and commit docs/openapi.json"
