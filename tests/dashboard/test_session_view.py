"""A session laid out for its page: timeline bars, the tree's links, and the caps on very long sessions."""

from __future__ import annotations

import itertools
import re

import pytest

from dashboard.dashboard_support import stored_request, summary_of
from heliograph.dashboard.formatting import duration
from heliograph.dashboard.rendering import render_html
from heliograph.dashboard.routes.session import PAGE_LIMITS
from heliograph.dashboard.session_view import (
    MAX_REQUEST_CARDS,
    MIN_BAR_PERCENT,
    TICK_INTERVALS,
    SessionView,
    session_view,
)
from heliograph.domain.records import FEEDBACK_KEY, SESSION_ID_KEY, SESSION_NAME_KEY, SESSION_PATH_KEY


def _page(view: SessionView) -> str:
    context = {"viewer": None, "section": "sessions", "feedback_url": "/f", "limits": PAGE_LIMITS}
    return render_html("session.html", {**context, "session": view})


def test_bars_sit_at_their_start_offset_and_span_their_latency() -> None:
    stored = [stored_request(1, 0, 1000), stored_request(2, 1000, 2000), stored_request(3, 3500, 500)]
    view = session_view(summary_of(stored), stored)
    assert view.duration_ms == 4000
    assert [(r.left_percent, r.width_percent) for r in view.requests] == [(0, 25), (25, 50), (87.5, 12.5)]
    assert [t.offset_ms for t in view.ticks] == [0, 1000, 2000, 3000, 4000]


def test_the_duration_runs_from_the_first_start_to_the_last_end_on_the_page_and_the_timeline() -> None:
    """22 ms between the starts, but the last call takes 43 ms more: the session lasts 65 ms."""
    stored = [stored_request(1, 0, 10), stored_request(2, 22, 43)]
    view = session_view(summary_of(stored), stored)
    assert view.duration_ms == 65
    html = _page(view)
    assert (
        "<dt>Duration</dt><dd>65 ms <span class=\"muted\">(first request's start to last request's end)"
        in html
    )
    assert "the session's duration, 65 ms." in html
    assert view.requests[-1].left_percent + view.requests[-1].width_percent == pytest.approx(100)


@pytest.mark.parametrize(
    ("span_ms", "labels"),
    [
        pytest.param(65, ["0 ms", "20 ms", "40 ms", "60 ms"], id="milliseconds"),
        pytest.param(4000, ["0 ms", "1 s", "2 s", "3 s", "4 s"], id="seconds"),
        pytest.param(95 * 60_000, ["0 ms", "30 min", "1 h", "1 h 30 min"], id="minutes-into-hours"),
        pytest.param(50 * 3_600_000, ["0 ms", "1 d", "2 d"], id="hours-roll-up-into-days"),
        pytest.param(9 * 86_400_000 + 5, ["0 ms", "5 d"], id="days"),
        pytest.param(3 * 365 * 86_400_000, ["0 ms", "365 d", "730 d", "1,095 d"], id="years"),
    ],
)
def test_the_axis_is_marked_at_a_few_round_steps(span_ms: int, labels: list[str]) -> None:
    stored = [stored_request(1, 0, span_ms)]
    view = session_view(summary_of(stored), stored)
    assert [duration(t.offset_ms) for t in view.ticks] == labels
    assert len(view.ticks) <= TICK_INTERVALS + 1
    percents = [t.percent for t in view.ticks]
    assert percents[0] == 0 and percents[-1] <= 100
    assert min(b - a for a, b in itertools.pairwise(percents)) >= 100 / (TICK_INTERVALS + 1)


def test_properties_every_request_shares_show_once_and_header_keys_never() -> None:
    stored = [
        stored_request(1, 0, 10, path="/a", team="search", attempt="1", **{FEEDBACK_KEY: "1"}),
        stored_request(2, 20, 10, path="/b", team="search", attempt="2"),
    ]
    view = session_view(summary_of(stored), stored)
    assert view.shared_properties == {"team": "search"}
    assert [r.own_properties for r in view.requests] == [{"attempt": "1"}, {"attempt": "2"}]
    html = _page(view)
    assert html.count("<code>team</code>") == 1
    assert html.count("<code>attempt</code>") == 2
    for key in (SESSION_ID_KEY, SESSION_NAME_KEY, SESSION_PATH_KEY, FEEDBACK_KEY):
        assert key not in html


def test_a_very_short_call_keeps_a_visible_bar_inside_the_track() -> None:
    stored = [stored_request(1, 0, 10_000), stored_request(2, 10_000, 0)]
    view = session_view(summary_of(stored), stored)
    last = view.requests[-1]
    assert last.width_percent == pytest.approx(MIN_BAR_PERCENT)
    assert last.left_percent + last.width_percent <= 100


def test_a_long_session_shows_the_first_requests_in_full_and_says_so() -> None:
    stored = [stored_request(i, i * 100, 50, path="/loop") for i in range(1, MAX_REQUEST_CARDS + 6)]
    view = session_view(summary_of(stored), stored)
    html = _page(view)
    assert html.count('<article class="request-card"') == MAX_REQUEST_CARDS
    assert f"The first {MAX_REQUEST_CARDS} of {MAX_REQUEST_CARDS + 5} requests are shown in full" in html
    assert '<a href="#request-50">Request 50</a>' in html
    assert "<li>Request 50</li>" not in html
    assert "and 55 more" in html  # 105 requests under one node, 50 linked
    assert len(re.findall(r'class="timeline-bar', html)) == MAX_REQUEST_CARDS + 5
    assert "not json &lt;b&gt;" in html
