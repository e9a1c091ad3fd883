"""The feedback trend on the comparison page: per hour or day, the positive rate of the sessions that
carry each of the most common values of the property, with its 95% Wilson band, and the times monitors
of the organization fired marked on the time axis.

Sessions are bucketed by their start (as the metrics page's activity chart) and rated by their rating,
the newest boolean `rating` of any rater (Store.sessions_over_time); the band is the breakdown's Wilson
interval (domain.breakdown.wilson_interval).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from heliograph.dashboard.listing import DAY_MS, HOUR_MS, TimeRange
from heliograph.domain.breakdown import BUILTIN_DIMENSIONS, wilson_interval
from heliograph.domain.filters import Branch, parse_filter
from heliograph.domain.sessions import SessionQuery
from heliograph.domain.store import SessionActivity, Store

__all__ = ["TREND_VALUES", "trend_chart"]

TREND_VALUES = 5  # the values with the most sessions get a line each
MAX_BUCKETS = 400
FIRINGS_READ = 1_000  # deliveries read per monitor for the marks


def _value_filter(dimension: str, value: str) -> object:
    column = {dimension: {"equals": value}}
    if dimension in BUILTIN_DIMENSIONS:
        return {"request_response_rmt": column}
    return {"request_response_rmt": {"properties": column}}


def _bucket_starts(found: Sequence[int], *, start: int | None, now: int, step: int) -> list[int]:
    if start is not None:
        first = start - start % step
    elif found:
        first = min(found)
    else:
        return []
    last = now - now % step
    first = max(first, last - (MAX_BUCKETS - 1) * step)
    return list(range(first, last + step, step))


async def _firings(store: Store, org_id: str, *, since: int) -> list[tuple[int, str]]:
    """(time, monitor name) of every `firing` delivery of the organization's monitors since `since`."""
    marks = []
    for monitor in await store.list_monitors(org_id=org_id):
        for d in await store.list_deliveries(org_id=org_id, monitor_id=monitor.id, limit=FIRINGS_READ):
            if d.kind == "firing" and d.created_at_ms >= since:
                marks.append((d.created_at_ms, monitor.spec.name))
    return sorted(marks)


async def trend_chart(
    store: Store,
    *,
    org_id: str,
    query: SessionQuery,
    dimension: str,
    values: Sequence[str],
    time_range: TimeRange,
    now: int,
) -> dict[str, Any]:
    """The chart data `static/dashboard.js` draws as a `trend` (lines, bands and firing marks)."""
    step = DAY_MS if time_range.step_ms >= DAY_MS else HOUR_MS
    per_value: dict[str, dict[int, SessionActivity]] = {}
    for value in values[:TREND_VALUES]:
        narrowed = parse_filter(_value_filter(dimension, value))
        node = narrowed if query.filter is None else Branch(query.filter, "and", narrowed)
        activity = await store.sessions_over_time(
            org_id=org_id, query=replace(query, filter=node), bucket_ms=step
        )
        per_value[value] = {row.bucket_start_ms: row for row in activity}
    found = [bucket for by_bucket in per_value.values() for bucket in by_bucket]
    buckets = _bucket_starts(found, start=query.start_ms, now=now, step=step)
    label_format = "%Y-%m-%d" if step == DAY_MS else "%m-%d %H:00"
    series = []
    for value, rows in per_value.items():
        rate: list[float | None] = []
        low: list[float | None] = []
        high: list[float | None] = []
        rated: list[int] = []
        for bucket in buckets:
            row = rows.get(bucket)
            n = 0 if row is None else row.positive + row.negative
            if row is None or not n:
                rate.append(None)
                low.append(None)
                high.append(None)
            else:
                band = wilson_interval(row.positive, n)
                rate.append(row.positive / n)
                low.append(band[0])
                high.append(band[1])
            rated.append(n)
        series.append({"label": value, "data": rate, "low": low, "high": high, "rated": rated})
    firings = await _firings(store, org_id, since=buckets[0] if buckets else now)
    marks = [
        {"index": (at - buckets[0]) // step, "label": f"{name} fired"}
        for at, name in firings
        if buckets and (at - buckets[0]) // step < len(buckets)
    ]
    return {
        "kind": "trend",
        "title": f"Positive rate per {'day' if step == DAY_MS else 'hour'} (UTC), with 95% Wilson bands",
        "labels": [datetime.fromtimestamp(b / 1000, UTC).strftime(label_format) for b in buckets],
        "series": series,
        "marks": marks,
        "stacked": False,
    }
