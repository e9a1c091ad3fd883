"""The filter language of spec section 5: parse and validate a JSON filter tree.

Storage compiles the tree this module returns; this module knows nothing of SQL. Fields and
operators are declared once in the tables below, so the language grows by adding rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Literal

from heliograph.domain.headers import property_key
from heliograph.domain.records import NANO_USD_PER_USD
from heliograph.errors import InvalidInput

__all__ = [
    "FEEDBACK_TABLE",
    "FIELDS",
    "MAX_FILTER_DEPTH",
    "MAX_FILTER_LEAVES",
    "MAX_FILTER_TEXT_CHARS",
    "OPERATORS",
    "REQUEST_TABLE",
    "SESSION_TABLE",
    "Branch",
    "FieldSpec",
    "FilterNode",
    "Leaf",
    "Operator",
    "parse_filter",
]

REQUEST_TABLE = "request_response_rmt"
SESSION_TABLE = "sessions_request_response_rmt"
# Heliograph's own: a session's feedback records (issue 17). A leaf means "the session has a record that
# matches" (for not-equals and not-contains: "has none that matches").
FEEDBACK_TABLE = "feedback"
MAX_FILTER_DEPTH = 64
# A dashboard's filter has a handful of conditions. Each costs SQLAlchemy some 0.4 ms to build and
# compile (in a worker thread, see storage.sql.prepared) and the embedding statement some 0.03 ms on
# the event loop; 128 keep that under 5 ms, and far below SQLite's expression depth of 1000.
MAX_FILTER_LEAVES = 64
# Every key and text value of a filter together (one value may have MAX_TEXT_VALUE_CHARS).
MAX_FILTER_TEXT_CHARS = 65_536
MAX_TEXT_VALUE_CHARS = 4096
_INT63 = 2**63 - 1

Kind = Literal["text", "number", "timestamp", "bool"]
Value = str | int | float | bool


@dataclass(frozen=True, slots=True)
class Operator:
    name: str
    label: str
    kinds: frozenset[Kind]


_ORDERED: frozenset[Kind] = frozenset({"number", "timestamp"})
OPERATORS: dict[str, Operator] = {
    op.name: op
    for op in (
        Operator("equals", "is", frozenset({"text", "number", "timestamp", "bool"})),
        Operator("not-equals", "is not", frozenset({"text", "number", "timestamp"})),
        Operator("like", "matches (LIKE)", frozenset({"text"})),
        Operator("ilike", "matches, any case (ILIKE)", frozenset({"text"})),
        Operator("contains", "contains", frozenset({"text"})),
        Operator("not-contains", "does not contain", frozenset({"text"})),
        Operator("gt", "is greater than", _ORDERED),
        Operator("gte", "is at least", _ORDERED),
        Operator("lt", "is less than", _ORDERED),
        Operator("lte", "is at most", _ORDERED),
    )
}


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """A filterable field: keyed ones take a sub-key (`properties.<key>`), usd ones become nano-USD."""

    table: str
    name: str
    kind: Kind
    keyed: bool = False
    usd: bool = False
    equals_only: bool = False


def _request(name: str, kind: Kind, **extra: bool) -> FieldSpec:
    return FieldSpec(REQUEST_TABLE, name, kind, **extra)


def _session(name: str, kind: Kind, **extra: bool) -> FieldSpec:
    return FieldSpec(SESSION_TABLE, name, kind, **extra)


def _feedback(name: str, kind: Kind, **extra: bool) -> FieldSpec:
    return FieldSpec(FEEDBACK_TABLE, name, kind, **extra)


FIELDS: dict[tuple[str, str], FieldSpec] = {
    (spec.table, spec.name): spec
    for spec in (
        _request("properties", "text", keyed=True),
        _request("property_key", "text", equals_only=True),
        _request("scores", "number", keyed=True),
        _request("helicone-score-feedback", "bool"),
        _request("model", "text"),
        _request("provider", "text"),
        _request("user_id", "text"),
        _request("request_id", "text"),
        _request("status", "number"),
        _request("latency", "number"),
        _request("time_to_first_token", "number"),
        _request("prompt_tokens", "number"),
        _request("completion_tokens", "number"),
        _request("total_tokens", "number"),
        _request("cost", "number", usd=True),
        _request("request_created_at", "timestamp"),
        _request("target_url", "text"),
        _request("request_body", "text"),
        _request("response_body", "text"),
        _session("session_session_id", "text"),
        _session("session_session_name", "text"),
        _session("session_total_cost", "number", usd=True),
        _session("session_total_tokens", "number"),
        _session("session_prompt_tokens", "number"),
        _session("session_completion_tokens", "number"),
        _session("session_total_requests", "number"),
        _session("session_created_at", "timestamp"),
        _session("session_latest_request_created_at", "timestamp"),
        _session("session_tag", "text"),
        _feedback("name", "text"),
        _feedback("rater", "text"),
        _feedback("source", "text"),
        _feedback("value", "number", keyed=True),  # value.<name>: a number, or a boolean as 1 or 0
        _feedback("label", "text", keyed=True),  # label.<name>: the label of a categorical record
        _feedback("has_comment", "bool"),
    )
}


@dataclass(frozen=True, slots=True)
class Leaf:
    """One condition: `field[.key] <operator> value`, with the value already in storage units."""

    field: FieldSpec
    key: str | None
    operator: str
    value: Value


@dataclass(frozen=True, slots=True)
class Branch:
    left: FilterNode
    operator: Literal["and", "or"]
    right: FilterNode


FilterNode = Leaf | Branch | None  # None means "no condition"


@dataclass(slots=True)
class _Budget:
    """What a filter may still hold; spent as the tree is read, so a huge one is refused early."""

    leaves: int = MAX_FILTER_LEAVES
    text_chars: int = MAX_FILTER_TEXT_CHARS

    def spend_leaf(self) -> None:
        self.leaves -= 1
        if self.leaves < 0:
            raise InvalidInput(f"Filter is too large: at most {MAX_FILTER_LEAVES} conditions")

    def spend_text(self, text: str) -> None:
        self.text_chars -= len(text)
        if self.text_chars < 0:
            raise InvalidInput(
                f"Filter is too large: at most {MAX_FILTER_TEXT_CHARS} characters of keys and values"
            )


def parse_filter(raw: object) -> FilterNode:
    """Validate a JSON filter tree; raise InvalidInput naming the first unknown or malformed part, or
    the limit (MAX_FILTER_DEPTH, MAX_FILTER_LEAVES, MAX_FILTER_TEXT_CHARS) it exceeds."""
    return _parse(raw, depth=0, budget=_Budget())


def _parse(raw: object, *, depth: int, budget: _Budget) -> FilterNode:
    if depth > MAX_FILTER_DEPTH:
        raise InvalidInput(f"Filter is nested too deeply: at most {MAX_FILTER_DEPTH} levels")
    if not (isinstance(raw, dict) and ("operator" in raw or "left" in raw or "right" in raw)):
        budget.spend_leaf()  # "all" counts too: a tree of nothing but "all" is as long to read
    if raw == "all" or raw == {}:
        return None
    if not isinstance(raw, dict):
        raise InvalidInput('Invalid filter: expected "all", an object with left/operator/right, or a leaf')
    if "operator" in raw or "left" in raw or "right" in raw:
        if set(raw) != {"left", "operator", "right"}:
            raise InvalidInput("Invalid filter branch: it takes exactly left, operator and right")
        operator = raw["operator"]
        if operator not in ("and", "or"):
            raise InvalidInput(f"Invalid filter operator {str(operator)[:40]!r}: use 'and' or 'or'")
        left = _parse(raw["left"], depth=depth + 1, budget=budget)
        right = _parse(raw["right"], depth=depth + 1, budget=budget)
        return Branch(left, operator, right)
    leaf = _parse_leaf(raw)
    budget.spend_text(f"{leaf.key or ''}{leaf.value if isinstance(leaf.value, str) else ''}")
    return leaf


def _single(mapping: object, what: str) -> tuple[str, object]:
    if not isinstance(mapping, dict) or len(mapping) != 1:
        raise InvalidInput(f"Invalid filter leaf: {what} must be an object with exactly one key")
    ((key, value),) = mapping.items()
    if "\x00" in str(key):
        raise InvalidInput(f"Invalid filter leaf: {what} has a key with a NUL character")
    return str(key), value


def _parse_leaf(raw: dict[str, object]) -> Leaf:
    table, columns = _single(raw, "a leaf")
    if table not in (REQUEST_TABLE, SESSION_TABLE, FEEDBACK_TABLE):
        raise InvalidInput(
            f"Unknown filter table {table[:80]!r}: use {REQUEST_TABLE}, {SESSION_TABLE} or {FEEDBACK_TABLE}"
        )
    name, condition = _single(columns, f"{table}")
    key: str | None = None
    if name.startswith(("properties.", "scores.", "value.", "label.")):
        name, key = name.split(".", 1)
    spec = FIELDS.get((table, name))
    if spec is None:
        raise InvalidInput(f"Unknown filter field {name[:80]!r} in {table}")
    if spec.keyed and key is None:
        key, condition = _single(condition, f"{name}")
    if spec.keyed and not key:
        raise InvalidInput(f"Filter field {name} needs a key, as in {name}.<key>")
    operator_name, value = _single(condition, f"the condition on {name}")
    operator = OPERATORS.get(operator_name)
    if operator is None:
        raise InvalidInput(f"Unknown filter operator {operator_name[:40]!r} on {name}")
    if spec.kind not in operator.kinds or (spec.equals_only and operator.name != "equals"):
        raise InvalidInput(f"Operator {operator.name!r} does not apply to {name}")
    if spec.name == "properties" and key is not None:
        key = property_key(key)  # matched as ingestion stores keys (issue 14)
    coerced = _coerce(spec, value)
    if spec.name == "property_key" and isinstance(coerced, str):
        coerced = property_key(coerced)
    return Leaf(spec, key, operator.name, coerced)


def _coerce(spec: FieldSpec, value: object) -> Value:
    if spec.kind == "bool":
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
        raise InvalidInput(f"Invalid value for {spec.name}: expected true or false")
    if spec.kind == "number":
        number = _number(spec.name, value)
        if spec.usd:
            # Clamped into 64 bits: beyond any stored cost either way, so comparisons mean the same.
            return max(-_INT63, min(_INT63, int((number * NANO_USD_PER_USD).to_integral_value())))
        return int(number) if number == number.to_integral_value() else float(number)
    if spec.kind == "timestamp":
        return _epoch_ms(spec.name, value)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidInput(f"Invalid value for {spec.name}: expected a string")
    text = str(value)
    if len(text) > MAX_TEXT_VALUE_CHARS:
        raise InvalidInput(f"Invalid value for {spec.name}: at most {MAX_TEXT_VALUE_CHARS} characters")
    if "\x00" in text:
        raise InvalidInput(f"Invalid value for {spec.name}: NUL characters are not allowed")
    return text


def _number(name: str, value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidInput(f"Invalid value for {name}: expected a number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidInput(f"Invalid value for {name}: expected a number") from None
    if not number.is_finite() or abs(number) > Decimal(10) ** 15:
        raise InvalidInput(f"Invalid value for {name}: expected a finite number below 1e15")
    return number


def _epoch_ms(name: str, value: object) -> int:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(_number(name, value))
    if isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            return int(moment.timestamp() * 1000)
    raise InvalidInput(f"Invalid value for {name}: expected an ISO 8601 time or epoch milliseconds")
