"""Compiles a parsed filter tree (domain.filters) to ClickHouse conditions with bound parameters.

The same meaning as the SQL backend's compiler: request-level leaves test one request, and on a
session query they become "the session has a request that matches"; session-level leaves test the
session rollup (reads.session_rollup, columns unqualified). Negative operators on key-value data
(properties, scores, tags) mean "nothing matches", so a missing key is not equal. Session feedback is
not a stored property here: `Helicone-Session-Feedback` is the session's rating, shown on its first
request, so a filter on it reads the rating.
"""

from __future__ import annotations

from collections.abc import Callable

from heliograph.domain.filters import FEEDBACK_TABLE, REQUEST_TABLE, FilterNode, Leaf, Never
from heliograph.domain.records import FEEDBACK_KEY
from heliograph.storage.clickhouse.reads import Params, live, live_requests, session_rollup

__all__ = ["request_condition_sql", "session_condition_sql"]

_NEGATED = {"not-equals": "equals", "not-contains": "contains"}
_TEXT_ONLY = ("like", "ilike", "contains", "not-contains")
Compare = Callable[[str, str], str]

OPERATOR_SQL: dict[str, Compare] = {
    "equals": lambda column, value: f"{column} = {value}",
    "not-equals": lambda column, value: f"{column} != {value}",
    "like": lambda column, value: f"{column} LIKE {value}",
    "ilike": lambda column, value: f"{column} ILIKE {value}",
    "contains": lambda column, value: f"positionCaseInsensitiveUTF8({column}, {value}) > 0",
    "not-contains": lambda column, value: f"positionCaseInsensitiveUTF8({column}, {value}) = 0",
    "gt": lambda column, value: f"{column} > {value}",
    "gte": lambda column, value: f"{column} >= {value}",
    "lt": lambda column, value: f"{column} < {value}",
    "lte": lambda column, value: f"{column} <= {value}",
}

_REQUEST_COLUMNS = {
    "model": "model",
    "provider": "provider",
    "user_id": "ifNull(user_id, '')",
    "request_id": "request_id",
    "organization_id": "org_id",
    "status": "status",
    "latency": "latency_ms",
    "time_to_first_token": "time_to_first_token_ms",
    "prompt_tokens": "prompt_tokens",
    "completion_tokens": "completion_tokens",
    "total_tokens": "total_tokens",
    "prompt_cache_read_tokens": "cache_read_tokens",
    "prompt_cache_write_tokens": "cache_write_tokens",
    "cost": "cost_nano_usd",
    "request_created_at": "created_at_ms",
    "response_created_at": "response_created_at_ms",
    "target_url": "target_url",
    "request_body": "request_body",
    "response_body": "response_body",
}
_SESSION_COLUMNS = {
    "session_session_id": "session_id",
    "session_session_name": "name",
    "session_total_cost": "cost_nano_usd",
    "session_total_tokens": "total_tokens",
    "session_prompt_tokens": "prompt_tokens",
    "session_completion_tokens": "completion_tokens",
    "session_total_requests": "request_count",
    "session_created_at": "first_created_at_ms",
    "session_latest_request_created_at": "last_created_at_ms",
}


class _Compiler:
    def __init__(self, params: Params, org_id: str) -> None:
        self.params = params
        self.org_id = org_id

    def value(self, value: object) -> str:
        if isinstance(value, bool):
            return self.params.number(int(value))
        if isinstance(value, int | float):
            return self.params.number(value)
        return self.params.text(str(value))

    def compare(self, operator: str, column: str, value: object) -> str:
        return OPERATOR_SQL[operator](column, self.value(value))

    def combine(self, node: FilterNode, leaf: Callable[[Leaf], str]) -> str | None:
        if node is None:
            return None
        if isinstance(node, Never):
            return "false"
        if isinstance(node, Leaf):
            return f"({leaf(node)})"
        parts = [p for p in (self.combine(node.left, leaf), self.combine(node.right, leaf)) if p is not None]
        if len(parts) < 2:  # "all" on one side: and-ing changes nothing, or-ing matches everything
            return parts[0] if parts and node.operator == "and" else None
        return f"({parts[0]} {node.operator.upper()} {parts[1]})"

    # -- sessions ------------------------------------------------------------------------------

    def session_leaf(self, leaf: Leaf) -> str:
        if leaf.field.table == REQUEST_TABLE:
            return self.session_has_request(leaf)
        if leaf.field.name == "session_tag":
            return self.negatable(leaf.operator, lambda op: f"session_id IN ({self.tagged(op, leaf.value)})")
        if leaf.field.table == FEEDBACK_TABLE:
            return self.has_feedback(leaf)
        return self.compare(leaf.operator, _SESSION_COLUMNS[leaf.field.name], leaf.value)

    def session_has_request(self, leaf: Leaf) -> str:
        if leaf.field.name == "properties" and leaf.key == FEEDBACK_KEY:
            if leaf.operator in ("equals", "not-equals") and leaf.value in ("0", "1"):
                # As on SQL: not-equals means "this session is not rated so", not "some request lacks it".
                rating = self.params.number(int(str(leaf.value)))
                if leaf.operator == "equals":
                    return f"feedback = {rating}"
                return f"(feedback IS NULL OR feedback != {rating})"
            return self.negatable(
                leaf.operator,
                lambda op: f"feedback IS NOT NULL AND {self.compare(op, 'toString(feedback)', leaf.value)}",
            )
        if leaf.field.name in ("properties", "property_key") and leaf.operator not in _NEGATED:
            # The rollup keeps every (key, value) its requests carry: one row per session answers it.
            if leaf.field.name == "property_key":
                has_key = f"arrayExists(p -> p.1 = {self.value(leaf.value)}, property_pairs)"
                return f"(feedback IS NOT NULL OR {has_key})" if leaf.value == FEEDBACK_KEY else has_key
            matches = self.compare(leaf.operator, "p.2", leaf.value)
            return f"arrayExists(p -> p.1 = {self.value(leaf.key)} AND {matches}, property_pairs)"
        matching = self.request_leaf(leaf)
        requests = live_requests(self.params, self.org_id, columns="*")
        return f"session_id IN (SELECT session_id FROM {requests} WHERE session_id != '' AND {matching})"

    def tagged(self, operator: str, value: object) -> str:
        org = self.params.text(self.org_id)
        return (
            f"SELECT session_id FROM {live('session_tags')} "
            f"WHERE org_id = {org} AND {self.compare(operator, 'tag', value)}"
        )

    def has_feedback(self, leaf: Leaf) -> str:
        """The session has a feedback record that matches (none that does, for a negative operator)."""

        def matching(operator: str) -> str:
            match leaf.field.name:
                case "value":
                    test = f"name = {self.value(leaf.key)} AND kind != 'categorical' AND " + self.compare(
                        operator, "number", leaf.value
                    )
                case "label":
                    test = f"name = {self.value(leaf.key)} AND " + self.compare(operator, "label", leaf.value)
                case "has_comment":
                    test = "comment IS NOT NULL AND comment != ''"
                case _:
                    test = self.compare(operator, leaf.field.name, leaf.value)
            records = f"{live('feedback_records')} WHERE org_id = {self.params.text(self.org_id)}"
            return f"session_id IN (SELECT session_id FROM {records} AND {test})"

        if leaf.field.name == "has_comment":
            return matching("equals") if leaf.value else f"NOT ({matching('equals')})"
        return self.negatable(leaf.operator, matching)

    # -- requests ------------------------------------------------------------------------------

    def request_leaf(self, leaf: Leaf) -> str:
        """The condition on one `requests` row (unqualified columns) that a leaf means."""
        if leaf.field.table != REQUEST_TABLE:
            rollup = session_rollup(self.params, self.org_id)
            return f"session_id IN (SELECT session_id FROM {rollup} WHERE {self.session_leaf(leaf)})"
        name = leaf.field.name
        if name == "property_key":
            has_key = f"mapContains(properties, {self.value(leaf.value)})"
            return f"({has_key} OR {self.first_of_rated('true')})" if leaf.value == FEEDBACK_KEY else has_key
        if name == "properties":
            key = str(leaf.key)
            if key == FEEDBACK_KEY:
                return self.negatable(
                    leaf.operator,
                    lambda op: self.first_of_rated(self.compare(op, "toString(feedback)", leaf.value)),
                )
            return self.negatable(
                leaf.operator,
                lambda op: (
                    f"mapContains(properties, {self.value(key)}) AND "
                    f"{self.compare(op, f'properties[{self.value(key)}]', leaf.value)}"
                ),
            )
        if name in ("scores", "helicone-score-feedback"):
            key = self.value(leaf.key if name == "scores" else "helicone-score-feedback")
            value = int(leaf.value) if name == "helicone-score-feedback" else leaf.value
            return self.negatable(
                leaf.operator,
                lambda op: (
                    f"mapContains(scores, {key}) AND {self.compare(op, _score_value(op, key, value), value)}"
                ),
            )
        if name == "scores_column":
            return self.negatable(
                leaf.operator,
                lambda op: f"arrayExists(k -> {self.compare(op, 'k', leaf.value)}, mapKeys(scores))",
            )
        return self.compare(leaf.operator, _REQUEST_COLUMNS[name], leaf.value)

    def first_of_rated(self, matches: str) -> str:
        """The request is the first of a rated session whose rating (`feedback`) `matches`."""
        rollup = session_rollup(self.params, self.org_id)
        return (
            f"request_id IN (SELECT first_request_id FROM {rollup} WHERE feedback IS NOT NULL AND {matches})"
        )

    def negatable(self, operator: str, positive: Callable[[str], str]) -> str:
        if operator in _NEGATED:
            return f"NOT ({positive(_NEGATED[operator])})"
        return positive(operator)


def _score_value(operator: str, key: str, value: object) -> str:
    """A score's value as a text operator or a text value tests it (its text), or as a number."""
    as_text = operator in _TEXT_ONLY or isinstance(value, str)
    return f"toString(scores[{key}])" if as_text else f"scores[{key}]"


def session_condition_sql(params: Params, org_id: str, node: FilterNode) -> str | None:
    """The condition on session rollup rows that `node` means, or None for "all sessions"."""
    compiler = _Compiler(params, org_id)
    return compiler.combine(node, compiler.session_leaf)


def request_condition_sql(params: Params, org_id: str, node: FilterNode) -> str | None:
    """The condition on `requests` rows that `node` means; session leaves test the request's session."""
    compiler = _Compiler(params, org_id)
    return compiler.combine(node, compiler.request_leaf)
