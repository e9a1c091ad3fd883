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
from heliograph.domain.filter_fields import (
    FIELDS,
    KEYED_TABLES,
    LEGACY_FIELDS,
    REQUEST_TABLE,
    TABLES,
    UNSTORED,
    FieldSpec,
    Kind,
    Unstored,
)
from heliograph.domain.filters import MAX_TEXT_VALUE_CHARS, OPERATORS

__all__ = ["HELICONE_OPERATION_IDS", "documented_path", "filter_schemas", "install_openapi"]

_REF = "#/components/schemas/{model}"
_NUMBER = {"type": "number", "minimum": -1e15, "maximum": 1e15}
_VALUES: dict[Kind, dict[str, Any]] = {
    # Numbers are compared as their text, so they are text values too.
    "text": {"type": ["string", "number"], "maxLength": MAX_TEXT_VALUE_CHARS, "pattern": NO_NUL},
    "number": _NUMBER,
    "timestamp": {"anyOf": [_NUMBER, {"type": "string", "format": "date-time"}]},
    "bool": {"anyOf": [{"type": "boolean"}, {"enum": ["true", "false"]}]},
}
# A score compares as a number under the ordering operators; under the others, a number within
# ±1e15 compares as one and anything else as text, so they take what text does.
_ORDERING = ("gt", "gte", "lt", "lte")


def _value(kind: Kind, operator: str) -> dict[str, Any]:
    if kind == "score":
        return _NUMBER if operator in _ORDERING else _VALUES["text"]
    return _VALUES[kind]


def _at_most_one(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "maxProperties": 1, "properties": properties, **extra}


def _condition(spec: FieldSpec | Unstored) -> dict[str, Any]:
    """`{<operator>: <value>}` for the operators that apply to the field (`{}` is no condition)."""
    equals_only = isinstance(spec, FieldSpec) and spec.equals_only
    operators = [
        name
        for name, op in OPERATORS.items()
        if spec.kind in op.kinds and not (equals_only and name != "equals")
    ]
    return _at_most_one({name: _value(spec.kind, name) for name in operators}, additionalProperties=False)


def _keys_to(condition: dict[str, Any]) -> dict[str, Any]:
    """`{"<key>": <condition>, ...}`: several keys are ANDed."""
    return {
        "type": "object",
        "propertyNames": {"minLength": 1, "pattern": NO_NUL},
        "additionalProperties": condition,
    }


def _field(spec: FieldSpec | Unstored) -> dict[str, Any]:
    keyed = isinstance(spec, FieldSpec) and spec.keyed
    return _keys_to(_condition(spec)) if keyed else _condition(spec)


def _table(table: str) -> dict[str, Any]:
    if table in KEYED_TABLES:
        return _keys_to(_condition(KEYED_TABLES[table]))
    fields: dict[str, FieldSpec | Unstored] = {
        **{name: spec for (t, name), spec in FIELDS.items() if t == table},
        **{name: spec for (t, name), spec in UNSTORED.items() if t == table},
        **{name: FIELDS[(REQUEST_TABLE, to)] for (t, name), to in LEGACY_FIELDS.items() if t == table},
    }
    # Only a field's own name takes the dotted form (`properties.<key>`, not `search_properties.<key>`).
    keyed = [
        name
        for name, spec in fields.items()
        if isinstance(spec, FieldSpec) and spec.keyed and spec.name == name
    ]
    return {
        "type": "object",
        "properties": {name: _field(spec) for name, spec in fields.items()},
        # The keyed fields also take their key after a dot: {"properties.<key>": {<operator>: <value>}}.
        "patternProperties": {rf"^{name}\.[^\x00]+$": _condition(fields[name]) for name in keyed},
        "additionalProperties": False,
    }


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
            "description": "Conditions on request-level or session-level fields (Helicone's legacy tables "
            "too); every field of every table in one leaf must hold",
            "type": "object",
            "minProperties": 1,
            "properties": {table: _table(table) for table in TABLES},
            "additionalProperties": False,
        },
    }


# Helicone's operation ids and path parameter names, so a client generated from either document has the
# same method names (issue 15). The routes keep Python's names; a path parameter's name is not on the wire.
HELICONE_OPERATION_IDS: dict[tuple[str, str], str] = {
    ("/v1/session/query", "post"): "GetSessions",
    ("/v1/session/count", "post"): "GetSessionsCount",
    ("/v1/session/name/query", "post"): "GetNames",
    ("/v1/session/metrics/query", "post"): "GetMetrics",
    ("/v1/session/{sessionId}/feedback", "post"): "UpdateSessionFeedback",
    ("/v1/session/{sessionId}/tag", "get"): "GetSessionTag",
    ("/v1/session/{sessionId}/tag", "post"): "UpdateSessionTag",
    ("/v1/request/query", "post"): "GetRequests",
    ("/v1/request/query-clickhouse", "post"): "GetRequestsClickhouse",
    ("/v1/request/query-ids", "post"): "GetRequestsByIds",
    ("/v1/request/count/query", "post"): "GetRequestCount",
    ("/v1/request/{requestId}", "get"): "GetRequestById",
    ("/v1/request/{requestId}/inputs", "get"): "GetRequestInputs",
    ("/v1/request/{requestId}/feedback", "post"): "FeedbackRequest",
    ("/v1/request/{requestId}/property", "put"): "PutProperty",
    ("/v1/request/{requestId}/score", "post"): "AddScores",
    ("/v1/property/query", "post"): "GetProperties",
    ("/v1/property/hidden/query", "post"): "GetHiddenProperties",
    ("/v1/property/hide", "post"): "HideProperty",
    ("/v1/property/restore", "post"): "RestoreProperty",
    ("/v1/property/{propertyKey}/search", "post"): "SearchProperties",
    ("/v1/property/{propertyKey}/top-costs/query", "post"): "GetTopCosts",
    ("/v1/property/{propertyKey}/top-requests/query", "post"): "GetTopRequests",
    ("/v1/property/properties/over-time", "post"): "GetPropertiesOverTime",
    ("/v1/evals/query", "post"): "QueryEvals",
    ("/v1/evals/scores", "get"): "GetEvalScores",
    ("/v1/evals/score-distributions/query", "post"): "QueryScoreDistributions",
    ("/v1/evals/{requestId}", "post"): "AddEval",
    ("/v1/trace/custom/log", "post"): "LogCustomTrace",
    ("/v1/trace/custom/log/typed", "post"): "LogCustomTraceTyped",
    ("/v1/trace/custom/v1/log", "post"): "LogCustomTraceLegacy",
    ("/v1/trace/log", "post"): "LogTrace",
    ("/v1/trace/log-python", "post"): "LogPythonTrace",
}
_PARAMETER_NAMES = {"session_id": "sessionId", "request_id": "requestId"}


def documented_path(path: str) -> str:
    """A route's path as the OpenAPI document spells it, with Helicone's parameter names."""
    for ours, theirs in _PARAMETER_NAMES.items():
        path = path.replace(f"{{{ours}}}", f"{{{theirs}}}")
    return path


def _helicone_names(schema: dict[str, Any]) -> None:
    """Rename path parameters as Helicone names them, then give shared operations Helicone's ids (in new
    dicts: the path tables of the plain-ASGI endpoints share theirs between paths)."""
    schema["paths"] = {
        documented_path(path): {
            method: _helicone_operation(documented_path(path), method, operation)
            for method, operation in item.items()
        }
        for path, item in schema["paths"].items()
    }


def _helicone_operation(path: str, method: str, operation: dict[str, Any]) -> dict[str, Any]:
    renamed = {
        **operation,
        "operationId": HELICONE_OPERATION_IDS.get((path, method), operation.get("operationId")),
    }
    if "parameters" in operation:
        renamed["parameters"] = [
            {**p, "name": _PARAMETER_NAMES.get(p["name"], p["name"])} if p.get("in") == "path" else p
            for p in operation["parameters"]
        ]
    return renamed


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
            _helicone_names(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
