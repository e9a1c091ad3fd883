"""Chart data for the metrics page: what Chart.js draws, as JSON embedded in the page.

Each chart is a plain dict (`kind`, `title`, `labels`, `series`, `stacked`); `static/dashboard.js`
turns it into a Chart.js bar chart and the page shows the same numbers as a table for screen readers.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from heliograph.dashboard.formatting import duration, usd_value
from heliograph.dashboard.listing import DAY_MS, HOUR_MS, MINUTE_MS, TimeRange
from heliograph.domain.metrics import HistogramBin, MetricDistribution
from heliograph.domain.store import SessionActivity

__all__ = ["activity_chart", "histogram_chart", "whole_number_bins"]

MAX_FILLED_DAYS = 400  # all time: fill empty days between the first and last active day up to this many
STEP_NAMES = {DAY_MS: ("day", "%Y-%m-%d"), HOUR_MS: ("hour", "%m-%d %H:00"), MINUTE_MS: ("minute", "%H:%M")}


def _seconds(value: float) -> str:
    return duration(value * 1000)


UNITS: dict[str, Callable[[float], str]] = {"usd": usd_value, "seconds": _seconds}


def histogram_chart(metric: MetricDistribution, *, title: str, unit: str) -> dict[str, Any]:
    """A histogram of sessions per bin, labelled with each bin's range in `unit`; a count of requests
    gets whole-number bins (see `whole_number_bins`)."""
    if unit == "requests":
        ranges = whole_number_bins(metric.bins)
        labels = [str(lo) if lo == hi else f"{lo} to {hi}" for lo, hi, _ in ranges]
        values = [n for _, _, n in ranges]
        average = f"{metric.average:.1f}"
    else:
        show = UNITS[unit]
        labels = [
            show(b.range_start)
            if b.range_start == b.range_end
            else f"{show(b.range_start)} to {show(b.range_end)}"
            for b in metric.bins
        ]
        values = [b.value for b in metric.bins]
        average = show(metric.average)
    return {
        "kind": "bar",
        "title": title,
        "labels": labels,
        "series": [{"label": "Sessions", "data": values, "tone": "neutral"}],
        "stacked": False,
        "average": average,
    }


def whole_number_bins(bins: Sequence[HistogramBin]) -> list[tuple[int, int, int]]:
    """The API's equal-width bins of a whole-number measure as (first, last, sessions) integer ranges.

    The API splits [low, high] into equal fractional widths (1 to 5 requests: 1 to 1.4, 1.4 to 1.8, …);
    each integer belongs to the bin the API counted it in, and a bin that holds no integer (so no
    session) is left out.
    """
    if len(bins) <= 1:
        return [(math.ceil(b.range_start), math.floor(b.range_end), b.value) for b in bins]
    low, high = bins[0].range_start, bins[-1].range_end
    width = (high - low) / len(bins)
    integers = range(math.ceil(low), math.floor(high) + 1)

    def bin_of(n: int) -> int:  # as domain.metrics places a value
        return min(int((n - low) / width), len(bins) - 1)

    starts = [integers.start + bisect.bisect_left(integers, i, key=bin_of) for i in range(len(bins) + 1)]
    return [
        (starts[i], starts[i + 1] - 1, b.value) for i, b in enumerate(bins) if starts[i] <= starts[i + 1] - 1
    ]


def activity_chart(rows: Sequence[SessionActivity], *, time_range: TimeRange, now: int) -> dict[str, Any]:
    """Sessions started per step of the time range (per day for all time), split into thumbs up, thumbs
    down and not rated: one bar for each step of the range, and no bar outside it."""
    by_bucket = {row.bucket_start_ms: row for row in rows}
    step = time_range.step_ms
    start = time_range.start_ms(now=now)
    if start is not None:
        buckets = [start + i * step for i in range(time_range.count or 0)]
    else:
        buckets = sorted(by_bucket)
        if buckets and (buckets[-1] - buckets[0]) // step < MAX_FILLED_DAYS:
            buckets = list(range(buckets[0], buckets[-1] + step, step))
    empty = SessionActivity(bucket_start_ms=0, sessions=0, positive=0, negative=0)
    filled = [by_bucket.get(bucket, empty) for bucket in buckets]
    name, label_format = STEP_NAMES[step]
    return {
        "kind": "bar",
        "title": f"Sessions started per {name} (UTC)",
        "labels": [datetime.fromtimestamp(b / 1000, UTC).strftime(label_format) for b in buckets],
        "series": [
            {"label": "Thumbs up", "data": [r.positive for r in filled], "tone": "positive"},
            {"label": "Thumbs down", "data": [r.negative for r in filled], "tone": "negative"},
            {
                "label": "Not rated",
                "data": [r.sessions - r.positive - r.negative for r in filled],
                "tone": "neutral",
            },
        ],
        "stacked": True,
    }
