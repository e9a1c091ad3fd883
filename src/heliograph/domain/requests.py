"""Request queries: which requests, in which order, which page."""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from typing import Literal

from heliograph.domain.filters import FilterNode
from heliograph.domain.headers import property_key
from heliograph.errors import InvalidInput

__all__ = [
    "HELICONE_SORT_KEYS",
    "MAX_PAGE",
    "SORT_KEYS",
    "RequestQuery",
    "RequestSort",
    "page",
    "parse_sort",
    "stored_ids",
]

# The columns a store sorts requests by; "random" shuffles, "none" keeps the fallback order only.
SORT_KEYS = (
    "created_at",
    "latency",
    "cost",
    "total_tokens",
    "prompt_tokens",
    "completion_tokens",
    "user_id",
    "time_to_first_token",
    "request_model",
    "request_body",
    "response_body",
    "random",
    "none",
)
# Every key of Helicone's SortLeafRequest but `properties`, `values` and `random`, to what it sorts
# by here. Heliograph has no cache, so every request ties on the cache keys (the fallback order
# decides), and a request's last activity is its own time.
HELICONE_SORT_KEYS: dict[str, str] = {
    "created_at": "created_at",
    "last_active": "created_at",
    "latency": "latency",
    "cost": "cost",
    "total_tokens": "total_tokens",
    "prompt_tokens": "prompt_tokens",
    "completion_tokens": "completion_tokens",
    "user_id": "user_id",
    "time_to_first_token": "time_to_first_token",
    "body_model": "request_model",
    "request_prompt": "request_body",
    "response_text": "response_body",
    "is_cached": "none",
    "cache_created_at": "none",
}
MAX_PAGE = 1000
_MAX_OFFSET = 10_000_000


@dataclass(frozen=True, slots=True)
class RequestSort:
    """Order by `key` (one of SORT_KEYS, or `properties` with `property` set)."""

    key: str
    direction: Literal["asc", "desc"]
    property: str | None = None


@dataclass(frozen=True, slots=True)
class RequestQuery:
    """Which requests (a filter, and with `request_ids` only those ids), in which order, which page."""

    filter: FilterNode = None
    request_ids: tuple[str, ...] | None = None
    sort: RequestSort = RequestSort("created_at", "desc")
    is_scored: bool | None = None
    limit: int = 10
    offset: int = 0


def page(*, limit: float, offset: float) -> tuple[int, int]:
    """Any numbers Helicone's schema allows as (limit, offset): fractions drop, a limit of 0 or less
    is an empty page, at most MAX_PAGE rows, and a negative offset starts at the first row."""
    if not (math.isfinite(limit) and math.isfinite(offset)):
        raise InvalidInput("Invalid limit or offset: expected finite numbers")
    return max(0, min(int(limit), MAX_PAGE)), max(0, min(int(offset), _MAX_OFFSET))


def parse_sort(raw: dict[str, object] | None) -> RequestSort:
    """Helicone's SortLeafRequest with one key (`{"cost": "desc"}`, `{"properties": {"<key>": "asc"}}`,
    `{"random": true}`), or the flat `{"properties.<key>": "asc"}`; the default is newest first."""
    if not raw:
        return RequestSort("created_at", "desc")
    if len(raw) != 1:
        raise InvalidInput('Invalid sort: give exactly one key, as in {"created_at": "desc"}')
    ((key, direction),) = raw.items()
    if key == "random":
        if direction is not True:
            raise InvalidInput("Invalid sort: random takes true")
        return RequestSort("random", "asc")
    if key in ("properties", "values"):
        if not isinstance(direction, dict) or len(direction) != 1:
            raise InvalidInput(f'Invalid sort: {key} takes one key, as in {{"{key}": {{"<key>": "asc"}}}}')
        ((name, direction),) = direction.items()
        if key == "values":  # prompt input values: Heliograph stores none, so every request ties
            return RequestSort("none", _direction(name, direction))
        key = f"properties.{name}"
    if key.startswith("properties."):
        name = key.removeprefix("properties.")
        if not name or len(name) > 256 or "\x00" in name:
            raise InvalidInput("Invalid sort key: a property key has 1 to 256 characters")
        return RequestSort("properties", _direction(name, direction), property_key(name))
    if key not in HELICONE_SORT_KEYS:
        raise InvalidInput(
            f"Invalid sort key {key[:80]!r}: use one of {', '.join(HELICONE_SORT_KEYS)}, random, "
            "properties or properties.<key>"
        )
    return RequestSort(HELICONE_SORT_KEYS[key], _direction(key, direction))


def _direction(key: str, direction: object) -> Literal["asc", "desc"]:
    if direction == "asc" or direction == "desc":
        return direction
    raise InvalidInput(f"Invalid sort direction for {key[:80]!r}: use 'asc' or 'desc'")


def stored_ids(ids: list[str]) -> tuple[str, ...]:
    """The ids that can name a stored request (UUIDs, in canonical form), each once; others name none."""
    return tuple(sorted({str(uuid.UUID(i)) for i in ids if _is_uuid(i)}))


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True
