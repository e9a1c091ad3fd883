"""Session metric distributions: quantile trimming, histograms and averages (spec 3.5).

The algorithm reads integer values (request counts, durations in ms, costs in nano-USD) through
`OrderedValues`, a handful of order-statistic questions that a database answers with a few indexed
queries (storage/sql/metric_values.py) instead of shipping every session to Python, and that
`SortedValues` answers from a list. A value is shown divided by its `scale` (1000 for ms to s).
"""

from __future__ import annotations

import bisect
import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from heliograph.domain.records import NANO_USD_PER_USD
from heliograph.errors import InvalidInput

__all__ = [
    "MS_PER_SECOND",
    "PERCENTILES",
    "HistogramBin",
    "MetricDistribution",
    "OrderedValues",
    "SessionMetrics",
    "SortedValues",
    "distribution",
    "percentile_fraction",
    "session_metrics",
]

PERCENTILES = {"p50": 0.5, "p75": 0.75, "p95": 0.95, "p99": 0.99, "p99.9": 0.999}
MAX_BINS = 10
MS_PER_SECOND = 1000
_INT_RANGE = (-(2**63), 2**63 - 1)  # every stored value is a 64-bit integer


@dataclass(frozen=True, slots=True)
class HistogramBin:
    range_start: float
    range_end: float
    value: int


@dataclass(frozen=True, slots=True)
class MetricDistribution:
    bins: list[HistogramBin]
    average: float
    count: int  # values described, trimmed or not


@dataclass(frozen=True, slots=True)
class SessionMetrics:
    """The distributions of the metrics endpoint over the sessions a query selects."""

    session_count: int
    request_count: MetricDistribution
    duration_seconds: MetricDistribution
    cost_usd: MetricDistribution


class OrderedValues(Protocol):
    """A multiset of integers, asked only what the distribution needs."""

    def count_and_total(self) -> tuple[int, int]:
        """How many values there are and their sum."""

    def values_from(self, rank: int, count: int) -> list[int]:
        """`count` values from the 0-based `rank` on, in ascending order."""

    def min_at_least(self, bound: int) -> int | None:
        """The smallest value >= bound, or None."""

    def max_at_most(self, bound: int) -> int | None:
        """The largest value <= bound, or None."""

    def count_in(self, edges: Sequence[int]) -> list[int]:
        """How many values lie in [edges[i], edges[i + 1]) for each i; the last range includes its end."""


class SortedValues:
    """`OrderedValues` of an in-memory collection."""

    def __init__(self, values: Iterable[int]) -> None:
        self._values = sorted(values)

    def count_and_total(self) -> tuple[int, int]:
        return len(self._values), sum(self._values)

    def values_from(self, rank: int, count: int) -> list[int]:
        return self._values[rank : rank + count]

    def min_at_least(self, bound: int) -> int | None:
        index = bisect.bisect_left(self._values, bound)
        return self._values[index] if index < len(self._values) else None

    def max_at_most(self, bound: int) -> int | None:
        index = bisect.bisect_right(self._values, bound)
        return self._values[index - 1] if index else None

    def count_in(self, edges: Sequence[int]) -> list[int]:
        positions = [bisect.bisect_left(self._values, edge) for edge in edges[:-1]]
        positions.append(bisect.bisect_right(self._values, edges[-1]))
        return [max(0, end - start) for start, end in itertools.pairwise(positions)]


def percentile_fraction(p_size: str) -> float:
    """The fraction a `pSize` names; InvalidInput for anything else."""
    try:
        return PERCENTILES[p_size]
    except KeyError:
        raise InvalidInput(f"Invalid pSize {p_size[:20]!r}: use one of {', '.join(PERCENTILES)}") from None


def distribution(
    values: OrderedValues, *, scale: int, fraction: float, interquartile: bool
) -> MetricDistribution:
    """Trim to the quantile window, then bin what is left into at most 10 equal-width bins.

    Without `interquartile`, values above the `fraction` quantile (linear interpolation, numpy's
    default) are dropped; with it, only those between the (1 - fraction) and `fraction` quantiles
    are kept. The average covers every value, trimmed or not. Bin counts add up to the values kept.
    """
    count, total = values.count_and_total()
    if not count:
        return MetricDistribution(bins=[], average=0.0, count=0)
    upper = _quantile(values, count, fraction, scale)
    lower = _quantile(values, count, 1 - fraction, scale) if interquartile else -math.inf
    if lower > upper:
        lower, upper = upper, lower
    first = values.min_at_least(_smallest_int(lambda v: v / scale >= lower, *_INT_RANGE))
    last = values.max_at_most(_smallest_int(lambda v: v / scale > upper, *_INT_RANGE) - 1)
    average = total / (scale * count)
    if first is None or last is None or first > last:  # nothing between the bounds
        return MetricDistribution(bins=[], average=average, count=count)
    return MetricDistribution(bins=_bins(values, first, last, scale), average=average, count=count)


def session_metrics(
    request_counts: OrderedValues,
    durations_ms: OrderedValues,
    costs_nano_usd: OrderedValues,
    *,
    fraction: float,
    interquartile: bool,
) -> SessionMetrics:
    """The three distributions of the metrics endpoint, in requests, seconds and USD."""

    def spread(values: OrderedValues, scale: int) -> MetricDistribution:
        return distribution(values, scale=scale, fraction=fraction, interquartile=interquartile)

    count = spread(request_counts, 1)
    return SessionMetrics(
        session_count=count.count,
        request_count=count,
        duration_seconds=spread(durations_ms, MS_PER_SECOND),
        cost_usd=spread(costs_nano_usd, NANO_USD_PER_USD),
    )


def _quantile(values: OrderedValues, count: int, fraction: float, scale: int) -> float:
    position = (count - 1) * fraction
    rank = math.floor(position)
    below, *above = values.values_from(rank, 2)
    low = below / scale
    high = above[0] / scale if above else low
    return low + (high - low) * (position - rank)


def _bins(values: OrderedValues, first: int, last: int, scale: int) -> list[HistogramBin]:
    low, high = first / scale, last / scale
    if low == high:
        return [HistogramBin(low, high, values.count_in([first, last])[0])]
    width = (high - low) / MAX_BINS

    def bin_of(value: int) -> int:
        return min(int((value / scale - low) / width), MAX_BINS - 1)

    def start_of(index: int) -> int:  # bin_of never decreases, so each bin is one range of integers
        return _smallest_int(lambda value: bin_of(value) >= index, first, last)

    counts = values.count_in([first, *(start_of(i) for i in range(1, MAX_BINS)), last])
    return [
        HistogramBin(low + i * width, high if i == MAX_BINS - 1 else low + (i + 1) * width, n)
        for i, n in enumerate(counts)
    ]


def _smallest_int(holds: Callable[[int], bool], lo: int, hi: int) -> int:
    """The smallest integer in [lo, hi] where the monotone `holds` is true (hi + 1 if none)."""
    hi += 1
    while lo < hi:
        middle = (lo + hi) // 2
        if holds(middle):
            hi = middle
        else:
            lo = middle + 1
    return lo
