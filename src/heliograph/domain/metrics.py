"""Session metric distributions: quantile trimming, histograms and averages (spec 3.5)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from heliograph.errors import InvalidInput

__all__ = [
    "PERCENTILES",
    "HistogramBin",
    "MetricDistribution",
    "SessionMetricValues",
    "distribution",
    "percentile_fraction",
]

PERCENTILES = {"p50": 0.5, "p75": 0.75, "p95": 0.95, "p99": 0.99, "p99.9": 0.999}
MAX_BINS = 10


@dataclass(frozen=True, slots=True)
class SessionMetricValues:
    """The three per-session values the metrics endpoint describes."""

    request_count: int
    duration_seconds: float
    cost_usd: float


@dataclass(frozen=True, slots=True)
class HistogramBin:
    range_start: float
    range_end: float
    value: int


@dataclass(frozen=True, slots=True)
class MetricDistribution:
    bins: list[HistogramBin]
    average: float


def percentile_fraction(p_size: str) -> float:
    """The fraction a `pSize` names; InvalidInput for anything else."""
    try:
        return PERCENTILES[p_size]
    except KeyError:
        raise InvalidInput(f"Invalid pSize {p_size[:20]!r}: use one of {', '.join(PERCENTILES)}") from None


def quantile(sorted_values: Sequence[float], fraction: float) -> float:
    """Linear-interpolation quantile of already sorted values (numpy's default method)."""
    position = (len(sorted_values) - 1) * fraction
    low = math.floor(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def distribution(values: Sequence[float], *, fraction: float, interquartile: bool) -> MetricDistribution:
    """Trim to the quantile window, then bin what is left into at most 10 equal-width bins.

    Without `interquartile`, sessions above the `fraction` quantile are dropped; with it, only those
    between the (1 - fraction) and `fraction` quantiles are kept. The average covers every session,
    trimmed or not. Bin counts add up to the number of sessions kept.
    """
    if not values:
        return MetricDistribution(bins=[], average=0.0)
    ordered = sorted(values)
    upper = quantile(ordered, fraction)
    lower = quantile(ordered, 1 - fraction) if interquartile else -math.inf
    if lower > upper:
        lower, upper = upper, lower
    kept = [v for v in ordered if lower <= v <= upper]
    return MetricDistribution(bins=_bins(kept), average=sum(values) / len(values))


def _bins(kept: list[float]) -> list[HistogramBin]:
    if not kept:
        return []
    low, high = float(kept[0]), float(kept[-1])
    if low == high:
        return [HistogramBin(low, high, len(kept))]
    width = (high - low) / MAX_BINS
    counts = [0] * MAX_BINS
    for value in kept:
        counts[min(int((value - low) / width), MAX_BINS - 1)] += 1
    return [
        HistogramBin(low + i * width, high if i == MAX_BINS - 1 else low + (i + 1) * width, count)
        for i, count in enumerate(counts)
    ]
