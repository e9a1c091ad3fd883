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

__all__ = ["ADDITIONS", "DOCUMENT", "SCHEMAS", "operation", "validate_answer"]

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


def _validating_document() -> dict[str, Any]:
    document: dict[str, Any] = _nullable(DOCUMENT)
    for name, extra in ADDITIONS.items():
        document["components"]["schemas"][name]["properties"].update(extra)
    return document


_VALIDATING = _validating_document()


def operation(path: str, method: str) -> dict[str, Any]:
    """Helicone's operation object for `method path`."""
    found: dict[str, Any] = DOCUMENT["paths"][path][method]
    return found


def validate_answer(path: str, method: str, answer: Any) -> None:
    """Raise jsonschema.ValidationError unless `answer` fits the operation's documented 200 answer."""
    pointer = "/".join(
        part.replace("~", "~0").replace("/", "~1")
        for part in ("paths", path, method, "responses", "200", "content", "application/json", "schema")
    )
    schema = {"$ref": f"#/{pointer}", "paths": _VALIDATING["paths"], "components": _VALIDATING["components"]}
    Draft202012Validator(schema).validate(answer)
