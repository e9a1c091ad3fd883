"""Chart data for the metrics page: what Chart.js draws, as JSON embedded in the page.

Each chart is a plain dict (`kind`, `title`, `labels`, `series`, `stacked`); `static/dashboard.js`
turns it into a Chart.js bar chart and the page shows the same numbers as a table for screen readers.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from heliograph.dashboard.formatting import duration, usd_value
from heliograph.dashboard.listing import DAY_MS
from heliograph.domain.metrics import MetricDistribution
from heliograph.domain.store import SessionActivity

__all__ = ["activity_chart", "histogram_chart"]

MAX_FILLED_DAYS = 400  # fill empty days between the first and last active day up to this many


def _requests(value: float) -> str:
    return f"{value:.3g}"


def _seconds(value: float) -> str:
    return duration(value * 1000)


UNITS: dict[str, Callable[[float], str]] = {"usd": usd_value, "seconds": _seconds, "requests": _requests}


def histogram_chart(metric: MetricDistribution, *, title: str, unit: str) -> dict[str, Any]:
    """A histogram of sessions per bin, labelled with each bin's range in `unit`."""
    show = UNITS[unit]
    labels = [
        show(b.range_start)
        if b.range_start == b.range_end
        else f"{show(b.range_start)} to {show(b.range_end)}"
        for b in metric.bins
    ]
    return {
        "kind": "bar",
        "title": title,
        "labels": labels,
        "series": [{"label": "Sessions", "data": [b.value for b in metric.bins], "tone": "neutral"}],
        "stacked": False,
        "average": show(metric.average),
    }


def activity_chart(rows: Sequence[SessionActivity]) -> dict[str, Any]:
    """Sessions started per day, split into thumbs up, thumbs down and not rated."""
    by_day = {row.bucket_start_ms: row for row in rows}
    days = sorted(by_day)
    if days and (days[-1] - days[0]) // DAY_MS < MAX_FILLED_DAYS:
        days = list(range(days[0], days[-1] + DAY_MS, DAY_MS))
    empty = SessionActivity(bucket_start_ms=0, sessions=0, positive=0, negative=0)
    filled = [by_day.get(day, empty) for day in days]
    return {
        "kind": "bar",
        "title": "Sessions started per day (UTC)",
        "labels": [datetime.fromtimestamp(day / 1000, UTC).strftime("%Y-%m-%d") for day in days],
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
