"""Request queries: which requests, in which order, which page."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from heliograph.domain.filters import FilterNode
from heliograph.domain.headers import property_key
from heliograph.errors import InvalidInput

__all__ = ["SORT_KEYS", "RequestQuery", "RequestSort", "parse_sort"]

SORT_KEYS = (
    "created_at",
    "latency",
    "cost",
    "total_tokens",
    "prompt_tokens",
    "completion_tokens",
    "user_id",
    "time_to_first_token",
)


@dataclass(frozen=True, slots=True)
class RequestSort:
    """Order by `key` (one of SORT_KEYS, or `properties.<property>` with `property` set)."""

    key: str
    direction: Literal["asc", "desc"]
    property: str | None = None


@dataclass(frozen=True, slots=True)
class RequestQuery:
    filter: FilterNode = None
    sort: RequestSort = RequestSort("created_at", "desc")
    is_scored: bool | None = None
    limit: int = 10
    offset: int = 0


def parse_sort(raw: dict[str, object] | None) -> RequestSort:
    """`{"<key>": "asc"|"desc"}` with exactly one key; the default is newest first."""
    if not raw:
        return RequestSort("created_at", "desc")
    if len(raw) != 1:
        raise InvalidInput('Invalid sort: give exactly one key, as in {"created_at": "desc"}')
    ((key, direction),) = raw.items()
    if direction not in ("asc", "desc"):
        raise InvalidInput(f"Invalid sort direction for {key[:80]!r}: use 'asc' or 'desc'")
    if key.startswith("properties."):
        name = key.removeprefix("properties.")
        if not name or len(name) > 256 or "\x00" in name:
            raise InvalidInput("Invalid sort key: properties.<key> needs a key of 1 to 256 characters")
        return RequestSort("properties", direction, property_key(name))
    if key not in SORT_KEYS:
        raise InvalidInput(
            f"Invalid sort key {key[:80]!r}: use one of {', '.join(SORT_KEYS)} or properties.<key>"
        )
    return RequestSort(key, direction)
