"""The metric distribution read through OrderedValues equals the plain definition on every input."""

from __future__ import annotations

import math
import random

import pytest

from heliograph.domain.metrics import MAX_BINS, PERCENTILES, SortedValues, distribution


def reference(
    values: list[float], fraction: float, interquartile: bool
) -> tuple[list[tuple[float, float, int]], int]:
    """Spec 3.5 written out over a sorted list: quantiles by linear interpolation, keep, equal bins."""
    ordered = sorted(values)

    def quantile(q: float) -> float:
        position = (len(ordered) - 1) * q
        low = math.floor(position)
        high = min(low + 1, len(ordered) - 1)
        return ordered[low] + (ordered[high] - ordered[low]) * (position - low)

    upper = quantile(fraction)
    lower = quantile(1 - fraction) if interquartile else -math.inf
    lower, upper = min(lower, upper), max(lower, upper)
    kept = [v for v in ordered if lower <= v <= upper]
    if not kept:
        return [], 0
    low, high = kept[0], kept[-1]
    if low == high:
        return [(low, high, len(kept))], len(kept)
    width = (high - low) / MAX_BINS
    counts = [0] * MAX_BINS
    for v in kept:
        counts[min(int((v - low) / width), MAX_BINS - 1)] += 1
    bins = [
        (low + i * width, high if i == MAX_BINS - 1 else low + (i + 1) * width, n)
        for i, n in enumerate(counts)
    ]
    return bins, len(kept)


@pytest.mark.parametrize("scale", [1, 1000, 1_000_000_000])
@pytest.mark.parametrize("interquartile", [False, True])
def test_matches_the_plain_definition_on_random_data(scale: int, interquartile: bool) -> None:
    rng = random.Random(scale)
    for trial in range(60):
        size = rng.choice([1, 2, 3, 7, 50, 400])
        spread = rng.choice([1, 5, 1000, 10**9])  # 1 and 5 give many ties
        values = [rng.randrange(spread) for _ in range(size)]
        for p_size, fraction in PERCENTILES.items():
            got = distribution(
                SortedValues(values), scale=scale, fraction=fraction, interquartile=interquartile
            )
            bins, kept = reference([v / scale for v in values], fraction, interquartile)
            where = f"trial {trial}, {p_size}, values {sorted(values)[:20]}"
            assert [(b.range_start, b.range_end, b.value) for b in got.bins] == bins, where
            assert sum(b.value for b in got.bins) == kept
            assert got.count == size
            assert got.average == pytest.approx(sum(values) / scale / size, rel=1e-12)


def test_hand_computed_example() -> None:
    # Durations 0, 0, 60 and 90 s (in ms); p75 = 60 + 30 * 0.25 = 67.5, so 90 is dropped.
    got = distribution(SortedValues([0, 60_000, 0, 90_000]), scale=1000, fraction=0.75, interquartile=False)
    assert [b.value for b in got.bins] == [2, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    assert (got.bins[0].range_start, got.bins[0].range_end, got.bins[9].range_end) == (0.0, 6.0, 60.0)
    assert (got.average, got.count) == (37.5, 4)


def test_no_values_and_nothing_kept() -> None:
    assert distribution(SortedValues([]), scale=1, fraction=0.5, interquartile=False).bins == []
    # Interquartile at p50 keeps only values equal to the median 1.5: none.
    assert distribution(SortedValues([1, 2]), scale=1, fraction=0.5, interquartile=True).bins == []
