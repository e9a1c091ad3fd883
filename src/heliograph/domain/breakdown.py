"""Feedback comparison: for each value of a property, how often its sessions were rated positive.

Rates come with a 95% Wilson score interval; each value is compared with the best-rated one by a
two-sided two-proportion z-test (pooled variance).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from heliograph.domain.headers import property_key
from heliograph.errors import InvalidInput

__all__ = [
    "BUILTIN_DIMENSIONS",
    "MAX_BREAKDOWN_VALUES",
    "FeedbackCounts",
    "FeedbackRow",
    "breakdown",
    "check_dimension",
    "two_proportion_p_value",
    "wilson_interval",
]

Z_95 = 1.959963984540054  # the standard normal's 97.5th percentile
BUILTIN_DIMENSIONS = ("model", "provider")  # request columns; any other name is a property key
MAX_BREAKDOWN_VALUES = 100  # values compared, most sessions first (the API and the dashboard alike)


@dataclass(frozen=True, slots=True)
class FeedbackCounts:
    """Sessions that carry one value, and how they were rated."""

    value: str
    sessions: int
    positive: int
    negative: int


@dataclass(frozen=True, slots=True)
class FeedbackRow:
    value: str
    sessions: int
    rated: int
    positive: int
    negative: int
    positive_rate: float | None
    ci_low: float | None
    ci_high: float | None
    p_value: float | None


def check_dimension(name: str) -> str:
    """A property key (1..256 characters, matched as ingestion stores it) or one of BUILTIN_DIMENSIONS."""
    if not name or len(name) > 256:
        raise InvalidInput(
            "Invalid property: give a property key of 1 to 256 characters, or model or provider"
        )
    return property_key(name)


def wilson_interval(positive: int, rated: int, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval of positive/rated."""
    p = positive / rated
    denominator = 1 + z * z / rated
    centre = (p + z * z / (2 * rated)) / denominator
    half = z * math.sqrt(p * (1 - p) / rated + z * z / (4 * rated * rated)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def two_proportion_p_value(positive_a: int, rated_a: int, positive_b: int, rated_b: int) -> float:
    """Two-sided p-value that two positive rates differ (pooled z-test); 1.0 when it cannot differ."""
    pooled = (positive_a + positive_b) / (rated_a + rated_b)
    variance = pooled * (1 - pooled) * (1 / rated_a + 1 / rated_b)
    if variance == 0:
        return 1.0
    z = (positive_a / rated_a - positive_b / rated_b) / math.sqrt(variance)
    return math.erfc(abs(z) / math.sqrt(2))


def breakdown(counts: Sequence[FeedbackCounts]) -> list[FeedbackRow]:
    """Rows in the order given; `p_value` compares with the best-rated value and is None for it."""
    rated = [c for c in counts if c.positive + c.negative]
    best = max(
        rated, key=lambda c: (c.positive / (c.positive + c.negative), c.positive + c.negative), default=None
    )
    rows = []
    for c in counts:
        n = c.positive + c.negative
        low, high = wilson_interval(c.positive, n) if n else (None, None)
        p_value = None
        if n and best is not None and c is not best:
            p_value = two_proportion_p_value(c.positive, n, best.positive, best.positive + best.negative)
        rows.append(
            FeedbackRow(
                value=c.value,
                sessions=c.sessions,
                rated=n,
                positive=c.positive,
                negative=c.negative,
                positive_rate=c.positive / n if n else None,
                ci_low=low,
                ci_high=high,
                p_value=p_value,
            )
        )
    return rows
