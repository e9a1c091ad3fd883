"""What a session list shows, read from and written back to the URL's query, so any view can be shared.

`SessionFilters` (search, time range, feedback, property) becomes the same filter tree the JSON API
takes, parsed by the same `parse_filter`; `SessionListView` adds the order and the page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlencode

from heliograph.domain.breakdown import BUILTIN_DIMENSIONS
from heliograph.domain.filters import REQUEST_TABLE, parse_filter
from heliograph.domain.records import FEEDBACK_KEY
from heliograph.domain.sessions import SESSION_SORT_KEYS, SessionQuery

__all__ = [
    "DAY_MS",
    "FEEDBACK_CHOICES",
    "HOUR_MS",
    "MAX_KEY_CHARS",
    "MINUTE_MS",
    "PAGE_SIZE",
    "RANGES",
    "RANGE_CHOICES",
    "SORT_LABELS",
    "SessionFilters",
    "SessionListView",
    "TimeRange",
    "feedback_tree",
]

PAGE_SIZE = 50
MAX_PAGE = 10_000_000 // PAGE_SIZE  # the API's largest offset
MAX_SEARCH_CHARS = 1000
MAX_KEY_CHARS = 256
MINUTE_MS = 60 * 1000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS


@dataclass(frozen=True, slots=True)
class TimeRange:
    """`count` whole UTC steps of `step_ms` ending with the current one: "Last 7 days" is today and the
    6 days before, so a chart of it per day has exactly 7 bars. None for all time (the fastest query)."""

    label: str
    count: int | None = None
    step_ms: int = DAY_MS

    def start_ms(self, *, now: int) -> int | None:
        if self.count is None:
            return None
        return now - now % self.step_ms - (self.count - 1) * self.step_ms


RANGES: dict[str, TimeRange] = {
    "all": TimeRange("All time"),
    "1h": TimeRange("Last hour", 60, MINUTE_MS),
    "24h": TimeRange("Last 24 hours", 24, HOUR_MS),
    "7d": TimeRange("Last 7 days", 7),
    "30d": TimeRange("Last 30 days", 30),
    "90d": TimeRange("Last 90 days", 90),
}
RANGE_CHOICES = {key: time_range.label for key, time_range in RANGES.items()}
FEEDBACK_CHOICES = {"": "Any", "positive": "Thumbs up", "negative": "Thumbs down", "none": "Not rated"}
SORT_LABELS = {
    "created_at": "Started",
    "latest_request_created_at": "Last request",
    "duration": "Duration",
    "total_requests": "Requests",
    "total_cost": "Cost",
    "total_tokens": "Tokens",
}
assert set(SORT_LABELS) == set(SESSION_SORT_KEYS), "every order the store offers has a label"


def _feedback_leaf(operator: str, value: str) -> dict[str, Any]:
    return {REQUEST_TABLE: {"properties": {FEEDBACK_KEY: {operator: value}}}}


def feedback_tree(choice: str) -> dict[str, Any] | None:
    """The filter tree for a feedback choice: `Helicone-Session-Feedback` is "1" (up) or "0" (down);
    "none" asks for neither (on sessions, storage reads this key from the session's own rating)."""
    if choice == "positive":
        return _feedback_leaf("equals", "1")
    if choice == "negative":
        return _feedback_leaf("equals", "0")
    if choice == "none":
        return {
            "left": _feedback_leaf("not-equals", "1"),
            "operator": "and",
            "right": _feedback_leaf("not-equals", "0"),
        }
    return None


def _choice(params: Mapping[str, str], name: str, choices: Mapping[str, object], default: str) -> str:
    value = params.get(name, default)
    return value if value in choices else default


@dataclass(frozen=True, slots=True)
class SessionFilters:
    """Which sessions: search text, a time range ending now (see TimeRange), a feedback choice and one
    property."""

    search: str = ""
    time_range: str = "all"
    feedback: str = ""
    prop_key: str = ""
    prop_value: str = ""

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> SessionFilters:
        """Read the URL's query; unknown choices fall back to their defaults."""
        return cls(
            search=params.get("q", "").strip()[:MAX_SEARCH_CHARS],
            time_range=_choice(params, "range", RANGES, "all"),
            feedback=_choice(params, "feedback", FEEDBACK_CHOICES, ""),
            prop_key=params.get("prop", "").strip()[:MAX_KEY_CHARS],
            prop_value=params.get("value", ""),  # parse_filter says when it is too long
        )

    def params(self) -> dict[str, str]:
        """The query parameters that say the same (defaults left out)."""
        pairs = (
            ("q", self.search),
            ("range", "" if self.time_range == "all" else self.time_range),
            ("feedback", self.feedback),
            ("prop", self.prop_key),
            ("value", self.prop_value if self.prop_key else ""),
        )
        return {name: value for name, value in pairs if value}

    def filter_tree(self) -> dict[str, Any] | str:
        """The JSON filter tree these filters mean, as POST /v1/session/query takes it."""
        leaves = [leaf for leaf in (feedback_tree(self.feedback), self._property_leaf()) if leaf is not None]
        if not leaves:
            return "all"
        tree = leaves[0]
        for leaf in leaves[1:]:
            tree = {"left": tree, "operator": "and", "right": leaf}
        return tree

    def _property_leaf(self) -> dict[str, Any] | None:
        if not self.prop_key:
            return None
        if self.prop_key in BUILTIN_DIMENSIONS:  # model and provider are request columns
            return {REQUEST_TABLE: {self.prop_key: {"equals": self.prop_value}}}
        if self.prop_value == "":  # a key alone: sessions that carry the property at all
            return {REQUEST_TABLE: {"property_key": {"equals": self.prop_key}}}
        return {REQUEST_TABLE: {"properties": {self.prop_key: {"equals": self.prop_value}}}}

    def session_query(self, *, now: int, **page: Any) -> SessionQuery:
        """The SessionQuery the API would build for the same filters; InvalidInput if one is malformed."""
        return SessionQuery(
            search=self.search,
            filter=parse_filter(self.filter_tree()),
            start_ms=RANGES[self.time_range].start_ms(now=now),
            end_ms=None,
            **page,
        )


@dataclass(frozen=True, slots=True)
class SessionListView:
    """A page of the session list: the filters, the order and the page number."""

    filters: SessionFilters = SessionFilters()
    sort: str = "created_at"
    descending: bool = True
    page: int = 1

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> SessionListView:
        try:
            page = min(max(int(params.get("page", "1")), 1), MAX_PAGE)
        except ValueError:
            page = 1
        return cls(
            filters=SessionFilters.from_params(params),
            sort=_choice(params, "sort", SORT_LABELS, "created_at"),
            descending=params.get("dir", "desc") != "asc",
            page=page,
        )

    def session_query(self, *, now: int) -> SessionQuery:
        """This page's query, asking for one row more than it shows to learn whether a next page exists."""
        return self.filters.session_query(
            now=now,
            limit=PAGE_SIZE + 1,
            offset=(self.page - 1) * PAGE_SIZE,
            sort_key=self.sort,
            sort_descending=self.descending,
        )

    def url(self, **changes: Any) -> str:
        view = replace(self, **changes)
        params = view.filters.params()
        if view.sort != "created_at":
            params["sort"] = view.sort
        if not view.descending:
            params["dir"] = "asc"
        if view.page != 1:
            params["page"] = str(view.page)
        return "/dashboard/sessions" + (f"?{urlencode(params)}" if params else "")

    def sort_url(self, key: str) -> str:
        """Order by `key`: largest (newest) first, or the other way if it is already the order."""
        descending = not self.descending if key == self.sort else True
        return self.url(sort=key, descending=descending, page=1)

    def aria_sort(self, key: str) -> str:
        if key != self.sort:
            return "none"
        return "descending" if self.descending else "ascending"
