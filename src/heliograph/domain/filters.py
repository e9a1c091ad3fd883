"""The filter language of spec section 5: parse and validate a JSON filter tree.

Storage compiles the tree this module returns; this module knows nothing of SQL. Fields are declared
once in domain.filter_fields and operators in the table below, so the language grows by adding rows.
A condition on a field Heliograph does not record is decided here: it holds for every request or none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Literal

from heliograph.domain.filter_fields import (
    FEEDBACK_TABLE,
    FIELDS,
    KEYED_TABLES,
    LEGACY_FIELDS,
    REQUEST_TABLE,
    SESSION_TABLE,
    TABLES,
    UNSTORED,
    FieldSpec,
    Kind,
    Unstored,
)
from heliograph.domain.headers import property_key
from heliograph.domain.records import NANO_USD_PER_USD
from heliograph.errors import InvalidInput

__all__ = [
    "FEEDBACK_TABLE",
    "FIELDS",
    "MAX_FILTER_DEPTH",
    "MAX_FILTER_LEAVES",
    "MAX_FILTER_TEXT_CHARS",
    "NEVER",
    "OPERATORS",
    "REQUEST_TABLE",
    "SESSION_TABLE",
    "Branch",
    "FieldSpec",
    "FilterNode",
    "Kind",
    "Leaf",
    "Never",
    "Operator",
    "parse_filter",
]

MAX_FILTER_DEPTH = 64
# A dashboard's filter has a handful of conditions. Each costs SQLAlchemy some 0.4 ms to build and
# compile (in a worker thread, see storage.sql.prepared) and the embedding statement some 0.03 ms on
# the event loop; 128 keep that under 5 ms, and far below SQLite's expression depth of 1000.
MAX_FILTER_LEAVES = 64
# Every key and text value of a filter together (one value may have MAX_TEXT_VALUE_CHARS).
MAX_FILTER_TEXT_CHARS = 65_536
MAX_TEXT_VALUE_CHARS = 4096
_INT63 = 2**63 - 1
_MAX_NUMBER = Decimal(10) ** 15

Value = str | int | float | bool


@dataclass(frozen=True, slots=True)
class Operator:
    name: str
    label: str
    kinds: frozenset[Kind]


_ORDERED: frozenset[Kind] = frozenset({"number", "timestamp", "score"})
_TEXT: frozenset[Kind] = frozenset({"text", "score"})
OPERATORS: dict[str, Operator] = {
    op.name: op
    for op in (
        Operator("equals", "is", frozenset({"text", "number", "timestamp", "bool", "score"})),
        Operator("not-equals", "is not", frozenset({"text", "number", "timestamp", "score"})),
        Operator("like", "matches (LIKE)", _TEXT),
        Operator("ilike", "matches, any case (ILIKE)", _TEXT),
        Operator("contains", "contains", _TEXT),
        Operator("not-contains", "does not contain", _TEXT),
        Operator("gt", "is greater than", _ORDERED),
        Operator("gte", "is at least", _ORDERED),
        Operator("lt", "is less than", _ORDERED),
        Operator("lte", "is at most", _ORDERED),
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


@dataclass(frozen=True, slots=True)
class Never:
    """A condition no request meets (one on a field Heliograph does not record, say)."""


NEVER = Never()
FilterNode = Leaf | Branch | Never | None  # None means "no condition"


@dataclass(slots=True)
class _Budget:
    """What a filter may still hold; spent as the tree is read, so a huge one is refused early."""

    leaves: int = MAX_FILTER_LEAVES
    text_chars: int = MAX_FILTER_TEXT_CHARS
    paid_conditions: int = 0  # conditions of the current leaf that its own spend_leaf already paid for

    def spend_leaf(self) -> None:
        self.leaves -= 1
        if self.leaves < 0:
            raise InvalidInput(f"Filter is too large: at most {MAX_FILTER_LEAVES} conditions")

    def spend_condition(self) -> None:
        """A leaf's first condition is the leaf; each further one (another field or table) costs a leaf."""
        if self.paid_conditions:
            self.paid_conditions -= 1
        else:
            self.spend_leaf()

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
    if raw == "all" or raw == {}:
        budget.spend_leaf()  # "all" counts too: a tree of nothing but "all" is as long to read
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
    # A leaf: every table in it, and every field of each, must hold (as Helicone ANDs them).
    budget.spend_leaf()
    budget.paid_conditions = 1
    node: FilterNode = None
    for table, columns in raw.items():
        for condition in _table_conditions(str(table), columns, budget):
            node = _and(node, condition)
    return node


def _and(left: FilterNode, right: FilterNode) -> FilterNode:
    if left is None or isinstance(right, Never):
        return right
    if right is None or isinstance(left, Never):
        return left
    return Branch(left, "and", right)


def _table_conditions(table: str, columns: object, budget: _Budget) -> list[FilterNode]:
    if "\x00" in table or table not in TABLES:
        raise InvalidInput(f"Unknown filter table {table[:80]!r}: use one of {', '.join(TABLES)}")
    if not isinstance(columns, dict):
        raise InvalidInput(f"Invalid filter leaf: {table} must be an object of fields")
    conditions = []
    for name, condition in columns.items():
        name = str(name)
        if "\x00" in name:
            raise InvalidInput(f"Invalid filter leaf: {table} has a key with a NUL character")
        if table in KEYED_TABLES:  # {"properties": {"<key>": {<operator>: <value>}}}
            conditions.append(_condition(KEYED_TABLES[table], name, name, condition, budget))
            continue
        key: str | None = None
        if (table == REQUEST_TABLE and name.startswith(("properties.", "scores."))) or (
            table == FEEDBACK_TABLE and name.startswith(("value.", "label."))
        ):
            name, key = name.split(".", 1)
        spec = _field(table, name)
        if isinstance(spec, FieldSpec) and spec.keyed and key is None:
            if not isinstance(condition, dict):
                raise InvalidInput(f"Invalid filter leaf: {name} must be an object of keys")
            conditions += [_condition(spec, name, k, c, budget) for k, c in condition.items()]
            continue
        conditions.append(_condition(spec, name, key, condition, budget))
    return conditions


def _field(table: str, name: str) -> FieldSpec | Unstored:
    canonical = LEGACY_FIELDS.get((table, name))
    if canonical is not None:
        return FIELDS[(REQUEST_TABLE, canonical)]
    spec = FIELDS.get((table, name)) or UNSTORED.get((table, name))
    if spec is None:
        raise InvalidInput(f"Unknown filter field {name[:80]!r} in {table}")
    return spec


def _condition(
    spec: FieldSpec | Unstored, name: str, key: str | None, condition: object, budget: _Budget
) -> FilterNode:
    budget.spend_condition()
    if condition == {}:  # Helicone's schema allows a field with no operator: no condition
        return None
    if isinstance(spec, FieldSpec) and spec.keyed and not key:
        raise InvalidInput(f"Filter field {name} needs a key, as in {name}.<key>")
    if "\x00" in str(key or ""):
        raise InvalidInput(f"Invalid filter leaf: {name} has a key with a NUL character")
    operator_name, value = _single(condition, f"the condition on {name}")
    operator = OPERATORS.get(operator_name)
    if operator is None:
        raise InvalidInput(f"Unknown filter operator {operator_name[:40]!r} on {name}")
    equals_only = isinstance(spec, FieldSpec) and spec.equals_only
    if spec.kind not in operator.kinds or (equals_only and operator.name != "equals"):
        raise InvalidInput(f"Operator {operator.name!r} does not apply to {name}")
    coerced = _coerce(spec, name, operator.name, value)
    budget.spend_text(f"{key or ''}{coerced if isinstance(coerced, str) else ''}")
    if isinstance(spec, Unstored):
        return None if _holds(spec.reported, operator.name, coerced) else NEVER
    if spec.name == "properties" and key is not None:
        key = property_key(key)  # matched as ingestion stores keys (issue 14)
    if spec.name == "property_key" and isinstance(coerced, str):
        coerced = property_key(coerced)
    return Leaf(spec, key, operator.name, coerced)


def _holds(reported: bool | None, operator: str, value: Value) -> bool:
    """Whether a recorded value of `reported` would meet the condition (null meets none, as in SQL)."""
    return reported is not None and operator == "equals" and reported == value


def _single(mapping: object, what: str) -> tuple[str, object]:
    if not isinstance(mapping, dict) or len(mapping) != 1:
        raise InvalidInput(f"Invalid filter leaf: {what} must be an object with exactly one key")
    ((key, value),) = mapping.items()
    return str(key), value


def _coerce(spec: FieldSpec | Unstored, name: str, operator: str, value: object) -> Value:
    kind = spec.kind
    if kind == "score":  # a number, or text (compared with the score's text) where Helicone takes text
        ordered = operator in ("gt", "gte", "lt", "lte")
        kind = "number" if ordered or (operator in ("equals", "not-equals") and _numeric(value)) else "text"
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if value in ("true", "false"):
            return value == "true"
        raise InvalidInput(f"Invalid value for {name}: expected true or false")
    if kind == "number":
        number = _number(name, value)
        if isinstance(spec, FieldSpec) and spec.usd:
            # Clamped into 64 bits: beyond any stored cost either way, so comparisons mean the same.
            return max(-_INT63, min(_INT63, int((number * NANO_USD_PER_USD).to_integral_value())))
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == "timestamp":
        return _epoch_ms(name, value)
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise InvalidInput(f"Invalid value for {name}: expected a string")
    text = str(value)
    if len(text) > MAX_TEXT_VALUE_CHARS:
        raise InvalidInput(f"Invalid value for {name}: at most {MAX_TEXT_VALUE_CHARS} characters")
    if "\x00" in text:
        raise InvalidInput(f"Invalid value for {name}: NUL characters are not allowed")
    return text


def _numeric(value: object) -> bool:
    """Whether `value` reads as a number `_number` takes (any other value is compared as text, and text
    keeps its length limit)."""
    if len(str(value)) > MAX_TEXT_VALUE_CHARS:
        return False
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return False
    return not isinstance(value, bool) and number.is_finite() and abs(number) <= _MAX_NUMBER


def _number(name: str, value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise InvalidInput(f"Invalid value for {name}: expected a number")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidInput(f"Invalid value for {name}: expected a number") from None
    if not number.is_finite() or abs(number) > _MAX_NUMBER:
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
