"""Compiles a parsed filter tree (domain.filters) to SQLAlchemy conditions with bound parameters.

Request-level leaves test one request; on a session query they become "the session has a request
that matches". Session-level leaves test the session rollup. `and`/`or` keep their plain meaning.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from heliograph.domain.filters import FEEDBACK_TABLE, REQUEST_TABLE, FilterNode, Leaf, Never
from heliograph.domain.records import FEEDBACK_KEY
from heliograph.storage.sql.schema import (
    feedback_records,
    properties,
    property_value_prefix,
    requests,
    scores,
    session_tags,
    sessions,
)

__all__ = ["escape_like", "request_filter", "session_condition"]

Column = sa.ColumnElement[Any]
Condition = sa.ColumnElement[bool]

_NEGATED = {"not-equals": "equals", "not-contains": "contains"}
_TEXT_ONLY = ("like", "ilike", "contains", "not-contains")


def escape_like(text: str) -> str:
    """Escape LIKE wildcards so `text` matches literally (use with escape='\\')."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


OPERATOR_SQL: dict[str, Callable[[Column, Any], Condition]] = {
    "equals": lambda column, value: column == value,
    "not-equals": lambda column, value: column != value,
    "like": lambda column, value: column.like(value),
    "ilike": lambda column, value: column.ilike(value),
    "contains": lambda column, value: column.ilike(f"%{escape_like(value)}%", escape="\\"),
    "not-contains": lambda column, value: ~column.ilike(f"%{escape_like(value)}%", escape="\\"),
    "gt": lambda column, value: column > value,
    "gte": lambda column, value: column >= value,
    "lt": lambda column, value: column < value,
    "lte": lambda column, value: column <= value,
}

_REQUEST_COLUMNS: dict[str, Column] = {
    "model": requests.c.model,
    "provider": requests.c.provider,
    "user_id": sa.func.coalesce(requests.c.user_id, ""),
    "request_id": requests.c.request_id,
    "organization_id": requests.c.org_id,
    # A 32-bit column on PostgreSQL; compared as 64 bits so any filter value up to 1e15 binds.
    "status": sa.cast(requests.c.status, sa.BigInteger),
    "latency": requests.c.latency_ms,
    "time_to_first_token": requests.c.time_to_first_token_ms,
    "prompt_tokens": requests.c.prompt_tokens,
    "completion_tokens": requests.c.completion_tokens,
    "total_tokens": requests.c.total_tokens,
    "prompt_cache_read_tokens": requests.c.cache_read_tokens,
    "prompt_cache_write_tokens": requests.c.cache_write_tokens,
    "cost": requests.c.cost_nano_usd,
    "request_created_at": requests.c.created_at_ms,
    "response_created_at": requests.c.response_created_at_ms,
    "target_url": requests.c.target_url,
    "request_body": requests.c.request_body,
    "response_body": requests.c.response_body,
}


def _unindexed(column: Column) -> Column:
    """The column's value in a form no index serves. The (org_id, cost) and (org_id, request count)
    indexes exist for the metrics' order statistics; offered a range on them, SQLite (which keeps no
    range statistics) would scan the whole range and sort it, instead of walking sessions newest first
    and stopping at a full page, as a list query should."""
    return column + 0


_SESSION_COLUMNS: dict[str, Column] = {
    "session_session_id": sessions.c.session_id,
    "session_session_name": sessions.c.name,
    "session_total_cost": _unindexed(sessions.c.cost_nano_usd),
    "session_total_tokens": sessions.c.total_tokens,
    "session_prompt_tokens": sessions.c.prompt_tokens,
    "session_completion_tokens": sessions.c.completion_tokens,
    "session_total_requests": _unindexed(sessions.c.request_count),
    "session_created_at": sessions.c.first_created_at_ms,
    "session_latest_request_created_at": sessions.c.last_created_at_ms,
}


def _combine(node: FilterNode, leaf_condition: Callable[[Leaf], Condition]) -> Condition | None:
    """Compile a tree, turning each leaf with `leaf_condition`; None means "no condition"."""
    if node is None:
        return None
    if isinstance(node, Never):
        return sa.false()
    if isinstance(node, Leaf):
        return leaf_condition(node)
    children: list[FilterNode] = [node.left, node.right]
    if node.operator == "and":  # SQLite tests AND terms in order: the rollup's columns before probes
        children.sort(key=_probes)
    parts = [c for c in (_combine(child, leaf_condition) for child in children) if c is not None]
    if len(parts) < 2:
        # "all" on one side: and-ing with it changes nothing, or-ing with it matches everything.
        return parts[0] if parts and node.operator == "and" else None
    return sa.and_(*parts) if node.operator == "and" else sa.or_(*parts)


def _probes(node: FilterNode) -> bool:
    """Whether the tree tests another table (a request, property, score or tag), costlier than a column."""
    if node is None or isinstance(node, Never):
        return False
    if isinstance(node, Leaf):
        return node.field.table in (REQUEST_TABLE, FEEDBACK_TABLE) or node.field.name == "session_tag"
    return _probes(node.left) or _probes(node.right)


def session_condition(node: FilterNode) -> Condition | None:
    """The condition on the `sessions` rollup that `node` means, or None for "all sessions"."""
    return _combine(node, _session_leaf)


def request_filter(node: FilterNode) -> Condition | None:
    """The condition on `requests` rows that `node` means; session leaves test the request's session."""
    return _combine(node, _request_leaf)


def _session_leaf(leaf: Leaf) -> Condition:
    if leaf.field.table == REQUEST_TABLE:
        return _session_has_request(leaf)
    if leaf.field.name == "session_tag":
        return _exists_tag(leaf)
    if leaf.field.table == FEEDBACK_TABLE:
        return _exists_feedback(leaf)
    return OPERATOR_SQL[leaf.operator](_SESSION_COLUMNS[leaf.field.name], leaf.value)


def _request_leaf(leaf: Leaf) -> Condition:
    if leaf.field.table == REQUEST_TABLE:
        return request_condition(leaf)
    return sa.exists().where(
        sessions.c.org_id == requests.c.org_id,
        sessions.c.session_id == requests.c.session_id,
        _session_leaf(leaf),
    )


def _session_has_request(leaf: Leaf) -> Condition:
    is_feedback = leaf.field.name == "properties" and leaf.key == FEEDBACK_KEY
    if is_feedback and leaf.operator in ("equals", "not-equals") and leaf.value in ("0", "1"):
        # Session feedback belongs to the session: the rollup mirrors the property of its first
        # request (the store updates both in one transaction). Reading the rollup makes the headline
        # filter one column instead of a join, and makes not-equals mean "this session is not rated
        # so" rather than "some request of it lacks the property" (true of nearly every session).
        rating = int(leaf.value)
        if leaf.operator == "equals":
            return sessions.c.feedback == rating
        return sa.or_(sessions.c.feedback.is_(None), sessions.c.feedback != rating)
    if leaf.field.name in ("properties", "property_key") and leaf.operator not in _NEGATED:
        # Each property row carries its request's session, so "some request of the session has a
        # matching property" is one index range per session rather than a probe per request.
        return (
            sa.exists()
            .where(
                properties.c.org_id == sessions.c.org_id,
                properties.c.session_id == sessions.c.session_id,
                *_property_tests(leaf, leaf.operator),
            )
            .correlate_except(properties)
        )
    match_ = request_condition(leaf)
    # Correlate with the outer sessions only, so the probe keeps its own requests even inside a
    # query that joins requests itself (the feedback breakdown).
    return (
        sa.exists()
        .where(
            requests.c.org_id == sessions.c.org_id,
            requests.c.session_id == sessions.c.session_id,
            match_,
        )
        .correlate_except(requests)
    )


def request_condition(leaf: Leaf) -> Condition:
    """The condition on one row of `requests` that a request-level leaf means."""
    name = leaf.field.name
    if name in ("properties", "property_key"):
        return _exists_property(leaf)
    if name in ("scores", "helicone-score-feedback"):
        key = leaf.key if name == "scores" else "helicone-score-feedback"
        value = int(leaf.value) if name == "helicone-score-feedback" else leaf.value
        return _negatable(leaf.operator, lambda op: _exists_score(scores.c.key == key, op, value))
    if name == "scores_column":
        return _negatable(
            leaf.operator, lambda op: _exists_score(OPERATOR_SQL[op](scores.c.key, leaf.value), None, None)
        )
    return OPERATOR_SQL[leaf.operator](_REQUEST_COLUMNS[name], leaf.value)


def _negatable(operator: str, positive: Callable[[str], Condition]) -> Condition:
    """Negative operators on a key-value row mean "no row matches": a missing key is not equal."""
    if operator in _NEGATED:
        return ~positive(_NEGATED[operator])
    return positive(operator)


def _exists_property(leaf: Leaf) -> Condition:
    """The request has a property that matches (has none that does, for a negative operator)."""

    def matching(operator: str) -> Condition:
        return sa.exists().where(
            properties.c.org_id == requests.c.org_id,
            properties.c.request_id == requests.c.request_id,
            *_property_tests(leaf, operator),
        )

    return _negatable(leaf.operator, matching)


def _property_tests(leaf: Leaf, operator: str) -> list[Condition]:
    """The key and value tests of a property leaf, with `operator`, on one `properties` row."""
    if leaf.field.name == "property_key":
        return [properties.c.key == leaf.value]
    value_test = OPERATOR_SQL[operator](properties.c.value, leaf.value)
    if operator == "equals":
        prefix = property_value_prefix(sa.literal(leaf.value, sa.Text))
        value_test = sa.and_(property_value_prefix(properties.c.value) == prefix, value_test)
    return [properties.c.key == leaf.key, value_test]


def _exists_score(key_test: Condition, operator: str | None, value: Any) -> Condition:
    """The request has a score whose key passes `key_test` and whose value meets `operator` (a text
    operator, or a text value, tests the value's text)."""
    tests = [key_test]
    if operator is not None:
        as_text = operator in _TEXT_ONLY or isinstance(value, str)
        column = sa.cast(scores.c.value, sa.Text) if as_text else scores.c.value
        tests.append(OPERATOR_SQL[operator](column, value))
    return sa.exists().where(
        scores.c.org_id == requests.c.org_id, scores.c.request_id == requests.c.request_id, *tests
    )


def _exists_tag(leaf: Leaf) -> Condition:
    def matching(operator: str) -> Condition:
        return sa.exists().where(
            session_tags.c.org_id == sessions.c.org_id,
            session_tags.c.session_id == sessions.c.session_id,
            OPERATOR_SQL[operator](session_tags.c.tag, leaf.value),
        )

    return _negatable(leaf.operator, matching)


def _exists_feedback(leaf: Leaf) -> Condition:
    """The session has a feedback record that matches (none that does, for a negative operator)."""
    f = feedback_records.c

    def matching(operator: str) -> Condition:
        tests = [f.org_id == sessions.c.org_id, f.session_id == sessions.c.session_id]
        match leaf.field.name:
            case "value":
                tests += [
                    f.name == leaf.key,
                    f.kind != "categorical",
                    OPERATOR_SQL[operator](f.number, leaf.value),
                ]
            case "label":
                tests += [f.name == leaf.key, OPERATOR_SQL[operator](f.label, leaf.value)]
            case "has_comment":
                tests += [f.comment.is_not(None), f.comment != ""]
            case _:
                tests.append(OPERATOR_SQL[operator](f[leaf.field.name], leaf.value))
        return sa.exists().where(*tests).correlate_except(feedback_records)

    if leaf.field.name == "has_comment":
        return matching("equals") if leaf.value else ~matching("equals")
    return _negatable(leaf.operator, matching)
