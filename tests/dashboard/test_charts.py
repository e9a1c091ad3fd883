"""The metrics page's charts: whole-number bins for requests per session, and one bar per step of the
chosen time range for sessions per day (hour, minute)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest

from heliograph.dashboard.charts import activity_chart, histogram_chart, whole_number_bins
from heliograph.dashboard.listing import DAY_MS, RANGES
from heliograph.domain.metrics import SortedValues, distribution
from heliograph.domain.store import SessionActivity

NOW = int(datetime(2026, 1, 7, 14, 35, tzinfo=UTC).timestamp() * 1000)
TODAY = NOW - NOW % DAY_MS


def _requests_histogram(counts: list[int]) -> dict[str, object]:
    metric = distribution(SortedValues(counts), scale=1, fraction=0.999, interquartile=False)
    return histogram_chart(metric, title="Requests per session", unit="requests")


@pytest.mark.parametrize(
    ("counts", "labels", "sessions"),
    [
        pytest.param(
            [1, 1, 2, 3, 5, 5, 5], ["1", "2", "3", "4", "5"], [2, 1, 1, 0, 3], id="narrower-than-ten"
        ),
        pytest.param([4, 4, 4], ["4"], [3], id="one-value"),
        pytest.param(
            [*range(1, 22), 21],  # 21 twice, so the 99.9th percentile keeps it
            [
                "1 to 2",
                "3 to 4",
                "5 to 6",
                "7 to 8",
                "9 to 10",
                "11 to 12",
                "13 to 14",
                "15 to 16",
                "17 to 18",
                "19 to 21",
            ],
            [2, 2, 2, 2, 2, 2, 2, 2, 2, 4],
            id="wider-than-ten",
        ),
    ],
)
def test_requests_per_session_are_binned_in_whole_numbers(
    counts: list[int], labels: list[str], sessions: list[int]
) -> None:
    chart = _requests_histogram(counts)
    assert chart["labels"] == labels
    assert chart["series"] == [{"label": "Sessions", "data": sessions, "tone": "neutral"}]


def test_whole_number_bins_keep_every_session_the_api_counted() -> None:
    counts = [1, 2, 2, 3, 7, 8, 13, 13, 14, 40, 41, 97, 97]
    metric = distribution(SortedValues(counts), scale=1, fraction=0.999, interquartile=False)
    ranges = whole_number_bins(metric.bins)
    assert sum(n for _, _, n in ranges) == sum(b.value for b in metric.bins) == len(counts)
    for (_, last, _), (first, _, _) in itertools.pairwise(ranges):
        assert first > last  # disjoint and in order
    for first, last, n in ranges:
        assert n == sum(first <= c <= last for c in counts)


@pytest.mark.parametrize(
    ("time_range", "bars", "first_label", "last_label", "title"),
    [
        pytest.param("7d", 7, "2026-01-01", "2026-01-07", "Sessions started per day (UTC)", id="7-days"),
        pytest.param("30d", 30, "2025-12-09", "2026-01-07", "Sessions started per day (UTC)", id="30-days"),
        pytest.param(
            "24h", 24, "01-06 15:00", "01-07 14:00", "Sessions started per hour (UTC)", id="24-hours"
        ),
        pytest.param("1h", 60, "13:36", "14:35", "Sessions started per minute (UTC)", id="1-hour"),
    ],
)
def test_the_activity_chart_spans_exactly_the_chosen_range(
    time_range: str, bars: int, first_label: str, last_label: str, title: str
) -> None:
    range_ = RANGES[time_range]
    start = range_.start_ms(now=NOW)
    assert start is not None
    rows = [SessionActivity(bucket_start_ms=start, sessions=3, positive=1, negative=1)]
    chart = activity_chart(rows, time_range=range_, now=NOW)
    labels = chart["labels"]
    assert (len(labels), labels[0], labels[-1], chart["title"]) == (bars, first_label, last_label, title)
    assert [series["data"][0] for series in chart["series"]] == [1, 1, 1]
    assert all(len(series["data"]) == bars for series in chart["series"])


def test_all_time_spans_the_first_to_the_last_active_day() -> None:
    rows = [
        SessionActivity(bucket_start_ms=TODAY - 40 * DAY_MS, sessions=2, positive=0, negative=0),
        SessionActivity(bucket_start_ms=TODAY - 38 * DAY_MS, sessions=1, positive=1, negative=0),
    ]
    chart = activity_chart(rows, time_range=RANGES["all"], now=NOW)
    assert chart["labels"] == ["2025-11-28", "2025-11-29", "2025-11-30"]
    assert chart["series"][2]["data"] == [2, 0, 0]
