"""The session list's state in the URL: read leniently, written back short, turned into the API's query."""

from __future__ import annotations

from datetime import datetime

import pytest

from heliograph.dashboard.listing import PAGE_SIZE, SessionFilters, SessionListView, feedback_tree
from heliograph.domain.filters import Branch, Leaf
from heliograph.errors import InvalidInput

NOW = 1_767_225_600_000


def test_a_view_survives_the_round_trip_through_its_url() -> None:
    params = {"q": "trip", "range": "7d", "feedback": "negative", "prop": "prompt-version", "value": "B"}
    view = SessionListView.from_params({**params, "sort": "total_cost", "dir": "asc", "page": "3"})
    url = view.url()
    assert url == (
        "/dashboard/sessions?q=trip&range=7d&feedback=negative&prop=prompt-version&value=B"
        "&sort=total_cost&dir=asc&page=3"
    )
    query = dict(pair.split("=") for pair in url.split("?", 1)[1].split("&"))
    assert SessionListView.from_params(query) == view


def test_the_default_view_is_the_bare_path() -> None:
    assert SessionListView().url() == "/dashboard/sessions"
    assert SessionListView.from_params({"q": "", "range": "all", "feedback": "", "dir": "desc"}).url() == (
        "/dashboard/sessions"
    )


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        pytest.param({"range": "forever"}, SessionListView(), id="unknown-range"),
        pytest.param({"feedback": "meh"}, SessionListView(), id="unknown-feedback"),
        pytest.param({"sort": "name; drop table"}, SessionListView(), id="unknown-sort"),
        pytest.param({"page": "abc"}, SessionListView(), id="page-not-a-number"),
        pytest.param({"page": "-4"}, SessionListView(), id="page-below-one"),
    ],
)
def test_unknown_choices_fall_back_to_their_defaults(
    params: dict[str, str], expected: SessionListView
) -> None:
    assert SessionListView.from_params(params) == expected


def test_the_page_becomes_an_offset_and_asks_for_one_row_more() -> None:
    query = SessionListView(page=3, sort="duration", descending=False).session_query(now=NOW)
    assert (query.offset, query.limit) == (2 * PAGE_SIZE, PAGE_SIZE + 1)
    assert (query.sort_key, query.sort_descending) == ("duration", False)


@pytest.mark.parametrize(
    ("time_range", "start"),
    [
        pytest.param("1h", "2026-01-07T13:36:00", id="the-current-minute-and-59-before"),
        pytest.param("24h", "2026-01-06T15:00:00", id="the-current-hour-and-23-before"),
        pytest.param("7d", "2026-01-01T00:00:00", id="today-and-6-days-before"),
        pytest.param("30d", "2025-12-09T00:00:00", id="today-and-29-days-before"),
    ],
)
def test_a_time_range_is_whole_utc_steps_ending_now(time_range: str, start: str) -> None:
    now = int(datetime.fromisoformat("2026-01-07T14:35:59.500+00:00").timestamp() * 1000)
    query = SessionFilters(time_range=time_range).session_query(now=now)
    assert query.start_ms == int(datetime.fromisoformat(start + "+00:00").timestamp() * 1000)
    assert query.end_ms is None
    assert SessionFilters().session_query(now=now).start_ms is None


def test_sort_links_flip_the_current_order_and_start_others_largest_first() -> None:
    view = SessionListView(sort="total_cost", descending=True, page=4)
    assert view.sort_url("total_cost") == "/dashboard/sessions?sort=total_cost&dir=asc"
    assert view.sort_url("duration") == "/dashboard/sessions?sort=duration"
    assert view.aria_sort("total_cost") == "descending" and view.aria_sort("duration") == "none"


@pytest.mark.parametrize(
    ("choice", "operator", "value"),
    [pytest.param("positive", "equals", "1", id="up"), pytest.param("negative", "equals", "0", id="down")],
)
def test_thumbs_filters_are_the_feedback_property(choice: str, operator: str, value: str) -> None:
    (leaf,) = [SessionFilters(feedback=choice).session_query(now=NOW).filter]
    assert isinstance(leaf, Leaf)
    assert (leaf.field.name, leaf.key, leaf.operator, leaf.value) == (
        "properties",
        "Helicone-Session-Feedback",
        operator,
        value,
    )


def test_not_rated_asks_for_neither_value_and_nothing_is_no_filter() -> None:
    assert feedback_tree("none") == {
        "left": {"request_response_rmt": {"properties": {"Helicone-Session-Feedback": {"not-equals": "1"}}}},
        "operator": "and",
        "right": {"request_response_rmt": {"properties": {"Helicone-Session-Feedback": {"not-equals": "0"}}}},
    }
    assert feedback_tree("") is None
    assert SessionFilters().session_query(now=NOW).filter is None


def test_feedback_and_property_filters_are_combined_with_and() -> None:
    tree = SessionFilters(feedback="positive", prop_key="prompt-version", prop_value="B").session_query(
        now=NOW
    )
    assert isinstance(tree.filter, Branch) and tree.filter.operator == "and"
    right = tree.filter.right
    assert isinstance(right, Leaf) and (right.key, right.value) == ("prompt-version", "B")


@pytest.mark.parametrize(
    ("key", "value", "field", "leaf_key"),
    [
        pytest.param("prompt-version", "B", "properties", "prompt-version", id="property-equals"),
        pytest.param("prompt-version", "", "property_key", None, id="property-present"),
        pytest.param("model", "gpt-4o", "model", None, id="model-column"),
        pytest.param("provider", "OPENAI", "provider", None, id="provider-column"),
    ],
)
def test_the_property_filter(key: str, value: str, field: str, leaf_key: str | None) -> None:
    leaf = SessionFilters(prop_key=key, prop_value=value).session_query(now=NOW).filter
    assert isinstance(leaf, Leaf)
    assert (leaf.field.name, leaf.key) == (field, leaf_key)


def test_a_value_too_long_for_the_filter_language_is_refused_with_its_message() -> None:
    with pytest.raises(InvalidInput, match="at most 4096 characters"):
        SessionFilters(prop_key="k", prop_value="x" * 4097).session_query(now=NOW)
