"""Property and score summaries for Helicone's property and evals endpoints, from the store's totals.

Time windows arrive as ISO strings and become filter leaves on `request_created_at`. Buckets of a
minute, an hour or a day are the store's; weeks, months and years are days regrouped on the calendar
of the caller's time zone (Helicone's `timeZoneDifference`: minutes west of UTC, as JavaScript's
getTimezoneOffset gives them).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from heliograph.domain.filters import REQUEST_TABLE, Branch, FilterNode, parse_filter
from heliograph.domain.store import PropertyTotal, ScoreCount
from heliograph.errors import InvalidInput

__all__ = [
    "DAY_MS",
    "Increment",
    "ScoreSummary",
    "bucket_of",
    "by_increment",
    "distributions",
    "in_window",
    "score_summaries",
    "shift_of",
    "top_values",
]

DAY_MS = 86_400_000
Increment = Literal["min", "hour", "day", "week", "month", "year"]
_STORE_BUCKETS_MS = {"min": 60_000, "hour": 3_600_000}
_DISTRIBUTION_BINS = 10


def in_window(filter: FilterNode, *, start: str, end: str) -> FilterNode:
    """`filter` and "created in [start, end]" (ISO 8601 times, or epoch milliseconds as text)."""
    window = parse_filter(
        {
            "left": {REQUEST_TABLE: {"request_created_at": {"gte": start}}},
            "operator": "and",
            "right": {REQUEST_TABLE: {"request_created_at": {"lte": end}}},
        }
    )
    return window if filter is None else Branch(filter, "and", window)


def shift_of(timezone_minutes: float) -> int:
    """Milliseconds from UTC to the caller's clock; InvalidInput beyond a day."""
    if not -1440 <= timezone_minutes <= 1440:
        raise InvalidInput("Invalid timeZoneDifference: minutes between -1440 and 1440")
    return -int(timezone_minutes * 60_000)


def bucket_of(increment: Increment) -> int:
    """The store's bucket for an increment: minutes and hours as they are, anything longer by day."""
    return _STORE_BUCKETS_MS.get(increment, DAY_MS)


def by_increment(
    totals: Iterable[PropertyTotal], *, increment: Increment, shift_ms: int
) -> list[PropertyTotal]:
    """Store buckets regrouped into weeks (from Monday), months or years of the caller's calendar."""
    if increment in _STORE_BUCKETS_MS or increment == "day":
        return list(totals)
    grouped: dict[tuple[int, str], list[int]] = defaultdict(lambda: [0, 0])
    for total in totals:
        start = _calendar_start(int(total.bucket_start_ms or 0), increment=increment, shift_ms=shift_ms)
        grouped[(start, total.value)][0] += total.request_count
        grouped[(start, total.value)][1] += total.cost_nano_usd
    return [PropertyTotal(value, start, n, cost) for (start, value), (n, cost) in sorted(grouped.items())]


def _calendar_start(ms: int, *, increment: Increment, shift_ms: int) -> int:
    local = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=ms + shift_ms)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if increment == "week":
        day -= timedelta(days=day.weekday())
    elif increment == "month":
        day = day.replace(day=1)
    else:
        day = day.replace(month=1, day=1)
    return int(day.timestamp() * 1000) - shift_ms


def top_values(
    totals: Iterable[PropertyTotal], *, by: Literal["cost", "count"], limit: int
) -> list[PropertyTotal]:
    """The values with the most cost (or requests), ties by value."""
    if by == "cost":
        return sorted(totals, key=lambda t: (-t.cost_nano_usd, t.value))[:limit]
    return sorted(totals, key=lambda t: (-t.request_count, t.value))[:limit]


@dataclass(frozen=True, slots=True)
class ScoreSummary:
    """One score over the matching requests, and per bucket: (bucket start, count, average)."""

    name: str
    average: float
    minimum: int
    maximum: int
    count: int
    over_time: list[tuple[int, int, float]]


def score_summaries(counts: Iterable[ScoreCount]) -> list[ScoreSummary]:
    """Per score name (sorted): average, bounds and count, overall and per bucket."""
    by_name: dict[str, list[ScoreCount]] = defaultdict(list)
    for count in counts:
        by_name[count.name].append(count)
    summaries = []
    for name, rows in sorted(by_name.items()):
        buckets: dict[int, list[int]] = defaultdict(lambda: [0, 0])
        for row in rows:
            buckets[int(row.bucket_start_ms or 0)][0] += row.count
            buckets[int(row.bucket_start_ms or 0)][1] += row.value * row.count
        total = sum(row.count for row in rows)
        summaries.append(
            ScoreSummary(
                name=name,
                average=sum(row.value * row.count for row in rows) / total,
                minimum=min(row.value for row in rows),
                maximum=max(row.value for row in rows),
                count=total,
                over_time=[(start, n, value_sum / n) for start, (n, value_sum) in sorted(buckets.items())],
            )
        )
    return summaries


def distributions(counts: Iterable[ScoreCount]) -> list[tuple[str, list[tuple[float, float, int]]]]:
    """Per score name (sorted): up to ten equal bins (lower, upper, requests) from its least value to
    its greatest; the last bin holds its upper bound."""
    values: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for count in counts:
        values[count.name][count.value] += count.count
    out = []
    for name, seen in sorted(values.items()):
        low, high = min(seen), max(seen)
        width = (high - low) / _DISTRIBUTION_BINS or 1
        bins = [0] * (_DISTRIBUTION_BINS if high > low else 1)
        for value, n in seen.items():
            bins[min(int((value - low) / width), len(bins) - 1)] += n
        out.append((name, [(low + i * width, low + (i + 1) * width, n) for i, n in enumerate(bins)]))
    return out
