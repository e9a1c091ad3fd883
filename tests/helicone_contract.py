"""Helicone's own OpenAPI document (tests/fixtures/helicone_openapi), as `jsonschema` validators.

The document is OpenAPI 3.0: `nullable: true` becomes `anyOf: [null, schema]` here. Heliograph's
documented additions (docs/compatibility.md) are added to the schemas that forbid unknown keys, and
nothing else is changed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

__all__ = [
    "ADDITIONS",
    "DOCUMENT",
    "SCHEMAS",
    "filter_leaves",
    "operation",
    "resolve",
    "sort_bodies",
    "validate_answer",
    "validate_body",
]

DOCUMENT: dict[str, Any] = json.loads(
    (Path(__file__).parent / "fixtures" / "helicone_openapi" / "session-request-subset.json").read_text()
)
SCHEMAS: dict[str, Any] = DOCUMENT["components"]["schemas"]
# Heliograph's documented additions to Helicone's rows.
ADDITIONS = {
    "HeliconeRequest": {"cost_unknown": {"type": "boolean"}},
    "SessionResult": {"feedback": {"type": ["boolean", "null"]}},
}


def _nullable(node: Any) -> Any:
    if isinstance(node, list):
        return [_nullable(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: _nullable(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable") is True:
        return {"anyOf": [{"type": "null"}, converted]}
    return converted


def _intersection(schema: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """tsoa writes a TypeScript intersection (`A & {propertyKey}`) as an allOf whose members each forbid
    the other's keys, which no body satisfies; it means one object with the keys of both."""
    members = [schemas[m["$ref"].rsplit("/", 1)[1]] if "$ref" in m else m for m in schema["allOf"]]
    return {
        "type": "object",
        "properties": {k: v for m in members for k, v in m.get("properties", {}).items()},
        "required": [k for m in members for k in m.get("required", [])],
        "additionalProperties": False,
    }


def _validating_document() -> dict[str, Any]:
    document: dict[str, Any] = _nullable(DOCUMENT)
    schemas = document["components"]["schemas"]
    for name, extra in ADDITIONS.items():
        schemas[name]["properties"].update(extra)
    for item in document["paths"].values():
        for op in item.values():
            content = op.get("requestBody", {}).get("content", {}).get("application/json", {})
            if "allOf" in content.get("schema", {}):
                content["schema"] = _intersection(content["schema"], schemas)
    return document


_VALIDATING = _validating_document()


def operation(path: str, method: str) -> dict[str, Any]:
    """Helicone's operation object for `method path`."""
    found: dict[str, Any] = DOCUMENT["paths"][path][method]
    return found


def _validate(parts: tuple[str, ...], instance: Any) -> None:
    pointer = "/".join(part.replace("~", "~0").replace("/", "~1") for part in parts)
    schema = {"$ref": f"#/{pointer}", "paths": _VALIDATING["paths"], "components": _VALIDATING["components"]}
    Draft202012Validator(schema).validate(instance)


def validate_answer(path: str, method: str, answer: Any) -> None:
    """Raise jsonschema.ValidationError unless `answer` fits the operation's documented 200 answer."""
    _validate(("paths", path, method, "responses", "200", "content", "application/json", "schema"), answer)


def validate_body(path: str, method: str, body: Any) -> None:
    """Raise jsonschema.ValidationError unless `body` is a request body Helicone's document allows (any
    body, where the operation declares none)."""
    if "requestBody" in operation(path, method):
        _validate(("paths", path, method, "requestBody", "content", "application/json", "schema"), body)


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema`, or what its `$ref` points to (repeatedly)."""
    while "$ref" in schema:
        schema = SCHEMAS[schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _sample(schema: dict[str, Any], field: str) -> Any:
    """A value of the type `schema` asks for (a time for the created_at fields, whose type is text)."""
    if schema.get("type") == "boolean":
        return True
    if schema.get("type") == "number":
        return 1
    return "2026-01-01T00:00:00.000Z" if "created_at" in field else "app-0"


def _conditions(operators: dict[str, Any], field: str) -> list[tuple[str, dict[str, Any]]]:
    """(operator, `{<operator>: <value>}`) for each operator of an operator schema."""
    return [(name, {name: _sample(value, field)}) for name, value in resolve(operators)["properties"].items()]


def filter_leaves(leaf_schema: str) -> list[tuple[str, dict[str, Any]]]:
    """(id, leaf) for every operator of every field of every table a filter leaf schema allows."""
    leaves = []
    for table, table_ref in resolve(SCHEMAS[leaf_schema])["properties"].items():
        table_schema = resolve(table_ref)
        if not table_schema.get("properties"):  # the keyed tables: properties, values
            for op, condition in _conditions(table_schema["additionalProperties"], table):
                leaves.append((f"{table}.app.{op}", {table: {"app": condition}}))
            continue
        for field, field_schema in table_schema["properties"].items():
            if "additionalProperties" in field_schema:  # keyed: properties, scores, search_properties
                key = "quality" if field == "scores" else "app"
                for op, condition in _conditions(field_schema["additionalProperties"], field):
                    leaves.append((f"{table}.{field}.{op}", {table: {field: {key: condition}}}))
            elif "$ref" not in field_schema:  # property_key: {"equals": <key>}
                leaves.append((f"{table}.{field}.equals", {table: {field: {"equals": "app"}}}))
            else:
                for op, condition in _conditions(field_schema, field):
                    leaves.append((f"{table}.{field}.{op}", {table: {field: condition}}))
    return leaves


def sort_bodies() -> list[tuple[str, dict[str, Any]]]:
    """(id, sort) for every key of Helicone's SortLeafRequest, in each direction."""
    sorts: list[tuple[str, dict[str, Any]]] = []
    for key, schema in SCHEMAS["SortLeafRequest"]["properties"].items():
        if key == "random":
            sorts.append(("random", {"random": True}))
        elif "additionalProperties" in schema:
            sorts += [(f"{key}-{d}", {key: {"app": d}}) for d in ("asc", "desc")]
        else:
            sorts += [(f"{key}-{d}", {key: d}) for d in resolve(schema)["enum"]]
    return sorts
