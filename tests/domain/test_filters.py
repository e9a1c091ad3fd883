"""Parsing the filter language (spec section 5); compiling it is tested through the API."""

from __future__ import annotations

from typing import Any

import pytest

from heliograph.domain.filters import (
    MAX_FILTER_DEPTH,
    MAX_FILTER_LEAVES,
    MAX_FILTER_TEXT_CHARS,
    NEVER,
    Branch,
    Leaf,
    parse_filter,
)
from heliograph.errors import InvalidInput
from support import balanced_or

R, S = "request_response_rmt", "sessions_request_response_rmt"


@pytest.mark.parametrize("raw", [pytest.param("all", id="all"), pytest.param({}, id="empty-object")])
def test_all_and_an_empty_object_mean_no_condition(raw: Any) -> None:
    assert parse_filter(raw) is None


@pytest.mark.parametrize(
    ("raw", "field", "key", "operator", "value"),
    [
        pytest.param(
            {R: {"properties": {"env": {"equals": "prod"}}}}, "properties", "env", "equals", "prod", id="prop"
        ),
        pytest.param(
            {R: {"properties.env": {"contains": "pr"}}}, "properties", "env", "contains", "pr", id="dotted"
        ),
        pytest.param(
            {R: {"status": {"equals": "200"}}}, "status", None, "equals", 200, id="number-as-string"
        ),
        pytest.param({R: {"latency": {"gte": 1.5}}}, "latency", None, "gte", 1.5, id="float"),
        pytest.param({R: {"cost": {"gt": 0.1}}}, "cost", None, "gt", 100_000_000, id="usd-to-nano"),
        pytest.param(
            {R: {"request_created_at": {"gte": "2025-06-15T15:06:40.123Z"}}},
            "request_created_at",
            None,
            "gte",
            1_750_000_000_123,
            id="iso-time",
        ),
        pytest.param(
            {R: {"helicone-score-feedback": {"equals": "true"}}},
            "helicone-score-feedback",
            None,
            "equals",
            True,
            id="bool-string",
        ),
        pytest.param(
            {S: {"session_total_cost": {"lt": 2}}},
            "session_total_cost",
            None,
            "lt",
            2_000_000_000,
            id="session-cost",
        ),
        pytest.param({S: {"session_tag": {"equals": "vip"}}}, "session_tag", None, "equals", "vip", id="tag"),
        pytest.param(
            {"request": {"id": {"equals": "r1"}}}, "request_id", None, "equals", "r1", id="legacy-id"
        ),
        pytest.param(
            {"response": {"body_tokens": {"gt": 3}}}, "completion_tokens", None, "gt", 3, id="legacy"
        ),
        pytest.param(
            {"feedback": {"rating": {"equals": True}}},
            "helicone-score-feedback",
            None,
            "equals",
            True,
            id="fb",
        ),
        pytest.param(
            {"properties": {"env": {"equals": "p"}}}, "properties", "env", "equals", "p", id="props"
        ),
        pytest.param(
            {R: {"search_properties": {"env": {"ilike": "p%"}}}},
            "properties",
            "env",
            "ilike",
            "p%",
            id="search",
        ),
        pytest.param(
            {R: {"scores": {"q": {"contains": "4"}}}}, "scores", "q", "contains", "4", id="score-text"
        ),
        pytest.param({R: {"scores": {"q": {"equals": "4"}}}}, "scores", "q", "equals", 4, id="score-equals"),
        pytest.param(
            {R: {"prompt_cache_read_tokens": {"gte": 1}}},
            "prompt_cache_read_tokens",
            None,
            "gte",
            1,
            id="cache",
        ),
    ],
)
def test_a_leaf_is_parsed_with_its_value_in_storage_units(
    raw: Any, field: str, key: str | None, operator: str, value: Any
) -> None:
    leaf = parse_filter(raw)
    assert isinstance(leaf, Leaf)
    assert (leaf.field.name, leaf.key, leaf.operator, leaf.value) == (field, key, operator, value)


def test_several_tables_and_fields_in_one_leaf_are_anded() -> None:
    tree = parse_filter(
        {R: {"model": {"equals": "x"}, "status": {"equals": 1}}, "request": {"user_id": {"equals": "u"}}}
    )
    assert isinstance(tree, Branch) and tree.operator == "and"
    assert isinstance(tree.left, Branch) and tree.left.operator == "and"
    leaves = [tree.left.left, tree.left.right, tree.right]
    assert [leaf.field.name for leaf in leaves if isinstance(leaf, Leaf)] == ["model", "status", "user_id"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param({R: {"cache_enabled": {"equals": False}}}, None, id="uncached-is-everything"),
        pytest.param({R: {"cache_enabled": {"equals": True}}}, NEVER, id="cached-is-nothing"),
        pytest.param({R: {"country_code": {"equals": "NL"}}}, NEVER, id="null-equals-nothing"),
        pytest.param({R: {"prompt_id": {"not-equals": "p"}}}, NEVER, id="null-not-equals-nothing"),
        pytest.param({"values": {"k": {"contains": "x"}}}, NEVER, id="no-prompt-inputs"),
        pytest.param({R: {}}, None, id="empty-table"),
        pytest.param({R: {"properties": {}}, "properties": {}}, None, id="empty-keyed-fields"),
        pytest.param({R: {"model": {}}, "properties": {"k": {}}}, None, id="no-operator"),
        pytest.param(
            {R: {"threat": {"equals": True}, "model": {"equals": "x"}}}, NEVER, id="nothing-and-anything"
        ),
    ],
)
def test_a_field_heliograph_does_not_record_compares_its_reported_value(raw: Any, expected: Any) -> None:
    assert parse_filter(raw) == expected


def test_branches_nest() -> None:
    leaf = {R: {"model": {"equals": "gpt-4o"}}}
    tree = parse_filter(
        {"left": leaf, "operator": "or", "right": {"left": leaf, "operator": "and", "right": "all"}}
    )
    assert isinstance(tree, Branch) and tree.operator == "or"
    assert isinstance(tree.right, Branch) and tree.right.right is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param({"nope": {"model": {"equals": "x"}}}, "Unknown filter table 'nope'", id="table"),
        pytest.param({R: {"colour": {"equals": "x"}}}, "Unknown filter field 'colour'", id="field"),
        pytest.param(
            {R: {"model": {"resembles": "x"}}}, "Unknown filter operator 'resembles'", id="operator"
        ),
        pytest.param({R: {"model": {"gt": "x"}}}, "Operator 'gt' does not apply to model", id="wrong-kind"),
        pytest.param({R: {"model": {"equals": "x", "like": "y"}}}, "exactly one key", id="two-operators"),
        pytest.param({R: {"cached": {"equals": "maybe"}}}, "true or false", id="unstored-bad-value"),
        pytest.param(
            {"request": {"colour": {"equals": "x"}}}, "Unknown filter field 'colour' in request", id="legacy"
        ),
        pytest.param({R: {"scores": {"q": {"gt": "high"}}}}, "expected a number", id="score-gt-text"),
        pytest.param({"values": {"k": {"gt": "x"}}}, "Operator 'gt' does not apply to k", id="values-op"),
        pytest.param({R: {"status": {"equals": "two hundred"}}}, "expected a number", id="not-a-number"),
        pytest.param({R: {"status": {"equals": True}}}, "expected a number", id="bool-for-number"),
        pytest.param({R: {"latency": {"gt": 1e300}}}, "finite number", id="huge-number"),
        pytest.param({R: {"request_created_at": {"gt": "yesterday"}}}, "ISO 8601", id="bad-time"),
        pytest.param({R: {"helicone-score-feedback": {"equals": "yes"}}}, "true or false", id="bad-bool"),
        pytest.param({R: {"property_key": {"contains": "x"}}}, "does not apply", id="property-key-op"),
        pytest.param({"left": "all", "operator": "xor", "right": "all"}, "use 'and' or 'or'", id="branch-op"),
        pytest.param(
            {"left": "all", "operator": "and"}, "exactly left, operator and right", id="half-branch"
        ),
        pytest.param([1, 2], "Invalid filter", id="list"),
        pytest.param({R: {"model": {"equals": "x" * 4097}}}, "at most 4096", id="long-text"),
    ],
)
def test_bad_filters_name_what_is_wrong(raw: Any, message: str) -> None:
    with pytest.raises(InvalidInput, match=message.replace("(", r"\(")):
        parse_filter(raw)


def test_a_filter_nested_too_deeply_is_refused() -> None:
    raw: Any = {R: {"model": {"equals": "x"}}}
    for _ in range(MAX_FILTER_DEPTH + 1):
        raw = {"left": raw, "operator": "and", "right": "all"}
    with pytest.raises(InvalidInput, match="nested too deeply"):
        parse_filter(raw)


def test_a_filter_at_the_leaf_limit_is_parsed_and_one_more_leaf_is_refused() -> None:
    assert isinstance(parse_filter(balanced_or(MAX_FILTER_LEAVES)), Branch)
    with pytest.raises(InvalidInput, match=f"at most {MAX_FILTER_LEAVES} conditions"):
        parse_filter(balanced_or(MAX_FILTER_LEAVES + 1))


def test_empty_leaves_and_extra_fields_count_against_the_leaf_limit() -> None:
    raw: Any = {R: {}}
    for _ in range(8):  # 256 empty leaves
        raw = {"left": raw, "operator": "or", "right": raw}
    with pytest.raises(InvalidInput, match=f"at most {MAX_FILTER_LEAVES} conditions"):
        parse_filter(raw)
    fields = {R: {"properties": {f"k{i}": {"equals": "v"} for i in range(MAX_FILTER_LEAVES + 1)}}}
    with pytest.raises(InvalidInput, match=f"at most {MAX_FILTER_LEAVES} conditions"):
        parse_filter(fields)


def test_a_tree_of_nothing_but_all_counts_against_the_leaf_limit() -> None:
    raw: Any = "all"
    for _ in range(8):  # 256 "all" leaves in a tree 8 levels deep
        raw = {"left": raw, "operator": "or", "right": raw}
    with pytest.raises(InvalidInput, match=f"at most {MAX_FILTER_LEAVES} conditions"):
        parse_filter(raw)


class _Unread(dict[str, Any]):
    """A filter branch that fails the test if the parser so much as looks at it."""

    def __contains__(self, key: object) -> bool:
        raise AssertionError("the parser read past the leaf limit")

    def __eq__(self, other: object) -> bool:
        raise AssertionError("the parser read past the leaf limit")


def test_a_huge_filter_is_refused_without_reading_all_of_it() -> None:
    # The attack run's 3.4 MB filter took 28 s to answer: the leaf budget must stop the walk at once,
    # before any of what follows the first MAX_FILTER_LEAVES + 1 leaves is read.
    huge = {"left": balanced_or(MAX_FILTER_LEAVES + 1), "operator": "or", "right": _Unread()}
    with pytest.raises(InvalidInput, match="too large"):
        parse_filter(huge)


def test_a_filter_with_too_much_text_is_refused_naming_the_limit() -> None:
    long_value = "x" * 4000  # each leaf's key and value: some 4,005 characters
    assert parse_filter(balanced_or(MAX_FILTER_TEXT_CHARS // 4010, value=long_value)) is not None
    with pytest.raises(InvalidInput, match=f"at most {MAX_FILTER_TEXT_CHARS} characters"):
        parse_filter(balanced_or(MAX_FILTER_TEXT_CHARS // 4000 + 1, value=long_value))
