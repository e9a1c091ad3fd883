"""The OpenAPI document: FastAPI's, plus the endpoints served ahead of the router (async log,
OTLP, gateway) and what the handlers validate by hand.

That is the async-log body (parsed with Helicone's messages), the error envelope, and the filter
language of spec section 5, whose schemas are built from the domain's field and operator tables so a
new field is documented as soon as it is declared.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from heliograph.api.routes.gateway import OPENAPI_PATHS as GATEWAY_PATHS
from heliograph.api.routes.ingest import OPENAPI_PATHS as INGEST_PATHS
from heliograph.api.routes.otlp import OPENAPI_PATHS as OTLP_PATHS
from heliograph.api.routes.otlp import OPENAPI_SCHEMAS as OTLP_SCHEMAS
from heliograph.api.schemas import FILTER_REF, NO_NUL, AsyncLogCreate, CustomTraceCreate, ErrorPublic
from heliograph.domain.filters import (
    FIELDS,
    MAX_TEXT_VALUE_CHARS,
    OPERATORS,
    REQUEST_TABLE,
    SESSION_TABLE,
    FieldSpec,
    Kind,
)

__all__ = ["filter_schemas", "install_openapi"]

_REF = "#/components/schemas/{model}"
_NUMBER = {"type": "number", "minimum": -1e15, "maximum": 1e15}
_VALUES: dict[Kind, dict[str, Any]] = {
    # Numbers are compared as their text, so they are text values too.
    "text": {"type": ["string", "number"], "maxLength": MAX_TEXT_VALUE_CHARS, "pattern": NO_NUL},
    "number": _NUMBER,
    "timestamp": {"anyOf": [_NUMBER, {"type": "string", "format": "date-time"}]},
    "bool": {"anyOf": [{"type": "boolean"}, {"enum": ["true", "false"]}]},
}


def _exactly_one(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "minProperties": 1, "maxProperties": 1, "properties": properties, **extra}


def _condition(spec: FieldSpec) -> dict[str, Any]:
    """`{<operator>: <value>}` for the operators that apply to the field."""
    operators = [
        name
        for name, op in OPERATORS.items()
        if spec.kind in op.kinds and not (spec.equals_only and name != "equals")
    ]
    return _exactly_one({name: _VALUES[spec.kind] for name in operators}, additionalProperties=False)


def _field(spec: FieldSpec) -> dict[str, Any]:
    if not spec.keyed:
        return _condition(spec)
    return {  # {"properties": {"<key>": {<operator>: <value>}}}
        "type": "object",
        "minProperties": 1,
        "maxProperties": 1,
        "propertyNames": {"minLength": 1, "pattern": NO_NUL},
        "additionalProperties": _condition(spec),
    }


def _leaf(table: str) -> dict[str, Any]:
    specs = [spec for (spec_table, _), spec in FIELDS.items() if spec_table == table]
    columns = _exactly_one(
        {spec.name: _field(spec) for spec in specs},
        # The keyed fields also take their key after a dot: {"properties.<key>": {<operator>: <value>}}.
        patternProperties={rf"^{spec.name}\.[^\x00]+$": _condition(spec) for spec in specs if spec.keyed},
        additionalProperties=False,
    )
    return _exactly_one({table: columns}, required=[table], additionalProperties=False)


def filter_schemas() -> dict[str, dict[str, Any]]:
    """The filter tree's schemas, keyed by component name; `FilterNode` is the root."""
    node = {"$ref": FILTER_REF}
    return {
        "FilterNode": {
            "description": 'A filter tree: "all" or {} (no condition), a leaf, or two nodes joined by and/or',
            "anyOf": [
                {"const": "all"},
                {"type": "object", "maxProperties": 0},
                {"$ref": _REF.format(model="FilterBranch")},
                {"$ref": _REF.format(model="FilterLeaf")},
            ],
        },
        "FilterBranch": {
            "type": "object",
            "properties": {"left": node, "operator": {"enum": ["and", "or"]}, "right": node},
            "required": ["left", "operator", "right"],
            "additionalProperties": False,
        },
        "FilterLeaf": {
            "description": "One condition on a request-level or a session-level field",
            "oneOf": [_leaf(REQUEST_TABLE), _leaf(SESSION_TABLE)],
        },
    }


_SECURITY_SCHEMES = {
    "ApiKey": {"type": "http", "scheme": "bearer", "description": "A Heliograph API key"},
    "HeliconeAuth": {
        "type": "apiKey",
        "in": "header",
        "name": "Helicone-Auth",
        "description": "`Bearer <Heliograph API key>`; the Authorization header goes to the upstream",
    },
    "MetricsToken": {"type": "http", "scheme": "bearer", "description": "HELIOGRAPH_METRICS_TOKEN, when set"},
}


def _declare_security(schema: dict[str, Any]) -> None:
    """Every operation that can answer 401 takes a key: the gateway's in Helicone-Auth, the rest as Bearer."""
    schema["components"]["securitySchemes"] = _SECURITY_SCHEMES
    for path, item in schema["paths"].items():
        # New dicts, so the path tables of the plain-ASGI endpoints are left as they are.
        schema["paths"][path] = {method: _secured(operation) for method, operation in item.items()}


def _secured(operation: dict[str, Any]) -> dict[str, Any]:
    if "401" not in operation.get("responses", {}) or "security" in operation:  # declared by its route
        return operation
    scheme = "HeliconeAuth" if "gateway" in operation.get("tags", []) else "ApiKey"
    return {**operation, "security": [{scheme: []}]}


def install_openapi(app: FastAPI) -> None:
    """Serve an OpenAPI document that also describes the endpoints served ahead of the router, the
    async-log body, errors and filters."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, summary=app.summary, routes=app.routes)
            schema["paths"] = {**INGEST_PATHS, **OTLP_PATHS, **schema["paths"], **GATEWAY_PATHS}
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in (AsyncLogCreate, CustomTraceCreate, ErrorPublic):
                body = model.model_json_schema(ref_template=_REF, by_alias=True)
                components.update(body.pop("$defs", {}))
                components[model.__name__] = body
            components.update(filter_schemas())
            components.update(OTLP_SCHEMAS)
            _declare_security(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
